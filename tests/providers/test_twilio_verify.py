import pytest

from phoneprovider.models import Connection
from phoneprovider.providers import twilio_verify
from tests.factories import TWILIO_SID, VERIFY_SERVICE_SID, MessageFactory, VerifyConnectionFactory

pytestmark = pytest.mark.django_db

PATH = f"/v2/Services/{VERIFY_SERVICE_SID}/Verifications"
VERIFICATION = {"sid": "VE" + "0" * 32, "status": "pending", "channel": "sms"}


@pytest.fixture
def verify_api(settings, fake_twilio):
    """Twilio Verify is the fake Twilio server on loopback."""
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return fake_twilio


@pytest.fixture
def connection():
    VerifyConnectionFactory(api_host="api.dublin.ie1.twilio.com")
    return Connection.objects.get()  # the token as stored: encrypted, read back


def test_verify_receives_the_code_as_its_custom_code(verify_api, connection):
    verify_api.expect_request(PATH, method="POST").respond_with_json(VERIFICATION, status=201)

    result = twilio_verify.send(connection, MessageFactory.build(code="482913"))

    assert (result.outcome, result.provider_message_id) == ("sent", VERIFICATION["sid"])
    (request, _), *more = verify_api.log
    assert not more
    assert request.path == PATH
    assert request.form.to_dict() == {
        "To": "+14155550100",
        "Channel": "sms",
        "CustomCode": "482913",
    }
    assert (request.authorization.username, request.authorization.password) == (
        TWILIO_SID,
        "twilio-secret-token-value",
    )


def test_a_voice_message_asks_verify_to_call(verify_api, connection):
    verify_api.expect_request(PATH).respond_with_json(VERIFICATION, status=201)
    twilio_verify.send(connection, MessageFactory.build(delivery_method="voice"))
    assert verify_api.log[0][0].form["Channel"] == "call"


def test_the_messages_locale_goes_to_verify_as_it_spells_it(verify_api, connection):
    verify_api.expect_request(PATH).respond_with_json(VERIFICATION, status=201)
    twilio_verify.send(connection, MessageFactory.build(locale="pt_BR"))
    assert verify_api.log[0][0].form["Locale"] == "pt-BR"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-GB", "en-GB"),
        ("EN-us", "en"),
        ("fr-CA", "fr"),
        ("pt-PT", "pt"),
        ("zh-HK", "zh-HK"),
        # zh alone is simplified Chinese: not what Taiwan asks for. Verify picks by country.
        ("zh-TW", None),
        ("xx", None),
        ("", None),
    ],
)
def test_locales_verify_does_not_know_are_left_out(locale, expected):
    # Verify answers 404 to a Locale it doesn't support; without one it picks by country code.
    assert twilio_verify.verify_locale(locale) == expected


@pytest.mark.parametrize(
    ("status", "body", "outcome", "words"),
    [
        (201, VERIFICATION, "sent", ""),
        (400, {"code": 60200, "message": "Invalid parameter: To"}, "failed", "refused a parameter"),
        (401, {"code": 20003, "message": "Authenticate"}, "failed", "Auth Token"),
        (403, {"code": 60204, "message": "Service does not"}, "failed", "Custom Verification"),
        (429, {"code": 60203, "message": "Max send attempts"}, "failed", "5 sends"),
        (403, {"code": 60410, "message": "Verification blocked"}, "failed", "Fraud Guard"),
        (429, {"code": 20429, "message": "Too Many Requests"}, "retry", "Too Many Requests"),
        (503, None, "retry", "Twilio Verify answered 503"),
    ],
)
def test_verifys_answers_are_classified(verify_api, connection, status, body, outcome, words):
    if body is None:
        verify_api.expect_request(PATH).respond_with_data("unavailable", status=status)
    else:
        verify_api.expect_request(PATH).respond_with_json(body, status=status)
    result = twilio_verify.send(connection, MessageFactory.build())
    assert result.outcome == outcome and words in result.reason
    assert len(verify_api.log) == 1


@pytest.mark.parametrize("message_type", ["blocked_account", "password_breach"])
def test_a_notice_without_a_code_is_refused_without_calling_twilio(
    verify_api, connection, message_type
):
    message = MessageFactory.build(message_type=message_type, code="", as_text="Account blocked")
    result = twilio_verify.send(connection, message)
    assert result.outcome == "failed" and "only sends one-time codes" in result.reason
    assert verify_api.log == []


def test_a_connection_without_a_service_sid_sends_nothing(verify_api):
    connection = VerifyConnectionFactory(verify_service_sid="")
    result = twilio_verify.send(connection, MessageFactory.build())
    assert result.outcome == "failed" and "Verify Service SID" in result.reason
    assert verify_api.log == []


def test_a_verify_url_on_a_private_address_is_refused(settings, connection):
    # Aimed at 127.0.0.2 while only 127.0.0.1/32 is allowed: the guard refuses before connecting.
    settings.TWILIO_API_BASE_URL = "http://127.0.0.2:9"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    result = twilio_verify.send(connection, MessageFactory.build())
    assert result.outcome == "failed" and "127.0.0.2" in result.reason


def test_an_unreachable_verify_is_retried(settings, connection):
    # Nothing listens on this loopback port: connection refused is transient.
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    result = twilio_verify.send(connection, MessageFactory.build())
    assert result.outcome == "retry" and result.reason.startswith("Twilio Verify: ")
