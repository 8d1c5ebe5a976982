"""Twilio: SMS through the Messages API, voice through the Calls API with a TwiML <Say>."""

from urllib.parse import quote
from xml.sax.saxutils import escape

from django.conf import settings

from phoneprovider.crypto import reveal
from phoneprovider.net import OutboundError, outbound_request
from phoneprovider.providers import SendResult

# Twilio error codes that will not get better by trying again.
# https://www.twilio.com/docs/api/errors — 21211 invalid To, 21610 unsubscribed, 21614 not mobile…
_EXPLAINED = {
    20003: "Twilio refused the credentials: check the Account SID and Auth Token.",
    21211: "Twilio says the recipient number is not valid.",
    21212: "Twilio says the From number is not valid.",
    21408: "Twilio is not permitted to send to this region; enable it in Geo Permissions.",
    21606: "The From number cannot send SMS; use an SMS-capable Twilio number.",
    21608: "Trial accounts can only send to verified numbers.",
    21610: "The recipient has opted out of messages from this sender (STOP).",
    21614: "The recipient number cannot receive SMS.",
}


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
    url = settings.TWILIO_API_BASE_URL.rstrip("/") + path
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


def _classify(status: int, body: dict | None) -> SendResult:
    body = body or {}
    if 200 <= status < 300:
        return SendResult("sent", provider_message_id=str(body.get("sid", "")))
    code = body.get("code")
    detail = _EXPLAINED.get(code) or body.get("message") or f"HTTP {status}"
    reason = f"Twilio answered {status}" + (f" (error {code})" if code else "") + f": {detail}"
    if status == 429 or status >= 500:
        return SendResult("retry", reason)
    return SendResult("failed", reason)
