"""The one outbound HTTP client, and the address guard every outbound request goes through.

Everything that leaves this service over HTTP (the Twilio provider, ``fetch`` in handler code)
goes through here, so the rules live in one place:

- **Address guard at connect time.** The host name is resolved here, every resolved address is
  checked, and the TCP connection is opened to a checked address literal (the connection is
  *pinned*: no second DNS lookup can swap in another address). TLS still verifies the original
  host name (SNI and certificate). Loopback, private, link-local (cloud metadata lives at
  169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
  also when wrapped in IPv6 (IPv4-mapped, 6to4, NAT64, Teredo), unless the address falls inside
  one of the policy's ``allowed_networks``.
- **Redirects** are followed here, not by the library, and each hop is a new request that passes
  the guard again (a pooled connection was checked when it was opened).
- **Bounds**: connect and overall timeouts, at most ``max_redirects`` hops, response bodies cut
  off at ``max_response_bytes`` (counted after decompression), no proxies from the environment.
- **One client per process** (and per set of allowed networks), created lazily after fork.

No Django imports: callers pass their policy (``HttpPolicy`` or keyword arguments).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import httpcore
import httpx

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> [ip, ...]``. Injected by tests; the default uses ``getaddrinfo``."""

DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = "phoneprovider/1"


@dataclass(frozen=True)
class HttpPolicy:
    """What an outbound request may do. ``allowed_networks`` are CIDRs exempt from the guard."""

    allowed_networks: Sequence[str] = ()
    connect_timeout_s: float = 5.0
    timeout_s: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = 5

    def __post_init__(self) -> None:
        # Validate the CIDRs early (a typo in settings should fail loudly, not open a hole).
        object.__setattr__(self, "allowed_networks", tuple(self.allowed_networks))
        _networks(self.allowed_networks)


class OutboundError(Exception):
    """An outbound request failed. ``transient`` says whether trying again may help."""

    kind = "error"
    transient = True

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BlockedAddressError(OutboundError):
    kind = "blocked"
    transient = False


class InvalidURLError(OutboundError):
    kind = "invalid_url"
    transient = False


class TooManyRedirectsError(OutboundError):
    kind = "redirects"
    transient = False


class ResponseTooLargeError(OutboundError):
    kind = "too_large"
    transient = False


class OutboundTimeoutError(OutboundError):
    kind = "timeout"


class OutboundConnectError(OutboundError):
    kind = "connect"


@dataclass
class HttpResponse:
    status_code: int
    reason: str
    headers: list[tuple[str, str]]
    content: bytes
    url: str
    redirected: bool = False
    elapsed_ms: float = 0.0

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json_or_none(self):
        try:
            return json.loads(self.content)
        except ValueError:
            return None


# --------------------------------------------------------------------------------------------
# The address guard
# --------------------------------------------------------------------------------------------

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}

_network_cache: dict[tuple[str, ...], tuple] = {}


def _networks(cidrs: Iterable[str]) -> tuple:
    key = tuple(cidrs)
    nets = _network_cache.get(key)
    if nets is None:
        nets = tuple(ipaddress.ip_network(c.strip(), strict=False) for c in key if c.strip())
        _network_cache[key] = nets
    return nets


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not be reached (``None`` when it is a public unicast address)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (link-local) address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} (inside an IPv6 address)" if reason else None
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global:
        return "a non-public address"
    return None


