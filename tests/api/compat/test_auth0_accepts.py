"""What Auth0 stores without complaint is stored here too; what can't work is warned about.

The requests are the ones Auth0's Terraform provider and SDK test recordings send: a SID that is
not an Account SID, a From like +1234567890, From together with a Messaging Service, a switch to
custom that still carries the Twilio fields.
"""

import json

import pytest
from werkzeug import Response

from phoneprovider.models import PhoneMessage, PhoneProvider
from phoneprovider.services import delivery, messages, queue
from tests.api.conftest import TWILIO_MSSID, TWILIO_SID, assert_error

pytestmark = pytest.mark.django_db

PROVIDERS = "/branding/phone/providers"


def twilio(**configuration):
    return {
        "name": "twilio",
        "credentials": {"auth_token": "tw-token"},
        "configuration": {"delivery_methods": ["text"], **configuration},
    }


@pytest.mark.parametrize(
    "configuration",
    [
        {"sid": "sid1", "default_from": "+1234567890"},
        {"sid": TWILIO_SID, "default_from": "+1111111111"},
        {"sid": TWILIO_SID, "default_from": "+9876543210"},
        {"sid": TWILIO_SID, "default_from": "+14155550100", "mssid": TWILIO_MSSID},
        {"sid": "sid1", "mssid": "mssid1"},
    ],
)
def test_create_stores_what_auth0_stores_and_returns_it_as_given(api, configuration):
    response = api.post(PROVIDERS, twilio(**configuration))
    assert response.status_code == 201, response.content
    assert response.json()["configuration"] == {"delivery_methods": ["text"], **configuration}
    again = api.get(f"{PROVIDERS}/{response.json()['id']}").json()
    assert again["configuration"] == response.json()["configuration"]


def test_neither_from_nor_messaging_service_is_still_refused(api):
    assert_error(api.post(PROVIDERS, twilio(sid="sid1")), 400, contains="Messaging Service")


def test_a_missing_sid_is_still_refused(api):
    body = twilio(default_from="+14155550100")
    assert_error(api.post(PROVIDERS, body), 400, contains="sid")


def test_switch_to_custom_carrying_twilio_fields_keeps_them(api, deployed_action):
    created = api.post(PROVIDERS, twilio(sid="sid1", default_from="+1234567890")).json()
    response = api.patch(
        f"{PROVIDERS}/{created['id']}",
        {
            "name": "custom",
            "configuration": {
                "sid": "sid2",
                "default_from": "+1111111111",
                "delivery_methods": ["text"],
            },
            "credentials": {"auth_token": "new-token"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "custom"
    assert body["configuration"] == {
        "sid": "sid2",
        "default_from": "+1111111111",
        "delivery_methods": ["text"],
    }
    assert "credentials" not in body
    provider = PhoneProvider.objects.get()
    assert provider.twilio_auth_token == "new-token"


def test_switch_to_custom_without_a_deployed_action_keeps_auth0s_error_code(api):
    created = api.post(PROVIDERS, twilio(sid="sid1", default_from="+1234567890")).json()
    response = api.patch(f"{PROVIDERS}/{created['id']}", {"name": "custom"})
    assert_error(response, 400, error_code="custom_email_provider_deployed_action_not_found")


@pytest.mark.parametrize("sender", ["+1234567890", "+1111111111", "+9876543210"])
def test_template_from_takes_any_plus_number(api, sender):
    response = api.post(
        "/branding/phone/templates", {"type": "otp_verify", "content": {"from": sender}}
    )
    assert response.status_code == 201, response.content
    assert response.json()["content"]["from"] == sender
    patched = api.patch(
        f"/branding/phone/templates/{response.json()['id']}", {"content": {"from": sender}}
    )
    assert patched.status_code == 200 and patched.json()["content"]["from"] == sender


def test_templates_answer_with_created_at_and_updated_at(api):
    created = api.post("/branding/phone/templates", {"type": "otp_enroll"}).json()
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    listed = api.get("/branding/phone/templates").json()["templates"]
    customised = [t for t in listed if t.get("id") == created["id"]]
    assert customised[0]["created_at"] == created["created_at"]


def test_insufficient_scope_message_is_auth0s(api_as):
    response = api_as(["read:phone_providers"]).post(PROVIDERS, twilio(sid="sid1"))
    assert_error(
        response, 403, message="Insufficient scope, expected any of: create:phone_providers"
    )


# --- values accepted but unusable: a warning beside the field, Twilio's own error on send ---


def test_dashboard_warns_beside_each_field_twilio_will_refuse(api, client, admin_user):
    api.post(PROVIDERS, twilio(sid="sid1", default_from="+1234567890", mssid="mssid1"))
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    for slot in ("sid", "default_from", "mssid"):
        assert f'id="warning-{slot}"' in page, slot
    assert "Twilio will refuse" in page


def test_dashboard_shows_no_warning_for_a_real_configuration(api, client, admin_user):
    api.post(PROVIDERS, twilio(sid=TWILIO_SID, default_from="+14155550100"))
    client.force_login(admin_user)
    assert 'class="hint field-warning"' not in client.get("/").content.decode()


@pytest.fixture
def fake_twilio_base(settings, fake_twilio):
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return fake_twilio


def test_first_send_records_twilios_own_error_for_an_unusable_sid(
    api, fake_twilio_base, monkeypatch
):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    api.post(PROVIDERS, twilio(sid="sid1", default_from="+1234567890"))
    fake_twilio_base.expect_request(
        "/2010-04-01/Accounts/sid1/Messages.json"
    ).respond_with_response(
        Response(
            json.dumps({"code": 20404, "message": "The requested resource was not found"}),
            status=404,
            content_type="application/json",
        )
    )
    message = messages.message_queue(to="+14155550100", code="123456")
    delivery.message_deliver(message.pk)
    message = PhoneMessage.objects.get(pk=message.pk)
    assert message.status == "failed"
    assert "20404" in message.reason and "requested resource was not found" in message.reason
    form = fake_twilio_base.log[0][0].form
    assert form["From"] == "+1234567890"


def test_a_sid_with_a_slash_stays_one_path_segment(api, fake_twilio_base, monkeypatch):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    api.post(PROVIDERS, twilio(sid="a/../b", default_from="+14155550199"))
    # The fake server matches the decoded path; the raw request line shows what was sent.
    fake_twilio_base.expect_request("/2010-04-01/Accounts/a/../b/Messages.json").respond_with_json(
        {"sid": "SM1"}, status=201
    )
    message = messages.message_queue(to="+14155550100", code="123456")
    delivery.message_deliver(message.pk)
    assert PhoneMessage.objects.get(pk=message.pk).status == "sent"
    environ = fake_twilio_base.log[0][0].environ
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    assert raw == "/2010-04-01/Accounts/a%2F..%2Fb/Messages.json"
