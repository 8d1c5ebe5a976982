from types import SimpleNamespace

import pytest
from django.test import override_settings

from phoneprovider.models import Connection
from phoneprovider.providers import twilio
from tests.factories import (
    TWILIO_MSSID,
    TWILIO_SID,
    ConnectionFactory,
    MessageFactory,
    TwilioProviderFactory,
)

OTHER_SID = "AC" + "fedcba9876543210" * 2

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
        # Verify's per-number limit comes as 429 but won't clear within a message's retries.
        (429, {"code": 60203, "message": "Max send attempts reached"}, "failed", "10 minutes"),
        (403, {"code": 60204, "message": "Service does not"}, "failed", "Custom Verification"),
        (403, {"code": 60410, "message": "blocked"}, "failed", "Fraud Guard"),
        (200, ["not", "an", "object"], "sent", ""),
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


# --- Base URL: Twilio's public hosts, a connection's region host, or the override ----------


@pytest.mark.parametrize(
    ("api_host", "product", "expected"),
    [
        ("", "api", "https://api.twilio.com"),
        ("api.dublin.ie1.twilio.com", "api", "https://api.dublin.ie1.twilio.com"),
        (" https://api.sydney.au1.twilio.com/ ", "api", "https://api.sydney.au1.twilio.com"),
        ("", "verify", "https://verify.twilio.com"),
        # Verify has no regional hosts for SMS and calls: a region host is not used for it.
        ("api.dublin.ie1.twilio.com", "verify", "https://verify.twilio.com"),
    ],
)
def test_base_url_uses_the_region_host_or_twilios_public_host(
    settings, api_host, product, expected
):
    settings.TWILIO_API_BASE_URL = ""
    assert twilio.base_url(SimpleNamespace(api_host=api_host), product) == expected


def test_base_url_of_the_phone_provider_is_the_public_host(settings):
    settings.TWILIO_API_BASE_URL = ""
    assert twilio.base_url(TwilioProviderFactory.build()) == "https://api.twilio.com"


@pytest.mark.parametrize("product", ["api", "verify"])
def test_the_base_url_setting_wins_over_region_hosts(settings, product):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:8025/"
    target = SimpleNamespace(api_host="api.dublin.ie1.twilio.com")
    assert twilio.base_url(target, product) == "http://127.0.0.1:8025"


@pytest.mark.parametrize(
    "api_host", ["evil.example.com", "api.twilio.com.evil.example", "twilio.com", "a..twilio.com"]
)
def test_a_region_host_outside_twilio_is_refused(settings, api_host):
    # The auth token travels with every request: it may only go to a twilio.com host.
    settings.TWILIO_API_BASE_URL = ""
    with pytest.raises(ValueError, match=r"twilio\.com host"):
        twilio.base_url(SimpleNamespace(api_host=api_host))


def test_a_retired_region_only_host_is_refused_with_the_new_form():
    assert "api.dublin.ie1.twilio.com" in twilio.api_host_problem("api.ie1.twilio.com")
    assert twilio.api_host_problem("api.us1.twilio.com") is None


# --- Sending through a routing connection -----------------------------------------------------


@pytest.fixture
def twilio_api(settings, fake_twilio):
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return fake_twilio


def test_a_twilio_connection_sends_with_its_own_credentials(twilio_api):
    # A region host on the connection: the override (the fake) still takes the request.
    ConnectionFactory(
        twilio_sid=OTHER_SID,
        twilio_auth_token="connection-token",
        twilio_default_from="",
        twilio_mssid=TWILIO_MSSID,
        api_host="api.dublin.ie1.twilio.com",
    )
    connection = Connection.objects.get()  # the token as stored: encrypted, read back
    path = f"/2010-04-01/Accounts/{OTHER_SID}/Messages.json"
    twilio_api.expect_request(path, method="POST").respond_with_json({"sid": "SM42"}, status=201)

    result = twilio.send(connection, MessageFactory.build())

    assert (result.outcome, result.provider_message_id) == ("sent", "SM42")
    (request, _), *more = twilio_api.log
    assert not more
    assert request.path == path
    assert request.form.to_dict() == {
        "To": "+14155550100",
        "Body": "123456 is your code",
        "MessagingServiceSid": TWILIO_MSSID,
    }
    assert (request.authorization.username, request.authorization.password) == (
        OTHER_SID,
        "connection-token",
    )


def test_a_twilio_connection_places_calls(twilio_api):
    connection = ConnectionFactory()
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"
    twilio_api.expect_request(path, method="POST").respond_with_json({"sid": "CA42"}, status=201)
    result = twilio.send(connection, MessageFactory.build(delivery_method="voice"))
    assert (result.outcome, result.provider_message_id) == ("sent", "CA42")
    assert twilio_api.log[0][0].form["From"] == "+14155550199"


def test_a_connection_whose_region_host_is_not_twilio_sends_nothing(settings, twilio_api):
    settings.TWILIO_API_BASE_URL = ""
    connection = ConnectionFactory(api_host="127.0.0.1")
    result = twilio.send(connection, MessageFactory.build())
    assert result.outcome == "failed" and "not a twilio.com host" in result.reason
    assert twilio_api.log == []


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(201, None, "sent"), (400, 21211, "failed"), (429, 20429, "retry"), (500, None, "retry")],
)
def test_a_connections_answers_are_classified(twilio_api, status, code, outcome):
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    body = {"sid": "SM1"} if code is None else {"code": code, "message": "no"}
    twilio_api.expect_request(path).respond_with_json(body, status=status)
    assert twilio.send(ConnectionFactory(), MessageFactory.build()).outcome == outcome
