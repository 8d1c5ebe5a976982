"""Input no database can store answers 400 in Auth0's body, never 500: lone surrogates (JSON's
"\\ud800") in any string field, and an Idempotency-Key header longer than the column."""

import json

import pytest

from phoneprovider.models import Action, PhoneMessage
from tests.api.conftest import HANDLER, TRIGGER

pytestmark = pytest.mark.django_db

SURROGATE = '"a\\ud800b"'  # as JSON text: a lone high surrogate


def _send(api, field: str, value: str = SURROGATE):
    body = '{"to": "+14155550100", "%s": %s}' % (field, value)  # noqa: UP031
    return api.post("/phone/messages", raw=body)


@pytest.mark.parametrize("field", ["idempotency_key", "code", "locale", "from"])
def test_a_lone_surrogate_in_a_send_field_is_400(api, twilio_provider, field):
    response = _send(api, field)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["statusCode"] == 400 and "surrogate" in body["message"]
    assert field in body["message"]
    assert PhoneMessage.objects.count() == 0


def test_a_lone_surrogate_inside_user_is_400(api):
    response = _send(api, "user", '{"user_id": "auth0|1", "name": %s}' % SURROGATE)  # noqa: UP031
    assert response.status_code == 400, response.content
    assert "user.name" in response.json()["message"]
    key = _send(api, "user", '{%s: "x"}' % SURROGATE)  # noqa: UP031
    assert key.status_code == 400, key.content


def test_a_lone_surrogate_in_an_action_name_or_secret_is_400(api):
    for action in (
        {"name": "@@", "supported_triggers": TRIGGER},
        {
            "name": "ok",
            "supported_triggers": TRIGGER,
            "code": HANDLER,
            "secrets": [{"name": "K", "value": "@@"}],
        },
    ):
        response = api.post("/actions/actions", raw=json.dumps(action).replace('"@@"', SURROGATE))
        assert response.status_code == 400, response.content
        assert "surrogate" in response.json()["message"]
    assert Action.objects.count() == 0


def test_an_idempotency_key_header_over_255_characters_is_400(api, twilio_provider):
    accepted = api.post(
        "/phone/messages", {"to": "+14155550100"}, headers={"Idempotency-Key": "k" * 255}
    )
    assert accepted.status_code == 202, accepted.content
    response = api.post(
        "/phone/messages", {"to": "+14155550100"}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["statusCode"] == 400 and "Idempotency-Key" in body["message"]
    assert PhoneMessage.objects.count() == 1


def test_the_document_states_the_string_rules(client):
    document = client.get("/api/v2/openapi.json").json()
    send = document["components"]["schemas"]["SendMessageRequest"]["properties"]
    assert send["to"]["pattern"] == r"^\+[1-9][0-9]{7,14}$" and send["to"]["format"] == "e164"
    assert send["code"]["pattern"] == r"^[^\u0000]*$"
    assert send["locale"]["pattern"] == r"^[^\u0000]*$"
