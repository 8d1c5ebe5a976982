"""The async client behind the sandbox's ``fetch``: HTTP/1.1 over asyncio streams, with the same
guard, redirect rules and bounds as the blocking client (``client.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import zlib
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import httpx

from phoneprovider.net.guard import (
    REDIRECT_STATUSES,
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
    literal_ip,
    prepare_headers,
    redirect_target,
    resolve_checked,
    same_origin,
    strip_brackets,
)

DEFAULT_POLICY = HttpPolicy()


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
        if literal_ip(host) is not None:
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
                        server_hostname=strip_brackets(host) if scheme == "https" else None,
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
        policy: HttpPolicy = DEFAULT_POLICY,
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
        hdrs = prepare_headers(headers, content)
        redirected = False
        for _hop in range(policy.max_redirects + 1):
            check_url(url)
            status, reason, resp_headers, body = await self._send_once(
                method, url, hdrs, content, policy, total
            )
            location = next((v for k, v in resp_headers if k.lower() == "location"), None)
            if status in REDIRECT_STATUSES and redirect != "manual" and location:
                if redirect == "error":
                    raise OutboundError(f"The server redirected {url} and redirect is 'error'")
                target, method, drop = redirect_target(method, status, location, url)
                hdrs = follow_headers(hdrs, drop, not same_origin(url, target))
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
