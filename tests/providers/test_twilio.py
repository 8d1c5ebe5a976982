import pytest
from django.test import override_settings

from phoneprovider.providers import twilio
from tests.factories import TWILIO_MSSID, TWILIO_SID, MessageFactory, TwilioProviderFactory

pytestmark = pytest.mark.django_db


def test_sms_request_uses_the_from_number():
    provider = TwilioProviderFactory()
    path, fields = twilio.request_for(provider, MessageFactory.build())
    assert path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert fields == {"To": "+14155550100", "Body": "123456 is your code", "From": "+14155550199"}


def test_sms_request_uses_the_messaging_service_when_set():
    provider = TwilioProviderFactory(twilio_default_from="", twilio_mssid=TWILIO_MSSID)
    _, fields = twilio.request_for(provider, MessageFactory.build())
    assert fields["MessagingServiceSid"] == TWILIO_MSSID and "From" not in fields


def test_template_sender_wins_over_the_provider_default():
    provider = TwilioProviderFactory()
    _, fields = twilio.request_for(provider, MessageFactory.build(sender="+14155550111"))
    assert fields["From"] == "+14155550111"


def test_voice_request_says_the_voice_text_in_twiml_escaped():
    provider = TwilioProviderFactory()
    message = MessageFactory.build(delivery_method="voice", as_voice="Code 1, 2 & <3>")
    path, fields = twilio.request_for(provider, message)
    assert path.endswith("/Calls.json")
    assert fields["Twiml"] == "<Response><Say>Code 1, 2 &amp; &lt;3&gt;</Say></Response>"


@override_settings(PUBLIC_BASE_URL="https://phone.example.com/")
def test_every_request_asks_for_status_callbacks():
    _, fields = twilio.request_for(TwilioProviderFactory(), MessageFactory.build())
    assert fields["StatusCallback"] == "https://phone.example.com/hooks/twilio/status"


@pytest.mark.parametrize(
    ("status", "body", "outcome", "words"),
    [
        (201, {"sid": "SM1"}, "sent", ""),
        (
            400,
            {"code": 21211, "message": "Invalid 'To'"},
            "failed",
            "recipient number is not valid",
        ),
        (401, {"code": 20003, "message": "Authenticate"}, "failed", "Account SID and Auth Token"),
        (429, {"code": 20429, "message": "Too Many Requests"}, "retry", "Too Many Requests"),
        (503, None, "retry", "503"),
    ],
)
def test_answers_are_classified_once(status, body, outcome, words):
    result = twilio._classify(status, body)
    assert result.outcome == outcome and words in result.reason


def test_a_twilio_url_on_a_private_address_is_refused(settings):
    # Aimed at 127.0.0.2 while only 127.0.0.1/32 is allowed: the guard refuses before connecting.
    settings.TWILIO_API_BASE_URL = "http://127.0.0.2:9"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    result = twilio.send(TwilioProviderFactory(), MessageFactory.build())
    assert result.outcome == "failed" and "127.0.0.2" in result.reason
