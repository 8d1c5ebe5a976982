"""The sending API: POST /phone/messages and GET /phone/messages/{id}."""

import pytest

from phoneprovider.models import DeliveryAttempt, PhoneMessage
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


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


def test_send_queues_a_message(api, twilio_provider):
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


def test_same_idempotency_key_returns_the_same_message(api, twilio_provider):
    first = send(api, idempotency_key="login-123").json()
    second = send(api, idempotency_key="login-123").json()
    assert first["id"] == second["id"]
    assert PhoneMessage.objects.count() == 1


def test_idempotency_key_header(api, twilio_provider):
    first = send(api, headers={"Idempotency-Key": "hdr-1"}).json()
    second = send(api, headers={"Idempotency-Key": "hdr-1"}).json()
    assert first["id"] == second["id"] and first["idempotency_key"] == "hdr-1"


def test_send_validation(api, twilio_provider):
    assert_error(api.post("/phone/messages", {}), 400, contains="Missing required property: to")
    assert_error(send(api, to="555"), 400, contains="E.164")
    assert_error(send(api, message_type="hello"), 400, contains="No enum match")
    assert_error(send(api, delivery_method="fax"), 400, contains="No enum match")
    assert_error(send(api, priority="high"), 400, contains="Additional properties")


def test_send_without_provider_is_400(api):
    assert_error(send(api), 400, contains="provider")


def test_get_status_with_attempts(api, twilio_provider):
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


def test_scopes(api_as, twilio_provider):
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


# --- POST /phone/messages/batch ------------------------------------------------------------------


def batch(api, *items):
    return api.post("/phone/messages/batch", {"messages": list(items)})


def test_batch_gives_each_message_its_own_result_in_order(api, twilio_provider):
    response = batch(
        api,
        {"to": "+14155550101", "code": "111111", "idempotency_key": "b-1"},
        {"to": "555", "code": "222222"},
        {"to": "+14155550103", "delivery_method": "voice", "code": "333333"},
    )

    assert response.status_code == 202, response.content
    first, refused, third = response.json()["messages"]
    assert first["status"] == "queued" and first["idempotency_key"] == "b-1"
    assert refused["error"]["statusCode"] == 400 and "E.164" in refused["error"]["message"]
    assert third["status"] == "queued" and third["delivery_method"] == "voice"
    stored = {m.public_id: m for m in PhoneMessage.objects.all()}
    assert set(stored) == {first["id"], third["id"]}
    assert "111111" in stored[first["id"]].as_text
    assert "3, 3, 3, 3, 3, 3" in stored[third["id"]].as_voice


def test_batch_idempotency_keys_return_the_earlier_message(api, twilio_provider):
    earlier = send(api, idempotency_key="k-1").json()

    results = batch(
        api,
        {"to": "+14155550101", "idempotency_key": "k-1"},
        {"to": "+14155550102", "idempotency_key": "k-2"},
        {"to": "+14155550102", "idempotency_key": "k-2"},
    ).json()["messages"]

    assert results[0]["id"] == earlier["id"]
    assert results[1]["id"] == results[2]["id"] != earlier["id"]
    assert PhoneMessage.objects.count() == 2


def test_batch_items_are_limited_one_by_one(api, twilio_provider):
    from phoneprovider.services import limits

    limits.policy_update(actor="t", recipient_per_hour=2)

    results = batch(api, *[{"to": "+14155550101"} for _ in range(3)]).json()["messages"]

    assert [r["status"] for r in results] == ["queued", "queued", "blocked"]
    assert results[2]["limit_rule"] == "recipient_per_hour"


def test_batch_takes_up_to_1000_messages(api, twilio_provider):
    items = [{"to": f"+1415555{i:04d}", "idempotency_key": f"many-{i}"} for i in range(1000)]

    response = batch(api, *items)

    assert response.status_code == 202, response.content[:300]
    assert len(response.json()["messages"]) == 1000
    assert PhoneMessage.objects.filter(idempotency_key__startswith="many-").count() == 1000
    assert_error(batch(api, *items, {"to": "+14155550100"}), 400, contains="maximum 1000")
    assert_error(batch(api), 400, contains="minimum 1")
    assert PhoneMessage.objects.count() == 1000


def test_batch_refuses_a_malformed_body_whole(api, twilio_provider):
    assert_error(batch(api, {"to": "+14155550101"}, {"to": 5}), 400, contains="Payload validation")
    assert_error(api.post("/phone/messages/batch", {}), 400, contains="messages")
    assert PhoneMessage.objects.count() == 0


def test_batch_needs_the_create_scope(api_as, twilio_provider):
    reader = api_as("read:phone_messages")
    assert_error(batch(reader, {"to": "+14155550101"}), 403, contains="create:phone_messages")


def test_batch_is_in_the_openapi_document(api):
    document = api.get("/openapi.json").json()
    post = document["paths"]["/phone/messages/batch"]["post"]
    assert "create:phone_messages" in str(post)
    assert "SendMessageBatchRequest" in str(post["requestBody"])


# --- the lean intake ------------------------------------------------------------------------------


def test_a_send_costs_one_insert_once_token_and_configuration_are_copied(api, twilio_provider):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The first send stores the limits policy's row (a configuration write: copies dropped);
    # the second copies the token and the configuration into this process.
    send(api, to="+14155550100")
    send(api, to="+14155550101")

    with CaptureQueriesContext(connection) as plain:
        assert send(api, to="+14155550102").status_code == 202
    with CaptureQueriesContext(connection) as keyed:
        assert send(api, to="+14155550103", idempotency_key="lean-1").status_code == 202

    def statements(captured):
        # Counters of the abuse limits live in the database only when there is no Redis; the
        # savepoint is there because the test runs inside a transaction (a request does not).
        words = [q["sql"].split()[0] for q in captured if "limitwindow" not in q["sql"]]
        return [word for word in words if word not in ("SAVEPOINT", "RELEASE")]

    assert statements(plain) == ["INSERT"]
    assert statements(keyed) == ["SELECT", "INSERT"]


def test_a_revoked_token_is_refused_at_once_although_processes_keep_copies(api, twilio_provider):
    from phoneprovider.models import ApiToken
    from phoneprovider.services.tokens import token_revoke

    assert send(api).status_code == 202  # copied now
    token_revoke(ApiToken.objects.get(), actor="t")

    assert_error(send(api), 401, contains="Invalid token")


def test_a_send_reads_the_configuration_generation_once(api, twilio_provider, monkeypatch):
    from phoneprovider import config_cache

    send(api, to="+14155550100")
    looks = []
    real = config_cache._generation
    monkeypatch.setattr(config_cache, "_generation", lambda: looks.append(1) or real())

    assert send(api, to="+14155550101").status_code == 202
    assert len(looks) == 1  # the token and the send's provider, template and limits alike


def test_a_configuration_change_is_seen_by_the_next_send(api, twilio_provider):
    from phoneprovider.services.limits import policy_update

    assert send(api, to="+14155550100").json()["status"] == "queued"
    policy_update(actor="t", text_countries_denied=["US"])

    body = send(api, to="+14155550101").json()
    assert body["status"] == "blocked", body
