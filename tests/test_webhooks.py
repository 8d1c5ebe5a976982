import pytest

from phoneprovider.models import PhoneMessage
from phoneprovider.webhooks import twilio_signature
from tests.factories import MessageFactory, TwilioProviderFactory

pytestmark = pytest.mark.django_db

URL = "http://testserver/hooks/twilio/status"


def _post(client, params, token="twilio-secret-token-value"):
    signature = twilio_signature(token, URL, params)
    return client.post(URL, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_signature_matches_twilios_documented_example():
    # The worked example of Twilio's webhook security guide.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert (
        twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
        == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_delivered_receipt_moves_a_sent_message_to_delivered(client):
    TwilioProviderFactory()
    message = MessageFactory(status="sent", provider_message_id="SM123")
    response = _post(client, {"MessageSid": "SM123", "MessageStatus": "delivered"})
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == PhoneMessage.Status.DELIVERED


def test_undelivered_receipt_records_twilios_error_code(client):
    TwilioProviderFactory()
    message = MessageFactory(status="sent", provider_message_id="SM9")
    _post(client, {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    message.refresh_from_db()
    assert message.status == "undelivered" and "30003" in message.reason


def test_bad_signature_is_refused_and_changes_nothing(client):
    TwilioProviderFactory()
    message = MessageFactory(status="sent", provider_message_id="SM1")
    response = _post(client, {"MessageSid": "SM1", "MessageStatus": "delivered"}, token="wrong")
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"


def test_late_receipt_does_not_rewrite_a_final_status(client):
    TwilioProviderFactory()
    message = MessageFactory(status="delivered", provider_message_id="SM2")
    _post(client, {"MessageSid": "SM2", "MessageStatus": "undelivered"})
    message.refresh_from_db()
    assert message.status == "delivered"
