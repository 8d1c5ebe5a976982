"""Twilio: SMS through the Messages API, voice through the Calls API with a TwiML <Say>.

``send`` takes the installation's PhoneProvider or a routing Connection of kind ``twilio``: both
carry the same Twilio field names. ``base_url`` and ``_classify`` are shared with
``twilio_verify``.
"""

import re
from urllib.parse import quote
from xml.sax.saxutils import escape

from django.conf import settings

from phoneprovider.crypto import reveal
from phoneprovider.errors import ValidationError
from phoneprovider.net import OutboundError, outbound_request
from phoneprovider.phone import normalize_sender
from phoneprovider.providers import SendResult

PUBLIC_HOSTS = {"api": "api.twilio.com", "verify": "verify.twilio.com"}

# Twilio error codes that will not get better by trying again.
# https://www.twilio.com/docs/api/errors — 21211 invalid To, 21610 unsubscribed, 21614 not mobile…
# 60xxx are Verify's.
_EXPLAINED = {
    20003: "Twilio refused the credentials: check the Account SID and Auth Token.",
    21211: "Twilio says the recipient number is not valid.",
    21212: "Twilio says the From number is not valid.",
    21408: "Twilio is not permitted to send to this region; enable it in Geo Permissions.",
    21606: "The From number cannot send SMS; use an SMS-capable Twilio number.",
    21608: "Trial accounts can only send to verified numbers.",
    21610: "The recipient has opted out of messages from this sender (STOP).",
    21614: "The recipient number cannot receive SMS.",
    60200: "Twilio Verify refused a parameter (the number, the channel, or a custom code that "
    "is not 4 to 10 characters).",
    60203: "Twilio Verify's limit of 5 sends to this number in 10 minutes is reached (codes "
    "sent through Verify are never checked there, so each one counts until it expires).",
    60204: "The Verify Service does not accept custom codes: enable Custom Verification Code "
    "in the Service's settings in the Twilio Console.",
    60410: "Twilio Verify's Fraud Guard blocked this number's prefix for 12 hours.",
    60605: "Twilio Verify's Geo Permissions block this destination; allow the country in the "
    "Verify Service's Geo permissions.",
}
# Answered with 429, yet trying again within a message's retry window cannot help: Verify's
# per-number send limit only clears when the earlier verifications expire (10 minutes).
_PERMANENT = {60203}


def base_url(target, product: str = "api") -> str:
    """Where requests for ``product`` go: ``api`` (Programmable Messaging, Calls) or ``verify``.

    TWILIO_API_BASE_URL, when set, wins for every product (tests point it at a loopback fake).
    Otherwise Programmable Messaging goes to the target's region host (``api_host``, e.g.
    ``api.dublin.ie1.twilio.com``: product.edge.region) if it has one, else api.twilio.com.

    Verify has no regional hosts for SMS and calls: Twilio's regional product availability
    lists Verify outside US1 only as Silent Network Auth (IE1), so SMS and call verifications
    go to the default host, verify.twilio.com, whatever region host the connection names.

    Raises ValueError for a region host outside twilio.com: the request carries the auth token.
    """
    override = settings.TWILIO_API_BASE_URL
    if override:
        return override.rstrip("/")
    if product == "verify":
        return f"https://{PUBLIC_HOSTS['verify']}"
    host = (getattr(target, "api_host", "") or "").strip().removeprefix("https://").rstrip("/")
    if not host:
        return f"https://{PUBLIC_HOSTS[product]}"
    problem = api_host_problem(host)
    if problem:
        raise ValueError(problem)
    return f"https://{host}"


def api_host_problem(host: str) -> str | None:
    """Why ``host`` can't be a Twilio region host (None when it can): credentials go to it."""
    labels = host.lower().split(".")
    example = "e.g. api.dublin.ie1.twilio.com"
    if len(labels) < 3 or labels[-2:] != ["twilio", "com"] or not all(labels):
        return f"The region host {host!r} is not a twilio.com host ({example})."
    if not all(label.replace("-", "").isalnum() for label in labels):
        return f"The region host {host!r} is not a host name ({example})."
    # Twilio retired product.region hosts (api.ie1.twilio.com) on 28 April 2026, all but us1:
    # the edge goes in front of the region now.
    if len(labels) == 4 and labels[1] != "us1":
        return f"Twilio no longer answers at {host}; name the edge too ({example})."
    return None


