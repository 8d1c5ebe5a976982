"""The sending API: POST /phone/messages and GET /phone/messages/{id}."""

import pytest

from phoneprovider.models import DeliveryAttempt, PhoneMessage
from tests.api.conftest import TWILIO_SID, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(api):
    response = api.post(
        "/branding/phone/providers",
        {
            "name": "twilio",
            "credentials": {"auth_token": "t"},
            "configuration": {
                "sid": TWILIO_SID,
                "default_from": "+14155550100",
                "delivery_methods": ["text", "voice"],
            },
        },
    )
    assert response.status_code == 201
    return response.json()


def send(api, headers=None, **overrides):
    body = {
        "to": "+14155550199",
        "message_type": "otp_verify",
        "delivery_method": "text",
        "code": "424242",
        "locale": "en-US",
        "user": {"user_id": "auth0|1", "name": "Jane"},
        "client": {"client_id": "c1", "name": "App"},
        "request": {"ip": "203.0.113.9", "user_agent": "tests"},
    }
    body.update(overrides)
    return api.post("/phone/messages", body, headers=headers)


def test_send_queues_a_message(api, provider):
    response = send(api)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["id"].startswith("msg_")
    assert body["status"] == "queued"
    assert body["to"] == "+14155550199"
    assert body["attempts"] == []
    assert "424242" not in response.content.decode()
    message = PhoneMessage.objects.get()
    assert "424242" in message.as_text
    assert message.context["user"]["user_id"] == "auth0|1"
    assert message.context["request"]["ip"] == "203.0.113.9"
    assert not message.is_test


def test_same_idempotency_key_returns_the_same_message(api, provider):
    first = send(api, idempotency_key="login-123").json()
    second = send(api, idempotency_key="login-123").json()
    assert first["id"] == second["id"]
    assert PhoneMessage.objects.count() == 1


def test_idempotency_key_header(api, provider):
    first = send(api, headers={"Idempotency-Key": "hdr-1"}).json()
    second = send(api, headers={"Idempotency-Key": "hdr-1"}).json()
    assert first["id"] == second["id"] and first["idempotency_key"] == "hdr-1"


def test_send_validation(api, provider):
    assert_error(api.post("/phone/messages", {}), 400, contains="Missing required property: to")
    assert_error(send(api, to="555"), 400, contains="E.164")
    assert_error(send(api, message_type="hello"), 400, contains="No enum match")
    assert_error(send(api, delivery_method="fax"), 400, contains="No enum match")
    assert_error(send(api, priority="high"), 400, contains="Additional properties")


def test_send_without_provider_is_400(api):
    assert_error(send(api), 400, contains="provider")


def test_get_status_with_attempts(api, provider):
    sent = send(api).json()
    message = PhoneMessage.objects.get()
    DeliveryAttempt.objects.create(
        message=message,
        number=1,
        provider_name="twilio",
        outcome="sent",
        provider_message_id="SM123",
    )
    # As a claim does: it counts the attempt it makes.
    PhoneMessage.objects.filter(pk=message.pk).update(
        status="sent", provider_message_id="SM123", attempt_count=1
    )
    response = api.get(f"/phone/messages/{sent['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "sent" and body["provider_message_id"] == "SM123"
    assert body["attempts"][0]["number"] == 1
    assert body["attempts"][0]["outcome"] == "sent"
    assert body["attempts"][0]["provider_message_id"] == "SM123"


def test_get_unknown_is_404(api):
    assert_error(api.get("/phone/messages/msg_missing"), 404)


def test_scopes(api_as, provider):
    sender = api_as("create:phone_messages")
    sent = send(sender)
    assert sent.status_code == 202
    assert_error(
        sender.get(f"/phone/messages/{sent.json()['id']}"),
        403,
        message="Insufficient scope, expected any of: read:phone_messages",
    )
    assert_error(
        send(api_as("read:phone_messages")),
        403,
        message="Insufficient scope, expected any of: create:phone_messages",
    )
