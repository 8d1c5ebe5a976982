"""Each phone-number field: the OpenAPI document and the API agree.

Auth0's own fields take any string, as Auth0 does (recorded go-auth0 traffic: a try to
"911234567890" answers 202, a template `from` "1234567890" is stored), so the document claims no
E.164 pattern on them. Our sending API takes E.164 numbers only: its document says so (pattern and
the format e164) and the API refuses anything else with 400 in Auth0's error body.
"""

import pytest

from phoneprovider.api.schemas import E164_PATTERN
from phoneprovider.models import PhoneMessage
from tests.api.conftest import twilio_provider_body

pytestmark = pytest.mark.django_db

NOT_E164 = "911234567890"  # go-auth0's recorded try: Auth0 answered 202
INVALID_E164 = "+10000000"  # E.164's shape, but no country's numbering plan has it


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v2/openapi.json").json()


def _schema(document, name: str) -> dict:
    return document["components"]["schemas"][name]["properties"]


def _is_auth0_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["statusCode"] == status and body["error"] and body["message"]
    return body


# --- Auth0's fields: anything goes, and the document says no more ------------------------------


@pytest.mark.parametrize("schema", ["SendTestRequest", "TemplateTryRequest"])
def test_the_try_to_field_claims_no_e164_pattern(document, schema):
    to = _schema(document, schema)["to"]
    assert to["pattern"] == r"^[^\u0000]*$"  # only the no-NUL rule every text has
    assert "format" not in to and (to["minLength"], to["maxLength"]) == (1, 16)


def test_a_provider_try_to_a_non_e164_number_is_accepted_and_recorded_unsent(
    api,
    twilio_provider,
):
    response = api.post(f"/branding/phone/providers/{twilio_provider['id']}/try", {"to": NOT_E164})

    assert response.status_code == 202, response.content
    message = PhoneMessage.objects.get()
    assert (message.recipient, message.status, message.is_test) == (NOT_E164, "failed", True)
    assert "Nothing was sent" in message.reason and "E.164" in message.reason
    assert message.attempts.count() == 0 and message.finished_at is not None
    assert response.json() == {
        "code": 202,
        "message": f"Test message {message.public_id} failed: {message.reason}",
    }


def test_a_provider_try_to_an_e164_number_is_queued(api, twilio_provider):
    response = api.post(
        f"/branding/phone/providers/{twilio_provider['id']}/try", {"to": "+14155550123"}
    )

    assert response.status_code == 202, response.content
    message = PhoneMessage.objects.get()
    assert (message.recipient, message.status) == ("+14155550123", "queued")
    assert response.json()["message"] == f"Test message {message.public_id} queued for delivery."


def test_a_template_try_to_a_non_e164_number_is_accepted_and_recorded_unsent(
    api,
    twilio_provider,
):
    created = api.post("/branding/phone/templates", {"type": "otp_verify"})
    assert created.status_code == 201, created.content

    response = api.post(f"/branding/phone/templates/{created.json()['id']}/try", {"to": "abc"})

    assert response.status_code == 202, response.content
    message = PhoneMessage.objects.get()
    assert (message.recipient, message.status) == ("abc", "failed")
    assert response.json()["message"].endswith(message.reason)


def test_a_template_from_without_plus_is_stored_as_given(api, document):
    response = api.post(
        "/branding/phone/templates", {"type": "otp_enroll", "content": {"from": "1234567890"}}
    )

    assert response.status_code == 201, response.content
    assert response.json()["content"]["from"] == "1234567890"
    assert "format" not in _schema(document, "PhoneTemplateContent")["from"]
    assert "format" not in _schema(document, "PartialPhoneTemplateContent")["from"]


def test_a_provider_default_from_without_plus_is_stored_as_given(api, document):
    response = api.post(
        "/branding/phone/providers",
        twilio_provider_body(sid="sid", default_from="1234567890"),
    )

    assert response.status_code == 201, response.content
    assert response.json()["configuration"]["default_from"] == "1234567890"
    assert "format" not in _schema(document, "TwilioConfiguration")["default_from"]


# --- Our sending API: E.164 only, documented and enforced --------------------------------------


def test_the_send_document_states_e164_for_to_from_and_the_erasure_path(document):
    send = _schema(document, "SendMessageRequest")
    assert (send["to"]["pattern"], send["to"]["format"]) == (E164_PATTERN, "e164")
    senders = send["from"]["anyOf"]
    assert {"pattern": E164_PATTERN, "format": "e164"}.items() <= senders[0].items()
    assert senders[1]["maxLength"] == 11
    erase = document["paths"]["/phone/numbers/{e164}/messages"]["delete"]["parameters"][0]
    assert erase["schema"]["pattern"] == E164_PATTERN and "format" not in erase["schema"]


@pytest.mark.parametrize("to", [NOT_E164, INVALID_E164, "abc", "+1 415 555 01"])
def test_a_send_to_anything_but_a_valid_e164_number_is_400(api, twilio_provider, to):
    body = _is_auth0_error(api.post("/phone/messages", {"to": to}), 400)
    assert "E.164" in body["message"] or "not a valid phone number" in body["message"]
    batch = api.post("/phone/messages/batch", {"messages": [{"to": to}]})
    assert batch.status_code == 202, batch.content
    assert batch.json()["messages"][0]["error"]["statusCode"] == 400
    assert PhoneMessage.objects.count() == 0


def test_a_send_to_a_valid_number_with_spaces_is_stored_in_e164(api, twilio_provider):
    response = api.post("/phone/messages", {"to": "+1 415 555 0123"})

    assert response.status_code == 202, response.content
    assert PhoneMessage.objects.get().recipient == "+14155550123"


@pytest.mark.parametrize(
    ("sender", "stored"), [("ACME", "ACME"), ("+44 20 7946 0018", "+442079460018")]
)
def test_a_send_from_a_number_or_sender_id_is_accepted(api, twilio_provider, sender, stored):
    response = api.post("/phone/messages", {"to": "+14155550123", "from": sender})

    assert response.status_code == 202, response.content
    assert PhoneMessage.objects.get().sender == stored


@pytest.mark.parametrize("sender", ["1234567890", INVALID_E164, "ACME-SENDER-LONG", "a!"])
def test_a_send_from_anything_else_is_400(api, twilio_provider, sender):
    _is_auth0_error(api.post("/phone/messages", {"to": "+14155550123", "from": sender}), 400)
    assert PhoneMessage.objects.count() == 0


@pytest.mark.parametrize("number", ["0", NOT_E164, "+1234567890123456"])
def test_erasing_anything_but_an_e164_number_is_400(api, number):
    body = _is_auth0_error(api.delete(f"/phone/numbers/{number}/messages"), 400)
    assert body["errorCode"] == "invalid_uri" and "e164" in body["message"]


def test_erasing_a_number_of_e164_shape_no_plan_knows_is_accepted(api):
    # A number stored while it was valid stays erasable after its country's plan changes.
    response = api.delete(f"/phone/numbers/{INVALID_E164.replace('+', '%2B')}/messages")
    assert response.status_code == 200, response.content
    assert response.json()["messages_removed"] == 0
