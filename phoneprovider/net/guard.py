"""What may leave this service over HTTP: the policy, the errors, the address guard, and the URL
and redirect rules both clients apply.

- **Address guard at connect time.** The host name is resolved here, every resolved address is
  checked, and the TCP connection is opened to a checked address literal (the connection is
  *pinned*: no second DNS lookup can swap in another address). TLS still verifies the original
  host name (SNI and certificate). Loopback, private, link-local (cloud metadata lives at
  169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
  also when wrapped in IPv6 (IPv4-mapped, 6to4, NAT64, Teredo), unless the address falls inside
  one of the policy's ``allowed_networks``.
- **Redirects** are followed by the clients, not by a library, and each hop is a new request
  that passes the guard again (a pooled connection was checked when it was opened).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

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


def strip_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(strip_brackets(host)))
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
    literal = literal_ip(host)
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
# Requests
# --------------------------------------------------------------------------------------------

REDIRECT_STATUSES = {301, 302, 303, 307, 308}


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidURLError(f"Invalid URL: {url!r}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidURLError(f"Only http and https URLs can be fetched (got {url!r})")
    if not parts.hostname:
        raise InvalidURLError(f"The URL has no host: {url!r}")


def redirect_target(method: str, status: int, location: str, current: str):
    target = urljoin(current, location)
    check_url(target)
    new_method = method
    drop_body = False
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        new_method, drop_body = "GET", True
    return target, new_method, drop_body


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def prepare_headers(headers, content) -> list[tuple[str, str]]:
    out = [(str(k), str(v)) for k, v in (headers.items() if isinstance(headers, dict) else headers)]
    names = {k.lower() for k, _ in out}
    if "user-agent" not in names:
        out.append(("User-Agent", USER_AGENT))
    return out


def follow_headers(headers, drop_body: bool, cross_origin: bool):
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
