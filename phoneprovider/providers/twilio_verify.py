"""Twilio Verify: our one-time code sent as Verify's custom code, by SMS or by call.

Verify words the message itself (its pre-screened templates, localised), so only the code goes
out, never our rendered text; the Service must have Custom Verification Code enabled. The code
is checked by whoever asked for it (Auth0), never by Verify. Verify sends no status callbacks:
an accepted verification ends as ``sent``.
"""

from urllib.parse import quote

from django.conf import settings

from phoneprovider.crypto import reveal
from phoneprovider.net import OutboundError, outbound_request
from phoneprovider.providers import SendResult
from phoneprovider.providers.twilio import _classify, base_url

CHANNELS = {"text": "sms", "voice": "call"}

# The Locale values Verify accepts (https://www.twilio.com/docs/verify/supported-languages);
# any other override is answered 404, so one we can't match is left out and Verify picks the
# language from the number's country code, as Twilio recommends.
LOCALES = {
    "af", "ar", "ca", "zh", "zh-cn", "zh-hk", "hr", "cs", "da", "nl", "en", "en-gb", "fi", "fr",
    "de", "el", "he", "hi", "hu", "id", "it", "ja", "ko", "ms", "nb", "pl", "pt", "pt-br", "ro",
    "ru", "es", "sv", "tl", "th", "tr", "vi",
}  # fmt: skip


def verify_locale(locale: str) -> str | None:
    """``locale`` as Verify spells it (``en-GB``, ``pt``), or None when Verify has no match.

    The full tag first, then its language alone, except Chinese: ``zh`` is written in simplified
    characters, which is not what ``zh-TW`` asks for.
    """
    tag = locale.strip().replace("_", "-").lower()
    language = tag.split("-")[0]
    if tag not in LOCALES:
        tag = language if language != "zh" and language in LOCALES else ""
    if not tag:
        return None
    language, _, region = tag.partition("-")
    return f"{language}-{region.upper()}" if region else language


def request_for(connection, message) -> tuple[str, dict]:
    """The Create Verification call (path and form fields) that sends ``message``'s code."""
    # Any SID is stored; quoted so that one like "a/../b" stays one path segment.
    service = quote(connection.verify_service_sid, safe="")
    fields = {
        "To": message.recipient,
        "Channel": CHANNELS[message.delivery_method],
        "CustomCode": reveal(message.code, f"The code of message {message.public_id}"),
    }
    locale = verify_locale(message.locale or "")
    if locale:
        fields["Locale"] = locale
    return f"/v2/Services/{service}/Verifications", fields


def send(connection, message) -> SendResult:
    if not reveal(message.code, f"The code of message {message.public_id}"):
        return SendResult(
            "failed",
            f"Twilio Verify only sends one-time codes; this {message.get_message_type_display()} "
            "message has none. Route it to a Twilio or custom connection.",
        )
    if not connection.verify_service_sid:
        return SendResult("failed", "The Twilio Verify connection has no Verify Service SID.")
    path, fields = request_for(connection, message)
    try:
        response = outbound_request(
            "POST",
            base_url(connection, "verify") + path,
            data=fields,
            auth=(
                connection.twilio_sid,
                reveal(connection.twilio_auth_token, "The Twilio auth token"),
            ),
            timeout=settings.TWILIO_TIMEOUT,
            allowed_networks=settings.OUTBOUND_ALLOWED_NETWORKS,
        )
    except OutboundError as exc:
        # The request may or may not have reached Twilio; retrying is safe for an OTP.
        return SendResult("retry" if exc.transient else "failed", f"Twilio Verify: {exc}")
    return _classify(response.status_code, response.json_or_none(), who="Twilio Verify")
