"""/branding/phone/providers: list, create, get, patch, delete and their error paths."""

import re

import pytest

from phoneprovider.models import AuditEntry, PhoneMessage, PhoneProvider
from tests.api.conftest import (
    PROVIDER_FIELDS,
    TIMESTAMP,
    TWILIO_MSSID,
    TWILIO_SID,
    assert_error,
    twilio_provider_body,
)

pytestmark = pytest.mark.django_db


def twilio_body(**overrides):
    return {**twilio_provider_body(delivery_methods=["text", "voice"]), **overrides}


def test_list_is_empty_on_a_fresh_install(api):
    response = api.get("/branding/phone/providers")
    assert response.status_code == 200
    assert response.json() == {"providers": []}


def test_create_twilio_returns_auth0_shape_without_credentials(api, settings):
    response = api.post("/branding/phone/providers", twilio_body())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PROVIDER_FIELDS
    assert re.fullmatch(r"pro_[0-9A-Za-z]{22}", body["id"])
    assert body["tenant"] == settings.TENANT_NAME
    assert body["channel"] == "phone"
    assert body["disabled"] is False
    assert body["configuration"] == {
        "sid": TWILIO_SID,
        "default_from": "+14155550100",
        "delivery_methods": ["text", "voice"],
    }
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])
    assert "tw-auth-token" not in response.content.decode()
    assert PhoneProvider.objects.get().twilio_auth_token == "tw-auth-token"


def test_create_records_the_token_name_in_the_audit_log(api):
    api.post("/branding/phone/providers", twilio_body())
    entry = AuditEntry.objects.get(object_type="phone_provider")
    assert entry.actor == "ci-robot"
    assert entry.verb == "create"
    assert entry.changes["credentials"] == {"auth_token": "[redacted]"}


def test_second_provider_is_409(api, twilio_provider):
    assert_error(api.post("/branding/phone/providers", twilio_body()), 409)


def test_create_requires_name_and_credentials(api):
    assert_error(
        api.post("/branding/phone/providers", {"credentials": {}}),
        400,
        contains="Missing required property: name",
        error_code="invalid_body",
    )
    assert_error(
        api.post("/branding/phone/providers", {"name": "twilio"}), 400, contains="credentials"
    )


def test_create_twilio_needs_auth_token(api):
    assert_error(
        api.post("/branding/phone/providers", twilio_body(credentials={})),
        400,
        contains="auth_token",
    )


def test_create_twilio_needs_from_or_mssid(api):
    body = twilio_body(configuration={"sid": TWILIO_SID, "delivery_methods": ["text"]})
    assert_error(api.post("/branding/phone/providers", body), 400, contains="From number")


def test_create_twilio_with_mssid(api):
    body = twilio_body(
        configuration={"sid": TWILIO_SID, "mssid": TWILIO_MSSID, "delivery_methods": ["text"]}
    )
    response = api.post("/branding/phone/providers", body)
    assert response.status_code == 201
    assert response.json()["configuration"] == {
        "sid": TWILIO_SID,
        "mssid": TWILIO_MSSID,
        "delivery_methods": ["text"],
    }


def test_create_rejects_unknown_configuration_fields(api):
    body = twilio_body()
    body["configuration"]["colour"] = "blue"
    assert_error(
        api.post("/branding/phone/providers", body),
        400,
        contains="Additional properties not allowed: colour",
    )


def test_create_accepts_unknown_top_level_fields_as_auth0_does(api):
    assert api.post("/branding/phone/providers", twilio_body(extra=1)).status_code == 201


def test_create_rejects_empty_delivery_methods(api):
    body = twilio_body()
    body["configuration"]["delivery_methods"] = []
    assert_error(api.post("/branding/phone/providers", body), 400, contains="delivery_methods")


def test_create_custom_without_deployed_action_has_auth0_error_code(api):
    response = api.post(
        "/branding/phone/providers",
        {
            "name": "custom",
            "credentials": {},
            "configuration": {"delivery_methods": ["text"]},
        },
    )
    assert_error(response, 400, error_code="custom_email_provider_deployed_action_not_found")


def test_create_custom_with_deployed_action(custom_provider):
    assert custom_provider["name"] == "custom"
    assert custom_provider["configuration"] == {"delivery_methods": ["text"]}


def test_list_filters_by_disabled(api, twilio_provider):
    assert (
        len(api.get("/branding/phone/providers", query={"disabled": "false"}).json()["providers"])
        == 1
    )
    assert api.get("/branding/phone/providers", query={"disabled": "true"}).json() == {
        "providers": []
    }
    assert_error(
        api.get("/branding/phone/providers", query={"disabled": "maybe"}),
        400,
        error_code="invalid_query_string",
    )


def test_get_by_id_and_unknown_id(api, twilio_provider):
    response = api.get(f"/branding/phone/providers/{twilio_provider['id']}")
    assert response.status_code == 200
    assert response.json() == twilio_provider
    assert_error(api.get("/branding/phone/providers/pro_doesnotexist"), 404)


