"""DELETE /api/v2/phone/numbers/{e164}/messages: erasure by number through the API."""

import pytest

from phoneprovider.models import AuditEntry, DeliveryAttempt, PhoneMessage
from tests.api.conftest import Api, assert_error

pytestmark = pytest.mark.django_db

NUMBER = "+14155550100"


def _stored(recipient: str) -> PhoneMessage:
    message = PhoneMessage.objects.create(
        recipient=recipient, message_type="otp_verify", delivery_method="text", status="sent"
    )
    DeliveryAttempt.objects.create(message=message, number=1, provider_name="twilio")
    return message


@pytest.mark.parametrize("spelled", [NUMBER, "%2B14155550100"])
def test_delete_erases_the_numbers_messages_and_answers_the_counts(api_as, spelled):
    erased = [_stored(NUMBER), _stored(NUMBER)]
    kept = _stored("+14155550142")

    response = api_as("delete:phone_messages", name="privacy-desk").delete(
        f"/phone/numbers/{spelled}/messages"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "number": "+1415555••00",
        "messages_removed": 2,
        "attempts_removed": 2,
        "executions_removed": 0,
        "audit_entries_masked": 0,
    }
    assert not PhoneMessage.objects.filter(pk__in=[m.pk for m in erased]).exists()
    assert PhoneMessage.objects.filter(pk=kept.pk).exists()
    entry = AuditEntry.objects.get(verb="erase")
    assert entry.actor == "privacy-desk" and entry.object_id == "+1415555••00"
    assert entry.changes["messages_removed"] == 2


@pytest.mark.parametrize("number", ["4155550100", "+1415", "%2B0999999999", "not-a-number"])
def test_an_invalid_number_is_auth0s_path_validation_error(api, number):
    message = _stored(NUMBER)
    body = assert_error(
        api.delete(f"/phone/numbers/{number}/messages"), 400, error_code="invalid_uri"
    )
    assert body["error"] == "Bad Request"
    assert body["message"].startswith("Path validation error: '")
    assert body["message"].endswith("' on property e164.")
    assert PhoneMessage.objects.filter(pk=message.pk).exists()
    assert not AuditEntry.objects.filter(verb="erase").exists()


def test_a_token_without_the_scope_is_refused_and_nothing_is_erased(api_as):
    message = _stored(NUMBER)
    for scopes in ("read:phone_messages create:phone_messages", "delete:phone_providers"):
        assert_error(
            api_as(scopes).delete(f"/phone/numbers/{NUMBER}/messages"),
            403,
            message="Insufficient scope, expected any of: delete:phone_messages",
            error_code="insufficient_scope",
        )
    assert_error(Api(None).delete(f"/phone/numbers/{NUMBER}/messages"), 401)
    assert_error(Api("ppt_wrong").delete(f"/phone/numbers/{NUMBER}/messages"), 401)
    assert PhoneMessage.objects.filter(pk=message.pk).exists()
    assert not AuditEntry.objects.filter(verb="erase").exists()


def test_only_delete_is_allowed_on_the_path(api):
    response = api.get(f"/phone/numbers/{NUMBER}/messages")
    assert_error(response, 405)
    assert response["Allow"] == "DELETE"


def test_the_operation_is_documented_with_its_scope_and_response():
    document = Api(None).get("/openapi.json").json()
    operation = document["paths"]["/phone/numbers/{e164}/messages"]["delete"]
    assert operation["x-required-scopes"] == ["delete:phone_messages"]
    assert operation["parameters"][0]["name"] == "e164"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/NumberErasure"}
    assert {"400", "401", "403"} <= set(operation["responses"])
