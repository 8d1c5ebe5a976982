"""The one outbound HTTP layer, on the ground floor: it imports nothing of the project (no Django),
so the sandbox process and the providers share one set of rules.

Everything that leaves this service over HTTP (the Twilio provider, ``fetch`` in handler code)
goes through here: ``guard`` (what may be reached), ``client`` (blocking, for providers),
``sandbox_fetch`` (async, for the sandbox). Callers pass their policy (``HttpPolicy``).
"""

from phoneprovider.net.client import outbound_request, sync_client
from phoneprovider.net.guard import (
    BlockedAddressError,
    HttpPolicy,
    HttpResponse,
    InvalidURLError,
    OutboundConnectError,
    OutboundError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    blocked_reason,
    check_address,
    default_resolver,
    resolve_checked,
)
from phoneprovider.net.sandbox_fetch import OutboundClient

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
