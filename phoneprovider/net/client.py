"""The blocking client (the Twilio provider): httpx over a connection pool whose network backend
resolves, checks and pins every address, one client per process and set of allowed networks,
created lazily after fork. Bounds: connect and overall timeouts, at most ``max_redirects`` hops,
bodies cut off at ``max_response_bytes`` (after decompression), no proxies from the environment.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode, urlsplit

import httpcore
import httpx

from phoneprovider.net.guard import (
    REDIRECT_STATUSES,
    BlockedAddressError,
    HttpPolicy,
    HttpResponse,
    InvalidURLError,
    OutboundConnectError,
    OutboundError,
    OutboundTimeoutError,
    Resolver,
    ResponseTooLargeError,
    TooManyRedirectsError,
    check_url,
    follow_headers,
    prepare_headers,
    redirect_target,
    resolve_checked,
    same_origin,
)

# --------------------------------------------------------------------------------------------
# Network backends that resolve, check and pin
# --------------------------------------------------------------------------------------------


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, allowed_networks: Sequence[str], resolver: Resolver | None):
        self._inner = httpcore.SyncBackend()
        self._allowed = tuple(allowed_networks)
        self._resolver = resolver

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve_checked(host, port, self._allowed, self._resolver)
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last  # type: ignore[misc]

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never used
        raise BlockedAddressError("Unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=64, keepalive_expiry=30)


def _make_sync_client(allowed_networks: Sequence[str], resolver: Resolver | None) -> httpx.Client:
    transport = httpx.HTTPTransport(trust_env=False, limits=_LIMITS)
    # httpx does not take a network backend; the pool it builds does. Replace the pool with the
    # same one wired to the guarded backend.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=_LIMITS.max_connections,
        max_keepalive_connections=_LIMITS.max_keepalive_connections,
        keepalive_expiry=_LIMITS.keepalive_expiry,
        network_backend=_GuardedBackend(allowed_networks, resolver),
    )
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False)


def _read_limited_sync(resp: httpx.Response, limit: int, deadline: float) -> bytes:
    declared = resp.headers.get("content-length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > limit
        and not resp.headers.get("content-encoding")
    ):
        raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
    chunks, size = [], 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
        if time.monotonic() > deadline:
            raise OutboundTimeoutError("The request timed out")
        chunks.append(chunk)
    return b"".join(chunks)


def _map_httpx_error(exc: Exception, url: str) -> OutboundError:
    if isinstance(exc, OutboundError):
        return exc
    cause = exc
    while cause is not None:
        if isinstance(cause, OutboundError):
            return cause
        cause = cause.__cause__ or cause.__context__
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.TimeoutException):
        return OutboundTimeoutError(f"The request to {host} timed out")
    if isinstance(exc, httpx.ConnectError):
        return OutboundConnectError(f"Could not connect to {host}: {exc or 'connection failed'}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return InvalidURLError(f"Invalid URL: {url}")
    return OutboundError(f"The request to {host} failed: {exc or type(exc).__name__}")


# Per-process client registry. A forked child must not reuse the parent's sockets.
_lock = threading.Lock()
_pid = os.getpid()
_sync_clients: dict[tuple, httpx.Client] = {}


def _reset_after_fork() -> None:
    global _pid, _lock
    _pid = os.getpid()
    _lock = threading.Lock()
    _sync_clients.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def sync_client(allowed_networks: Sequence[str] = (), resolver: Resolver | None = None):
    key = (tuple(allowed_networks), resolver)
    client = _sync_clients.get(key)
    if client is None:
        with _lock:
            client = _sync_clients.get(key)
            if client is None:
                client = _sync_clients[key] = _make_sync_client(tuple(allowed_networks), resolver)
    return client


def outbound_request(
    method: str,
    url: str,
    *,
    headers: dict | Iterable[tuple[str, str]] = (),
    content: bytes | str | None = None,
    data: dict | Sequence[tuple[str, str]] | None = None,
    json_body=None,
    auth: tuple[str, str] | None = None,
    timeout: float | None = None,
    allowed_networks: Iterable[str] = (),
    policy: HttpPolicy | None = None,
    resolver: Resolver | None = None,
) -> HttpResponse:
    """Send one request through the guarded, pooled, process-wide client (blocking)."""
    policy = policy or HttpPolicy(allowed_networks=tuple(allowed_networks))
    if timeout is not None:
        policy = HttpPolicy(
            allowed_networks=policy.allowed_networks,
            connect_timeout_s=min(policy.connect_timeout_s, timeout),
            timeout_s=timeout,
            max_response_bytes=policy.max_response_bytes,
            max_redirects=policy.max_redirects,
        )
    hdrs = list(headers.items() if isinstance(headers, dict) else headers)
    if data is not None:
        content = urlencode(data, doseq=True)
        hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif json_body is not None:
        content = json.dumps(json_body)
        hdrs.append(("Content-Type", "application/json"))
    if isinstance(content, str):
        content = content.encode()
    if auth is not None:
        hdrs.append(("Authorization", httpx.BasicAuth(*auth)._auth_header))
    client = sync_client(policy.allowed_networks, resolver)
    started = time.perf_counter()
    deadline = time.monotonic() + policy.timeout_s
    method = method.upper()
    check_url(url)
    hdrs = prepare_headers(hdrs, content)
    timeout_cfg = httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s)
    redirected = False
    for _hop in range(policy.max_redirects + 1):
        try:
            req = client.build_request(
                method, url, headers=hdrs, content=content, timeout=timeout_cfg
            )
            resp = client.send(req, stream=True)
        except Exception as exc:
            raise _map_httpx_error(exc, url) from None
        try:
            if resp.status_code in REDIRECT_STATUSES and "location" in resp.headers:
                target, method, drop = redirect_target(
                    method, resp.status_code, resp.headers["location"], url
                )
                hdrs = follow_headers(hdrs, drop, not same_origin(url, target))
                if drop:
                    content = None
                url, redirected = target, True
                continue
            try:
                body = _read_limited_sync(resp, policy.max_response_bytes, deadline)
            except OutboundError:
                raise
            except Exception as exc:
                raise _map_httpx_error(exc, url) from None
            return HttpResponse(
                status_code=resp.status_code,
                reason=resp.reason_phrase,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.raw],
                content=body,
                url=url,
                redirected=redirected,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        finally:
            resp.close()
    raise TooManyRedirectsError(f"More than {policy.max_redirects} redirects")
