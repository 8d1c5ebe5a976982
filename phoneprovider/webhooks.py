"""Inbound provider callbacks. Twilio's status callback moves sent → delivered / undelivered."""

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from phoneprovider import selectors
from phoneprovider.crypto import is_undecryptable
from phoneprovider.services.delivery import message_receipt

logger = logging.getLogger(__name__)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL followed by the sorted form fields."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    provider = selectors.provider_get()
    if provider is None or not provider.twilio_auth_token:
        return HttpResponse(status=403)
    if is_undecryptable(provider.twilio_auth_token):  # can't check the signature
        logger.error("%s", provider.twilio_auth_token.error("The Twilio auth token").message)
        return HttpResponse(status=403)
    params = {key: request.POST[key] for key in request.POST}
    # Twilio signs the URL it called, which behind a proxy is the public one.
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    url = base + request.get_full_path() if base else request.build_absolute_uri()
    expected = twilio_signature(provider.twilio_auth_token, url, params)
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        return HttpResponse(status=403)
    message_receipt(
        provider_message_id=params.get("MessageSid") or params.get("CallSid", ""),
        provider_status=params.get("MessageStatus") or params.get("CallStatus", ""),
        error_code=params.get("ErrorCode", ""),
    )
    # Always 200 for a verified callback: Twilio retries otherwise, and nothing would change.
    return HttpResponse(status=204)