def test_patch_replaces_configuration_whole(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.patch(
        path,
        {
            "configuration": {
                "sid": TWILIO_SID,
                "mssid": TWILIO_MSSID,
                "delivery_methods": ["voice"],
            }
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["configuration"] == {
        "sid": TWILIO_SID,
        "mssid": TWILIO_MSSID,
        "delivery_methods": ["voice"],
    }
    # The stored token survives a patch that does not mention credentials.
    assert PhoneProvider.objects.get().twilio_auth_token == "tw-auth-token"


def test_patch_disabled_only(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.patch(path, {"disabled": True})
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    assert response.json()["configuration"] == twilio_provider["configuration"]


def test_patch_needs_at_least_one_field(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    assert_error(api.patch(path, {}), 400, contains="Too few properties")


def test_patch_rejects_unknown_fields(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    assert_error(
        api.patch(path, {"disabled": True, "colour": "blue"}),
        400,
        contains="Additional properties not allowed: colour",
    )


def test_patch_to_custom_without_deployed_action(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.patch(path, {"name": "custom", "configuration": {"delivery_methods": ["text"]}})
    assert_error(response, 400, error_code="custom_email_provider_deployed_action_not_found")


def test_patch_to_custom_with_deployed_action(api, twilio_provider, deployed_action):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.patch(path, {"name": "custom", "configuration": {"delivery_methods": ["text"]}})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "custom"
    assert response.json()["configuration"] == {"delivery_methods": ["text"]}


def test_patch_unknown_id_is_404(api):
    assert_error(api.patch("/branding/phone/providers/pro_x", {"disabled": True}), 404)


def test_delete_then_404(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.delete(path), 404)
    assert_error(api.get(path), 404)
    assert AuditEntry.objects.filter(verb="delete", actor="ci-robot").exists()


def test_try_queues_a_test_message(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}/try"
    response = api.post(path, {"to": "+14155550199", "delivery_method": "voice"})
    assert response.status_code == 202
    body = response.json()
    assert body["code"] == 202 and set(body) == {"code", "message"}
    message = PhoneMessage.objects.get()
    assert message.is_test and message.recipient == "+14155550199"
    assert message.delivery_method == "voice"
    assert message.public_id in body["message"]


def test_try_validates_the_body(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}/try"
    assert_error(api.post(path, {}), 400, contains="Missing required property: to")
    assert_error(api.post(path, {"to": "+1" + "5" * 20}), 400, contains="too long")
    # As Auth0: any `to` is taken (202); one that is not E.164 is a failed test message.
    not_e164 = api.post(path, {"to": "12345"})
    assert not_e164.status_code == 202 and "E.164" in not_e164.json()["message"]
    assert_error(
        api.post(path, {"to": "+14155550199", "extra": 1}), 400, contains="Additional properties"
    )


def test_try_unknown_provider_is_404(api):
    assert_error(api.post("/branding/phone/providers/pro_x/try", {"to": "+14155550199"}), 404)


def test_try_needs_create_scope(api_as, twilio_provider):
    api = api_as("read:phone_providers update:phone_providers")
    path = f"/branding/phone/providers/{twilio_provider['id']}/try"
    assert_error(
        api.post(path, {"to": "+14155550199"}),
        403,
        message="Insufficient scope, expected any of: create:phone_providers",
    )


def test_create_twilio_needs_sid(api):
    body = twilio_body(configuration={"default_from": "+14155550100", "delivery_methods": ["text"]})
    assert_error(
        api.post("/branding/phone/providers", body),
        400,
        contains="Missing required property: sid",
        error_code="invalid_body",
    )


def test_create_twilio_keeps_both_from_and_mssid_as_auth0_does(api):
    body = twilio_body(
        configuration={
            "sid": TWILIO_SID,
            "default_from": "+14155550100",
            "mssid": TWILIO_MSSID,
            "delivery_methods": ["text"],
        }
    )
    response = api.post("/branding/phone/providers", body)
    assert response.status_code == 201, response.content
    assert response.json()["configuration"]["mssid"] == TWILIO_MSSID
    assert response.json()["configuration"]["default_from"] == "+14155550100"


def test_create_twilio_form_encoded(api):
    body = (
        "name=twilio&credentials[auth_token]=tw-form-token"
        f"&configuration[sid]={TWILIO_SID}&configuration[default_from]=%2B14155550100"
        "&configuration[delivery_methods][0]=text&disabled=true"
    )
    response = api.post(
        "/branding/phone/providers", raw=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    assert response.json()["disabled"] is True
    assert response.json()["configuration"]["delivery_methods"] == ["text"]
    assert PhoneProvider.objects.get().twilio_auth_token == "tw-form-token"


def test_patch_credentials_replaces_the_stored_token(api, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    response = api.patch(path, {"credentials": {"auth_token": "rotated"}})
    assert response.status_code == 200, response.content
    assert "rotated" not in response.content.decode()
    assert PhoneProvider.objects.get().twilio_auth_token == "rotated"


def test_patch_twilio_configuration_must_be_whole(api, twilio_provider):
    # Replaced whole, so a partial configuration is refused rather than merged.
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    assert_error(
        api.patch(path, {"configuration": {"delivery_methods": ["voice"]}}),
        400,
        contains="Missing required property: sid",
    )
    assert api.get(path).json()["configuration"] == twilio_provider["configuration"]


def test_provider_scopes(api_as, twilio_provider):
    path = f"/branding/phone/providers/{twilio_provider['id']}"
    reader = api_as("read:phone_providers")
    assert reader.get(path).status_code == 200
    for response, scope in (
        (reader.patch(path, {"disabled": True}), "update:phone_providers"),
        (reader.delete(path), "delete:phone_providers"),
        (api_as("create:phone_providers").get(path), "read:phone_providers"),
    ):
        assert_error(response, 403, message=f"Insufficient scope, expected any of: {scope}")
