"""Realistic sample data for the editor's Test panel and the template preview.

The sample event is built by the same ``build_event`` the worker uses for real messages, from an
unsaved message rendered with the current templates, so what a test run sees has the real shape.
"""

from django.utils import timezone

from phoneprovider import selectors
from phoneprovider.models import PhoneMessage
from phoneprovider.providers.custom import build_event
from phoneprovider.providers.templates import DEFAULT_BODIES, Rendered, TemplateRenderError, render
from phoneprovider.services.messages import template_variables

SAMPLE_RECIPIENT = "+14155550100"
SAMPLE_FROM = "+14155550123"
SAMPLE_CODE = "123456"
SAMPLE_LOCALE = "en-US"
SAMPLE_CONTEXT = {
    "user": {
        "user_id": "auth0|65f1c0de2a9b4e0012345678",
        "name": "Jane Doe",
        "nickname": "jane",
        "given_name": "Jane",
        "family_name": "Doe",
        "email": "jane.doe@example.com",
        "email_verified": True,
        "phone_number": SAMPLE_RECIPIENT,
        "phone_verified": True,
        "created_at": "2024-03-01T09:30:00.000Z",
        "updated_at": "2025-01-15T17:02:11.000Z",
        "app_metadata": {},
        "user_metadata": {"preferred_language": "en"},
    },
    "client": {"client_id": "k3Vq1mXcT2pL9sQe", "name": "My App", "metadata": {}},
    "request": {
        "ip": "203.0.113.24",
        "method": "POST",
        "hostname": "login.example.com",
        "language": "en-US",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
        "geoip": {
            "countryCode": "US",
            "countryCode3": "USA",
            "countryName": "United States",
            "cityName": "San Francisco",
            "continentCode": "NA",
            "subdivisionCode": "CA",
            "subdivisionName": "California",
            "timeZone": "America/Los_Angeles",
            "latitude": 37.7749,
            "longitude": -122.4194,
        },
    },
}


def sample_variables() -> dict:
    """The Liquid variables of a sample message (what the template preview renders with)."""
    return template_variables(code=SAMPLE_CODE, locale=SAMPLE_LOCALE, context=SAMPLE_CONTEXT)


def sample_render(text_body: str, voice_body: str) -> Rendered:
    """Render template bodies with the sample variables (raises on invalid Liquid)."""
    return render(text_body, voice_body, sample_variables())


def sample_event(message_type: str, delivery_method: str) -> dict:
    """An Auth0-shaped event for a message of this type and method, as the worker builds it.

    ``secrets`` is left out: a test run fills it in with the Action's stored secrets.
    """
    template = selectors.template_for_type(message_type)
    defaults = DEFAULT_BODIES[message_type]
    try:
        rendered = sample_render(
            template.text_body if template else defaults["text"],
            template.voice_body if template else defaults["voice"],
        )
    except TemplateRenderError:
        # A stored body that breaks the bounds (saved before they existed): the sample event
        # still opens, with the defaults; sending that type is refused with the reason.
        rendered = sample_render(defaults["text"], defaults["voice"])
    message = PhoneMessage(
        public_id="msg_sample0000000000000000",
        recipient=SAMPLE_RECIPIENT,
        message_type=message_type,
        delivery_method=delivery_method,
        code=SAMPLE_CODE,
        locale=SAMPLE_LOCALE,
        sender=(template.from_number if template and template.from_number else SAMPLE_FROM),
        as_text=rendered.as_text,
        as_voice=rendered.as_voice,
        context=SAMPLE_CONTEXT,
        created_at=timezone.now(),
    )
    event = build_event(message, {})
    event.pop("secrets", None)
    return event