def check_address(address: str, allowed_networks: Iterable[str] = ()) -> None:
    """Raise ``BlockedAddressError`` unless ``address`` may be connected to."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise BlockedAddressError(
            f"Refusing to connect: {address!r} is not an IP address"
        ) from None
    nets = _networks(allowed_networks)
    if any(ip.version == n.version and ip in n for n in nets):
        return
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        mapped = ip.ipv4_mapped
        if any(n.version == 4 and mapped in n for n in nets):
            return
    reason = blocked_reason(ip)
    if reason:
        raise BlockedAddressError(
            f"Refusing to connect to {ip}: it is {reason}. Outbound requests may only reach "
            "public addresses unless the address is in OUTBOUND_ALLOWED_NETWORKS."
        )


def _strip_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(_strip_brackets(host)))
    except ValueError:
        return None


def default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        addr = info[4][0]
        if addr not in seen:
            seen.append(addr)
    return seen


def resolve_checked(
    host: str, port: int, allowed_networks: Iterable[str] = (), resolver: Resolver | None = None
) -> list[str]:
    """Resolve ``host`` and return the addresses that pass the guard (at least one, or raise)."""
    literal = _literal_ip(host)
    if literal is not None:
        check_address(literal, allowed_networks)
        return [literal]
    try:
        addresses = list((resolver or default_resolver)(host, port))
    except OSError as exc:
        raise OutboundConnectError(f"Could not resolve {host}: {exc}") from None
    allowed, refused = [], None
    for address in addresses:
        try:
            check_address(address, allowed_networks)
            allowed.append(address)
        except BlockedAddressError as exc:
            refused = exc
    if allowed:
        return allowed
    if refused is not None:
        raise BlockedAddressError(f"{host} resolves to a refused address. {refused.message}")
    raise OutboundConnectError(f"Could not resolve {host}: no addresses")


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


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------

_REDIRECTS = {301, 302, 303, 307, 308}


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidURLError(f"Invalid URL: {url!r}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidURLError(f"Only http and https URLs can be fetched (got {url!r})")
    if not parts.hostname:
        raise InvalidURLError(f"The URL has no host: {url!r}")


def _redirect_target(method: str, status: int, location: str, current: str):
    target = urljoin(current, location)
    _check_url(target)
    new_method = method
    drop_body = False
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        new_method, drop_body = "GET", True
    return target, new_method, drop_body


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _prepare_headers(headers, content) -> list[tuple[str, str]]:
    out = [(str(k), str(v)) for k, v in (headers.items() if isinstance(headers, dict) else headers)]
    names = {k.lower() for k, _ in out}
    if "user-agent" not in names:
        out.append(("User-Agent", USER_AGENT))
    return out


def _follow_headers(headers, drop_body: bool, cross_origin: bool):
    out = []
    for k, v in headers:
        lk = k.lower()
        if drop_body and lk in ("content-type", "content-length", "content-encoding"):
            continue
        # Credentials must not follow a redirect to another origin (the fetch standard does
        # the same), or a redirect becomes a way to leak an API token.
        if cross_origin and lk in ("authorization", "cookie", "proxy-authorization"):
            continue
        out.append((k, v))
    return out


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


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead socket
            self.writer.close()


class _Retry(Exception):
    """A pooled connection was closed by the server before answering: use a fresh one."""


_KEEPALIVE_S = 30.0
_MAX_IDLE_PER_ORIGIN = 32
_MAX_HEADER_BYTES = 64 * 1024


class OutboundClient:
    """The async client (used by the sandbox for ``fetch``): HTTP/1.1 over asyncio streams.

    Kept lean on purpose, since every handler execution pays for it: a keep-alive pool per
    origin, the address guard at connect time (resolve, check, connect to the checked address,
    TLS verified against the host name), redirects re-checked hop by hop, bodies bounded while
    they are read (after gzip/deflate decoding), and an overall deadline per request.
    """

    def __init__(self, allowed_networks: Sequence[str] = (), resolver: Resolver | None = None):
        self._allowed = tuple(allowed_networks)
        self._resolver = resolver
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl = None

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()

    def _ssl_context(self):
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        return self._ssl

    async def _connect(self, scheme: str, host: str, port: int, timeout: float) -> _Conn:
        if _literal_ip(host) is not None:
            addresses = resolve_checked(host, port, self._allowed)
        else:
            loop = asyncio.get_running_loop()
            addresses = await loop.run_in_executor(
                None, resolve_checked, host, port, self._allowed, self._resolver
            )
        last: Exception | None = None
        for address in addresses:
            try:
                async with asyncio.timeout(timeout):
                    reader, writer = await asyncio.open_connection(
                        address,
                        port,
                        ssl=self._ssl_context() if scheme == "https" else None,
                        server_hostname=_strip_brackets(host) if scheme == "https" else None,
                        limit=_MAX_HEADER_BYTES,
                    )
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return _Conn(reader, writer)
            except TimeoutError:
                last = OutboundTimeoutError(f"Connecting to {host} timed out")
            except OSError as exc:
                last = OutboundConnectError(f"Could not connect to {host}: {exc.strerror or exc}")
        raise last  # type: ignore[misc]

    def _checkout(self, key) -> _Conn | None:
        conns = self._idle.get(key)
        now = time.monotonic()
        while conns:
            c = conns.pop()
            if now - c.idle_since < _KEEPALIVE_S and not c.reader.at_eof():
                return c
            c.close()
        return None

    def _checkin(self, key, conn: _Conn) -> None:
        conns = self._idle.setdefault(key, [])
        if len(conns) >= _MAX_IDLE_PER_ORIGIN:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conns.append(conn)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Iterable[tuple[str, str]] | dict = (),
        content: bytes | None = None,
        policy: HttpPolicy = HttpPolicy(),
        redirect: str = "follow",
        timeout_s: float | None = None,
    ) -> HttpResponse:
        total = min(policy.timeout_s, timeout_s) if timeout_s is not None else policy.timeout_s
        try:
            async with asyncio.timeout(total):
                return await self._request(method, url, headers, content, policy, redirect, total)
        except TimeoutError:
            host = urlsplit(url).hostname or url
            raise OutboundTimeoutError(
                f"The request to {host} did not complete within {total:g} s"
            ) from None

    async def _request(self, method, url, headers, content, policy, redirect, total):
        started = time.perf_counter()
        method = method.upper()
        hdrs = _prepare_headers(headers, content)
        redirected = False
        for _hop in range(policy.max_redirects + 1):
            _check_url(url)
            status, reason, resp_headers, body = await self._send_once(
                method, url, hdrs, content, policy, total
            )
            location = next((v for k, v in resp_headers if k.lower() == "location"), None)
            if status in _REDIRECTS and redirect != "manual" and location:
                if redirect == "error":
                    raise OutboundError(f"The server redirected {url} and redirect is 'error'")
                target, method, drop = _redirect_target(method, status, location, url)
                hdrs = _follow_headers(hdrs, drop, not _same_origin(url, target))
                if drop:
                    content = None
                url, redirected = target, True
                continue
            return HttpResponse(
                status_code=status,
                reason=reason,
                headers=resp_headers,
                content=body,
                url=url,
                redirected=redirected,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        raise TooManyRedirectsError(f"More than {policy.max_redirects} redirects")

    async def _send_once(self, method, url, hdrs, content, policy, total):
        parts = urlsplit(url)
        scheme = parts.scheme
        host = parts.hostname or ""
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise InvalidURLError(f"Invalid host name in URL: {url}") from None
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise InvalidURLError(f"Invalid port in URL: {url}") from None
        key = (scheme, host, port)
        default_port = port == (443 if scheme == "https" else 80)
        authority = host if default_port else f"{host}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        names = {k.lower() for k, _ in hdrs}
        lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
        for k, v in hdrs:
            if k.lower() in ("host", "content-length", "transfer-encoding", "connection"):
                continue
            if "\r" in k or "\n" in k or "\r" in v or "\n" in v:
                raise OutboundError("Header names and values may not contain line breaks")
            lines.append(f"{k}: {v}")
        if "accept" not in names:
            lines.append("Accept: */*")
        if "accept-encoding" not in names:
            lines.append("Accept-Encoding: gzip, deflate")
        if content is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(content or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        payload = head + (content or b"")
        for _attempt in range(2):
            conn = self._checkout(key)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(
                    scheme, host.strip("[]"), port, min(policy.connect_timeout_s, total)
                )
            try:
                result, keep = await self._exchange(conn, method, payload, policy, reused)
            except _Retry:
                conn.close()
                continue
            except BaseException:
                conn.close()
                raise
            if keep:
                self._checkin(key, conn)
            else:
                conn.close()
            return result
        raise OutboundConnectError(f"The connection to {host} was closed before an answer")

    async def _exchange(self, conn: _Conn, method, payload, policy, reused):
        reader = conn.reader
        try:
            conn.writer.write(payload)
            await conn.writer.drain()
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if reused and not exc.partial:
                        raise _Retry() from None
                    raise OutboundConnectError("The server closed the connection") from None
                except asyncio.LimitOverrunError:
                    raise OutboundError("The response headers are too large") from None
                status, reason, headers, version = _parse_head(raw)
                if 100 <= status < 200 and status != 101:
                    continue
                break
        except (ConnectionError, OSError) as exc:
            if reused:
                raise _Retry() from None
            raise OutboundConnectError(f"The connection failed: {exc}") from None
        hmap: dict[str, str] = {}
        for k, v in headers:
            lk = k.lower()
            hmap[lk] = f"{hmap[lk]}, {v}" if lk in hmap else v
        keep = version == "HTTP/1.1" and "close" not in hmap.get("connection", "").lower()
        limit = policy.max_response_bytes
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader, limit, hmap.get("content-encoding"))
        elif "content-length" in hmap:
            try:
                length = int(hmap["content-length"].split(",")[0])
            except ValueError:
                raise OutboundError("The response has an invalid Content-Length") from None
            if length > limit and not hmap.get("content-encoding"):
                raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
            try:
                raw_body = await reader.readexactly(length)
            except asyncio.IncompleteReadError:
                raise OutboundConnectError("The server closed the connection mid-body") from None
            body = _decode(raw_body, hmap.get("content-encoding"), limit)
        else:
            keep = False
            chunks, size = [], 0
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit and not hmap.get("content-encoding"):
                    raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
                chunks.append(chunk)
            body = _decode(b"".join(chunks), hmap.get("content-encoding"), limit)
        if len(body) > limit:
            raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
        return (status, reason, headers, body), keep


def _parse_head(raw: bytes):
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith("HTTP/") or not first[1].isdigit():
        raise OutboundError("The server sent an invalid HTTP response")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        headers.append((name.strip(), value.strip()))
    return int(first[1]), first[2] if len(first) > 2 else "", headers, first[0]


async def _read_chunked(reader: asyncio.StreamReader, limit: int, encoding: str | None) -> bytes:
    chunks, size = [], 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            n = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise OutboundError("The server sent an invalid chunked body") from None
        if n == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            break
        size += n
        if size > limit and not encoding:
            raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
        chunks.append(await reader.readexactly(n))
        await reader.readexactly(2)
    return _decode(b"".join(chunks), encoding, limit)


def _decode(body: bytes, encoding: str | None, limit: int) -> bytes:
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity") or not body:
        return body
    if enc in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if enc != "deflate" else zlib.MAX_WBITS
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(body, limit + 1)
        except zlib.error:
            if enc == "deflate":  # some servers send raw deflate
                d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = d.decompress(body, limit + 1)
            else:
                raise OutboundError("The response body could not be decompressed") from None
        if len(out) > limit:
            raise ResponseTooLargeError(f"The response is larger than {limit} bytes")
        return out
    return body  # unknown encodings are passed through as they are


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
    _check_url(url)
    hdrs = _prepare_headers(hdrs, content)
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
            if resp.status_code in _REDIRECTS and "location" in resp.headers:
                target, method, drop = _redirect_target(
                    method, resp.status_code, resp.headers["location"], url
                )
                hdrs = _follow_headers(hdrs, drop, not _same_origin(url, target))
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


__all__ = [
    "BlockedAddressError",
    "HttpPolicy",
    "HttpResponse",
    "InvalidURLError",
    "OutboundClient",
    "OutboundConnectError",
    "OutboundError",
    "OutboundTimeoutError",
    "ResponseTooLargeError",
    "TooManyRedirectsError",
    "blocked_reason",
    "check_address",
    "default_resolver",
    "outbound_request",
    "resolve_checked",
    "sync_client",
]
