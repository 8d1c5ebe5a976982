"""A delivery gateway for django-two-factor-auth (and any django-otp phone device).

In the Django site that signs users in (not in phoneprovider itself)::

    TWO_FACTOR_SMS_GATEWAY = "phoneprovider.contrib.two_factor.Gateway"
    TWO_FACTOR_CALL_GATEWAY = "phoneprovider.contrib.two_factor.Gateway"
    PHONEPROVIDER_URL = "https://phone.example.com"
    PHONEPROVIDER_TOKEN = "<a token with scope create:phone_messages>"

Codes go to ``POST /api/v2/phone/messages``; phoneprovider renders the template, applies its
abuse limits and delivers through the configured provider. This module imports nothing of
phoneprovider's own, so it can be copied into the other site as it is.
"""

import httpx
from django.conf import settings


class DeliveryRefused(Exception):
    """phoneprovider refused the message (bad number, limit, no provider); the text says why."""


def _number(device) -> str:
    number = device.number
    return getattr(number, "as_e164", None) or str(number)


def _send(device, token: str, delivery_method: str) -> dict:
    base = settings.PHONEPROVIDER_URL.rstrip("/")
    response = httpx.post(
        f"{base}/api/v2/phone/messages",
        json={
            "to": _number(device),
            "message_type": "otp_verify",
            "delivery_method": delivery_method,
            "code": str(token),
            # One device and one code: a retried request never sends a second message.
            "idempotency_key": f"2fa:{getattr(device, 'persistent_id', device.pk)}:{token}",
        },
        headers={"Authorization": f"Bearer {settings.PHONEPROVIDER_TOKEN}"},
        timeout=getattr(settings, "PHONEPROVIDER_TIMEOUT", 10),
    )
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code != 202:
        raise DeliveryRefused(
            body.get("message") or f"phoneprovider answered {response.status_code}"
        )
    if body.get("status") == "blocked":
        raise DeliveryRefused(body.get("reason") or "The message was blocked by a limit.")
    return body


class Gateway:
    """django-two-factor-auth calls ``send_sms`` and ``make_call`` with a device and a token."""

    @staticmethod
    def send_sms(device, token):
        return _send(device, token, "text")

    @staticmethod
    def make_call(device, token):
        return _send(device, token, "voice")