# Twilio's resource ids: two letters that name the kind of resource, then 32 hexadecimal digits.
_SID_KINDS = {
    "AC": "The Twilio Account SID",
    "MG": "The Messaging Service SID",
    "VA": "The Verify Service SID",
}


def sid_problem(value: str, prefix: str) -> str | None:
    """Why ``value`` can't be a Twilio SID of the kind ``prefix`` names (None when it can)."""
    if re.fullmatch(f"{prefix}[0-9a-fA-F]{{32}}", value or ""):
        return None
    return f"{_SID_KINDS[prefix]} is {prefix} followed by 32 hexadecimal characters."


def sender_clean(value: str) -> tuple[str, ValidationError | None]:
    """A From as it is stored (stripped; in E.164 form when it reads as a phone number, else as
    given) and why Twilio will refuse it as a sender (None when it won't)."""
    sender = (value or "").strip()
    if not sender:
        return "", None
    try:
        return normalize_sender(sender, field="default_from"), None
    except ValidationError as exc:
        return sender, exc


def _status_callback_url() -> str | None:
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/hooks/twilio/status" if base else None


def request_for(provider, message) -> tuple[str, dict]:
    """The Twilio REST call (path and form fields) that sends ``message``."""
    # Any SID is stored (as Auth0 does); quoted so that one like "a/../b" stays one path segment.
    sid = quote(provider.twilio_sid, safe="")
    fields: dict[str, str] = {"To": message.recipient}
    if message.delivery_method == "voice":
        path = f"/2010-04-01/Accounts/{sid}/Calls.json"
        # A call needs a caller id; a Messaging Service cannot place calls.
        fields["From"] = message.sender or provider.twilio_default_from
        voice = reveal(message.as_voice, f"The voice text of message {message.public_id}")
        twiml = f"<Response><Say>{escape(voice)}</Say></Response>"
        fields["Twiml"] = twiml
    else:
        path = f"/2010-04-01/Accounts/{sid}/Messages.json"
        fields["Body"] = reveal(message.as_text, f"The text of message {message.public_id}")
        if message.sender:
            fields["From"] = message.sender
        elif provider.twilio_mssid:
            fields["MessagingServiceSid"] = provider.twilio_mssid
        else:
            fields["From"] = provider.twilio_default_from
    callback = _status_callback_url()
    if callback:
        fields["StatusCallback"] = callback
    return path, fields


def send(provider, message) -> SendResult:
    path, fields = request_for(provider, message)
    if message.delivery_method == "voice" and not fields.get("From"):
        return SendResult(
            "failed", "Voice calls need a From number; a Messaging Service cannot place calls."
        )
    try:
        url = base_url(provider, "api") + path
    except ValueError as exc:
        return SendResult("failed", str(exc))
    try:
        response = outbound_request(
            "POST",
            url,
            data=fields,
            auth=(provider.twilio_sid, reveal(provider.twilio_auth_token, "The Twilio auth token")),
            timeout=settings.TWILIO_TIMEOUT,
            allowed_networks=settings.OUTBOUND_ALLOWED_NETWORKS,
        )
    except OutboundError as exc:
        # The request may or may not have reached Twilio; retrying is safe for an OTP.
        return SendResult("retry" if exc.transient else "failed", f"Twilio: {exc}")
    return _classify(response.status_code, response.json_or_none())


def _classify(status: int, body: dict | None, who: str = "Twilio") -> SendResult:
    """A Twilio answer as an outcome: 2xx sent (the resource's sid is the provider message id),
    429 and 5xx retry, other answers and the codes in ``_PERMANENT`` fail."""
    body = body if isinstance(body, dict) else {}
    if 200 <= status < 300:
        return SendResult("sent", provider_message_id=str(body.get("sid", "")))
    code = body.get("code")
    detail = _EXPLAINED.get(code) or body.get("message") or f"HTTP {status}"
    reason = f"{who} answered {status}" + (f" (error {code})" if code else "") + f": {detail}"
    if (status == 429 or status >= 500) and code not in _PERMANENT:
        return SendResult("retry", reason)
    return SendResult("failed", reason)
