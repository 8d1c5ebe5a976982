"""/branding/phone/templates: defaults in the list, create, get, patch, delete, reset, try."""

import pytest

from phoneprovider.models import AuditEntry, PhoneMessage
from phoneprovider.providers.templates import DEFAULT_BODIES
from tests.api.conftest import assert_error, twilio_provider_body

pytestmark = pytest.mark.django_db

TYPES = ["otp_verify", "otp_enroll", "change_password", "blocked_account", "password_breach"]


@pytest.fixture
def template(api):
    response = api.post(
        "/branding/phone/templates",
        {
            "type": "otp_verify",
            "content": {
                "from": "+14155550100",
                "body": {"text": "Code {{ code }}", "voice": "Your code is {{ code }}"},
            },
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_list_shows_every_type_with_defaults_and_no_id(api, settings):
    response = api.get("/branding/phone/templates")
    assert response.status_code == 200
    templates = response.json()["templates"]
    assert [t["type"] for t in templates] == TYPES
    for item in templates:
        assert "id" not in item
        assert item["channel"] == "phone" and item["customizable"] is True
        assert item["tenant"] == settings.TENANT_NAME and item["disabled"] is False
        assert item["content"] == {
            "syntax": "liquid",
            "body": {
                "text": DEFAULT_BODIES[item["type"]]["text"],
                "voice": DEFAULT_BODIES[item["type"]]["voice"],
            },
        }


def test_create_then_list_shows_it_with_id(api, template):
    assert template["id"].startswith("tem_")
    assert template["content"] == {
        "syntax": "liquid",
        "from": "+14155550100",
        "body": {"text": "Code {{ code }}", "voice": "Your code is {{ code }}"},
    }
    listed = api.get("/branding/phone/templates").json()["templates"]
    assert listed[0] == template
    assert "id" not in listed[1]
    assert AuditEntry.objects.get(object_type="phone_template").actor == "ci-robot"


def test_create_without_body_starts_from_defaults(api):
    response = api.post("/branding/phone/templates", {"type": "otp_enroll", "disabled": True})
    assert response.status_code == 201
    assert response.json()["content"]["body"] == DEFAULT_BODIES["otp_enroll"]
    assert response.json()["disabled"] is True


def test_second_template_of_a_type_is_409(api, template):
    assert_error(api.post("/branding/phone/templates", {"type": "otp_verify"}), 409)


def test_create_validates(api):
    assert_error(api.post("/branding/phone/templates", {}), 400, contains="type")
    assert_error(
        api.post("/branding/phone/templates", {"type": "welcome"}), 400, contains="No enum match"
    )
    assert_error(
        api.post("/branding/phone/templates", {"type": "otp_verify", "x": 1}),
        400,
        contains="Additional properties not allowed: x",
    )
    body = {"type": "otp_verify", "content": {"body": {"text": "a" * 20001}}}
    assert_error(api.post("/branding/phone/templates", body), 400, contains="too long")


def test_create_rejects_invalid_liquid_with_line(api):
    body = {"type": "otp_verify", "content": {"body": {"text": "Hi\nthere\n{% nosuchtag %}"}}}
    error = assert_error(api.post("/branding/phone/templates", body), 400)
    assert "Liquid" in error["message"] and "line 3" in error["message"]


def test_list_filter_disabled(api, template):
    api.patch(f"/branding/phone/templates/{template['id']}", {"disabled": True})
    disabled = api.get("/branding/phone/templates", query={"disabled": "true"}).json()
    assert [t["type"] for t in disabled["templates"]] == ["otp_verify"]


def test_get_and_unknown(api, template):
    assert api.get(f"/branding/phone/templates/{template['id']}").json() == template
    assert_error(api.get("/branding/phone/templates/tem_missing"), 404)


def test_patch_body_from_and_disabled(api, template):
    path = f"/branding/phone/templates/{template['id']}"
    response = api.patch(path, {"content": {"body": {"text": "New {{ code }}"}}})
    assert response.status_code == 200
    body = response.json()["content"]["body"]
    assert body == {"text": "New {{ code }}", "voice": "Your code is {{ code }}"}
    response = api.patch(path, {"content": {"from": "ACME"}, "disabled": True})
    assert response.json()["content"]["from"] == "ACME"
    assert response.json()["disabled"] is True


def test_patch_errors(api, template):
    path = f"/branding/phone/templates/{template['id']}"
    assert_error(api.patch(path, {"type": "otp_enroll"}), 400, contains="Additional properties")
    assert_error(
        api.patch(path, {"content": {"syntax": "liquid"}}),
        400,
        contains="Additional properties not allowed: syntax",
    )
    assert_error(
        api.patch(path, {"content": {"body": {"voice": "{{ code"}}}), 400, contains="Liquid"
    )
    assert_error(api.patch("/branding/phone/templates/tem_x", {"disabled": True}), 404)


def test_empty_patch_changes_nothing_as_auth0_schema_allows(api, template):
    # Auth0's template patch, unlike its provider patch, has no minProperties.
    response = api.patch(f"/branding/phone/templates/{template['id']}", {})
    assert response.status_code == 200, response.content
    assert response.json() == template


def test_patch_form_encoded(api, template):
    response = api.patch(
        f"/branding/phone/templates/{template['id']}",
        raw="disabled=true&content[body][text]=Form+{{ code }}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    assert response.json()["disabled"] is True
    assert response.json()["content"]["body"]["text"] == "Form {{ code }}"


def test_reset_restores_defaults_and_keeps_from(api, template):
    path = f"/branding/phone/templates/{template['id']}"
    api.patch(path, {"disabled": True})
    response = api.patch(f"{path}/reset", {})
    assert response.status_code == 200
    body = response.json()
    assert body["content"]["body"] == DEFAULT_BODIES["otp_verify"]
    assert body["content"]["from"] == "+14155550100"
    assert body["disabled"] is True
    assert api.get(path).json() == body
    assert AuditEntry.objects.filter(verb="reset", actor="ci-robot").exists()
    assert_error(api.patch("/branding/phone/templates/tem_x/reset", {}), 404)


def test_reset_ignores_whatever_body_is_sent(api, template):
    # Auth0's reset body schema is empty ({}): anything is accepted and ignored.
    response = api.patch(f"/branding/phone/templates/{template['id']}/reset", {"x": 1})
    assert response.status_code == 200, response.content
    assert response.json()["content"]["body"] == DEFAULT_BODIES["otp_verify"]


def test_delete_then_default_again(api, template):
    path = f"/branding/phone/templates/{template['id']}"
    assert api.delete(path).status_code == 204
    assert_error(api.delete(path), 404)
    assert "id" not in api.get("/branding/phone/templates").json()["templates"][0]


def test_try_queues_a_message_rendered_with_the_template(api, template):
    api.post(
        "/branding/phone/providers",
        twilio_provider_body(),
    )
    response = api.post(f"/branding/phone/templates/{template['id']}/try", {"to": "+14155550199"})
    assert response.status_code == 202, response.content
    assert "message" in response.json()
    message = PhoneMessage.objects.get()
    assert message.is_test and message.as_text == "Code 123456"


def test_try_without_provider_is_400(api, template):
    assert_error(
        api.post(f"/branding/phone/templates/{template['id']}/try", {"to": "+14155550199"}),
        400,
        contains="provider",
    )


def test_try_unknown_template_is_404(api):
    assert_error(api.post("/branding/phone/templates/tem_x/try", {"to": "+14155550199"}), 404)


def test_scopes(api_as, template):
    reader = api_as("read:phone_templates")
    assert reader.get("/branding/phone/templates").status_code == 200
    assert_error(
        reader.patch(f"/branding/phone/templates/{template['id']}", {"disabled": True}),
        403,
        contains="update:phone_templates",
    )
    assert_error(
        reader.delete(f"/branding/phone/templates/{template['id']}"),
        403,
        contains="delete:phone_templates",
    )
