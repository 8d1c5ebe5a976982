"""Auth0's documented request/response examples for the phone and Actions endpoints, replayed.

The requests are written from the Management API documentation (endpoint pages and schemas);
each answer is checked for Auth0's status, the set of fields Auth0 documents, and its error body
``{statusCode, error, message, errorCode?}``. Fields we add beyond Auth0's are listed in the
README; none of them appear here unless Auth0 documents them too.
"""

import pytest

from phoneprovider.models import MessageType
from tests.api.conftest import PROVIDER_FIELDS, TIMESTAMP, TRIGGER, TWILIO_SID, Api, assert_error

pytestmark = pytest.mark.django_db

TEMPLATE_FIELDS = {
    "id",
    "channel",
    "customizable",
    "tenant",
    "type",
    "disabled",
    "content",
    "created_at",
    "updated_at",
}
ACTION_FIELDS = {
    "id",
    "name",
    "supported_triggers",
    "all_changes_deployed",
    "created_at",
    "updated_at",
    "code",
    "dependencies",
    "runtime",
    "secrets",
    "status",
    "built_at",
}
VERSION_FIELDS = {
    "id",
    "action_id",
    "code",
    "dependencies",
    "deployed",
    "runtime",
    "secrets",
    "status",
    "number",
    "errors",
    "action",
    "built_at",
    "created_at",
    "updated_at",
    "supported_triggers",
}
HANDLER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  console.log(`sending ${event.notification.message_type} to ${event.notification.recipient}`);
};
"""
HANDLER_V2 = HANDLER.replace("sending", "delivering")


# --- Phone providers ----------------------------------------------------------------------------


def test_twilio_provider_create_read_update_delete(api, settings):
    # POST /branding/phone/providers — the documented Twilio example body.
    created = api.post(
        "/branding/phone/providers",
        {
            "name": "twilio",
            "disabled": False,
            "configuration": {
                "sid": TWILIO_SID,
                "default_from": "+1234567890",
                "delivery_methods": ["text", "voice"],
            },
            "credentials": {"auth_token": "auth-token"},
        },
    )
    assert created.status_code == 201, created.content
    provider = created.json()
    assert set(provider) == PROVIDER_FIELDS
    assert provider["channel"] == "phone" and provider["tenant"] == settings.TENANT_NAME
    assert TIMESTAMP.match(provider["created_at"]) and TIMESTAMP.match(provider["updated_at"])
    path = f"/branding/phone/providers/{provider['id']}"

    listed = api.get("/branding/phone/providers")
    assert listed.status_code == 200 and listed.json() == {"providers": [provider]}
    assert api.get("/branding/phone/providers", query={"disabled": "true"}).json() == {
        "providers": []
    }
    read = api.get(path)
    assert read.status_code == 200 and read.json() == provider

    # PATCH: any subset; configuration replaced as a whole.
    patched = api.patch(
        path,
        {
            "disabled": True,
            "configuration": {"sid": "sid1", "mssid": "mssid1", "delivery_methods": ["text"]},
        },
    )
    assert patched.status_code == 200, patched.content
    assert set(patched.json()) == PROVIDER_FIELDS
    assert patched.json()["configuration"] == {
        "sid": "sid1",
        "mssid": "mssid1",
        "delivery_methods": ["text"],
    }
    assert patched.json()["disabled"] is True

    assert_error(api.patch(path, {}), 400)  # at least one field
    assert_error(
        api.post(
            "/branding/phone/providers",
            {"name": "twilio", "credentials": {"auth_token": "x"}},
        ),
        409,
    )

    deleted = api.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(api.delete(path), 404)
    assert_error(api.get(path), 404)
    assert api.get("/branding/phone/providers").json() == {"providers": []}


def test_switch_between_twilio_and_custom(api):
    twilio = api.post(
        "/branding/phone/providers",
        {
            "name": "twilio",
            "configuration": {
                "sid": "sid1",
                "default_from": "+1234567890",
                "delivery_methods": ["text"],
            },
            "credentials": {"auth_token": "auth-token"},
        },
    ).json()
    path = f"/branding/phone/providers/{twilio['id']}"

    # No deployed custom-phone-provider Action yet: Auth0's error code, email spelling included.
    assert_error(
        api.patch(path, {"name": "custom", "configuration": {"delivery_methods": ["text"]}}),
        400,
        error_code="custom_email_provider_deployed_action_not_found",
    )
    action = api.post(
        "/actions/actions",
        {"name": "gateway", "supported_triggers": TRIGGER, "code": HANDLER, "deploy": True},
    )
    assert action.status_code == 201, action.content

    to_custom = api.patch(
        path,
        {
            "name": "custom",
            "configuration": {"delivery_methods": ["text", "voice"]},
            "credentials": {},
        },
    )
    assert to_custom.status_code == 200, to_custom.content
    assert to_custom.json()["name"] == "custom"
    assert to_custom.json()["configuration"] == {"delivery_methods": ["text", "voice"]}

    back = api.patch(
        path,
        {
            "name": "twilio",
            "configuration": {
                "sid": TWILIO_SID,
                "default_from": "+14155550100",
                "delivery_methods": ["voice"],
            },
        },
    )
    assert back.status_code == 200, back.content  # the stored auth token is kept
    assert back.json()["configuration"]["sid"] == TWILIO_SID


def test_provider_errors_use_auth0s_body(api, api_as):
    assert_error(api.get("/branding/phone/providers/pro_doesnotexist0000000000"), 404)
    assert_error(
        api.post("/branding/phone/providers", {"name": "twilio"}), 400, contains="credentials"
    )
    assert_error(
        api.post("/branding/phone/providers", {"name": "sns", "credentials": {}}),
        400,
        contains="No enum match",
    )
    assert_error(
        api_as(["read:phone_providers"]).delete("/branding/phone/providers/pro_x"),
        403,
        message="Insufficient scope, expected any of: delete:phone_providers",
    )
    assert_error(Api(None).get("/branding/phone/providers"), 401)
    assert_error(Api("not-a-token").get("/branding/phone/providers"), 401)


# --- Phone templates ----------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", MessageType.values)
def test_every_template_type_create_read_update_reset_delete(api, message_type, settings):
    listed = api.get("/branding/phone/templates").json()["templates"]
    default = next(t for t in listed if t["type"] == message_type)
    assert "id" not in default and default["content"]["syntax"] == "liquid"

    created = api.post(
        "/branding/phone/templates",
        {
            "type": message_type,
            "disabled": False,
            "content": {
                "syntax": "liquid",
                "from": "+1234567890",
                "body": {"text": "Your code is {{ code }}", "voice": "Your code is {{ code }}"},
            },
        },
    )
    assert created.status_code == 201, created.content
    template = created.json()
    assert set(template) == TEMPLATE_FIELDS
    assert template["id"].startswith("tem_") and template["tenant"] == settings.TENANT_NAME
    assert template["content"] == {
        "syntax": "liquid",
        "from": "+1234567890",
        "body": {"text": "Your code is {{ code }}", "voice": "Your code is {{ code }}"},
    }
    path = f"/branding/phone/templates/{template['id']}"
    assert api.get(path).json() == template
    assert_error(api.post("/branding/phone/templates", {"type": message_type}), 409)

    patched = api.patch(path, {"content": {"body": {"text": "Code: {{ code }}"}}, "disabled": True})
    assert patched.status_code == 200
    assert patched.json()["content"]["body"]["text"] == "Code: {{ code }}"
    assert patched.json()["content"]["body"]["voice"] == "Your code is {{ code }}"

    reset = api.patch(f"{path}/reset", {})
    assert reset.status_code == 200
    assert reset.json()["content"]["body"] == default["content"]["body"]
    assert reset.json()["content"]["from"] == "+1234567890"

    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404)


def test_template_try_and_errors(api):
    template = api.post("/branding/phone/templates", {"type": "otp_verify"}).json()
    assert_error(
        api.post(f"/branding/phone/templates/{template['id']}/try", {}),
        400,
        contains="Missing required property: to",
    )
    assert_error(
        api.post("/branding/phone/templates", {"type": "welcome"}), 400, contains="No enum match"
    )
    assert_error(
        api.patch(
            f"/branding/phone/templates/{template['id']}", {"content": {"from": "+" + "1" * 20}}
        ),
        400,
    )


# --- Actions ------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_action_create_deploy_bind_test_and_roll_back(api, celery_worker):
    """The test run goes through a real worker process, as Auth0's runs in its own runtime."""
    created = api.post(
        "/actions/actions",
        {
            "name": "my-action",
            "supported_triggers": TRIGGER,
            "code": HANDLER,
            "runtime": "node22",
            "dependencies": [],
            "secrets": [{"name": "mySecret", "value": "mySecretValue"}],
        },
    )
    assert created.status_code == 201, created.content
    action = created.json()
    assert set(action) == ACTION_FIELDS
    assert action["supported_triggers"] == TRIGGER
    assert action["secrets"][0]["name"] == "mySecret" and "value" not in action["secrets"][0]
    assert "mySecretValue" not in created.content.decode()
    path = f"/actions/actions/{action['id']}"

    listed = api.get("/actions/actions", query={"triggerId": "custom-phone-provider"}).json()
    assert set(listed) == {"total", "page", "per_page", "actions"}
    assert listed["total"] == 1 and listed["page"] == 0 and listed["per_page"] == 20

    # Deploy → version 1, deployed; the Action now carries deployed_version and current_version.
    first = api.post(f"{path}/deploy")
    assert first.status_code == 200, first.content
    assert set(first.json()) == VERSION_FIELDS
    assert first.json()["number"] == 1 and first.json()["deployed"] is True
    assert first.json()["status"] == "built"
    deployed = api.get(path).json()
    assert deployed["deployed_version"]["id"] == first.json()["id"]
    assert deployed["current_version"]["number"] == 1
    assert deployed["all_changes_deployed"] is True

    # Bound to its trigger once deployed.
    bindings = api.get("/actions/triggers/custom-phone-provider/bindings").json()
    assert bindings["total"] == 1
    assert set(bindings["bindings"][0]) == {
        "id",
        "trigger_id",
        "display_name",
        "action",
        "created_at",
        "updated_at",
    }
    bound = api.patch(
        "/actions/triggers/custom-phone-provider/bindings",
        {
            "bindings": [
                {"ref": {"type": "action_id", "value": action["id"]}, "display_name": "my-action"}
            ]
        },
    )
    assert bound.status_code == 200 and bound.json()["bindings"][0]["action"]["id"] == action["id"]

    # Test runs the draft with the given event.
    tested = api.post(
        f"{path}/test",
        {
            "payload": {
                "event": {
                    "notification": {
                        "message_type": "otp_verify",
                        "delivery_method": "text",
                        "recipient": "+14155550100",
                        "as_text": "123456",
                    }
                }
            }
        },
    )
    assert tested.status_code == 200, tested.content
    payload = tested.json()["payload"]
    assert "stats" in payload and "error" not in payload
    assert "sending otp_verify to +14155550100" in payload["logs"]

    # A second version, then roll back to the first: a new deployed copy of version 1.
    assert api.patch(path, {"code": HANDLER_V2}).json()["all_changes_deployed"] is False
    second = api.post(f"{path}/deploy").json()
    assert second["number"] == 2 and second["code"] == HANDLER_V2
    versions = api.get(f"{path}/versions").json()
    assert set(versions) == {"total", "page", "per_page", "versions"}
    assert [v["number"] for v in versions["versions"]] == [2, 1]
    one = api.get(f"{path}/versions/{first.json()['id']}")
    assert one.status_code == 200 and set(one.json()) == VERSION_FIELDS

    rollback = api.post(f"{path}/versions/{first.json()['id']}/deploy")
    assert rollback.status_code == 200, rollback.content
    assert rollback.json()["number"] == 3 and rollback.json()["code"] == HANDLER
    assert api.get(path).json()["deployed_version"]["number"] == 3

    # ?force=true unbinds first, then deletes.
    assert api.delete(path, query={"force": "true"}).status_code == 204
    assert_error(api.get(path), 404)
    assert api.get("/actions/triggers/custom-phone-provider/bindings").json()["total"] == 0


def test_action_errors_use_auth0s_body(api):
    assert_error(api.get("/actions/actions/00000000-0000-0000-0000-000000000000"), 404)
    assert_error(
        api.post("/actions/actions", {"name": "x"}),
        400,
        contains="Missing required property: supported_triggers",
    )
    api.post("/actions/actions", {"name": "one", "supported_triggers": TRIGGER, "code": HANDLER})
    assert_error(
        api.post(
            "/actions/actions", {"name": "two", "supported_triggers": TRIGGER, "code": HANDLER}
        ),
        409,
    )
