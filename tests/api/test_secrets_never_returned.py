"""Credentials, secret values and token values never leave through the API: not in a success
body, not in an error body, not in the documents."""

import pytest

from phoneprovider.models import Action, Execution
from phoneprovider.services.tokens import token_create, token_revoke
from tests.api.conftest import HANDLER, Api, twilio_provider_body

pytestmark = pytest.mark.django_db

TWILIO_TOKEN = "tw-auth-token-VALUE-1"
SECRET = "action-secret-VALUE-2"
LATER_SECRET = "action-secret-VALUE-3"


@pytest.fixture
def configured(api):
    """Everything that holds a secret: an Action with secrets (deployed twice), a provider with
    Twilio credentials (then switched to custom, keeping them), a test execution."""
    action = api.post(
        "/actions/actions",
        {
            "name": "gateway",
            "supported_triggers": [{"id": "custom-phone-provider", "version": "v1"}],
            "code": HANDLER,
            "secrets": [{"name": "KEY", "value": SECRET}],
            "deploy": True,
        },
    ).json()
    api.patch(
        f"/actions/actions/{action['id']}",
        {"secrets": [{"name": "KEY"}, {"name": "LATER", "value": LATER_SECRET}]},
    )
    api.post(f"/actions/actions/{action['id']}/deploy")
    provider = api.post(
        "/branding/phone/providers",
        twilio_provider_body(TWILIO_TOKEN),
    ).json()
    execution = Execution.objects.create(
        action=Action.objects.get(), kind=Execution.Kind.TEST, status="delivered", event={}
    )
    return action, provider, execution


def _assert_clean(response, *extra: str):
    text = response.content.decode()
    for value in (TWILIO_TOKEN, SECRET, LATER_SECRET, *extra):
        assert value not in text, (response.request["PATH_INFO"], text[:500])


def test_no_read_returns_a_secret_or_credential(api, configured):
    action, provider, execution = configured
    versions = api.get(f"/actions/actions/{action['id']}/versions").json()["versions"]
    paths = [
        "/branding/phone/providers",
        f"/branding/phone/providers/{provider['id']}",
        "/actions/actions",
        f"/actions/actions/{action['id']}",
        f"/actions/actions/{action['id']}/versions",
        *(f"/actions/actions/{action['id']}/versions/{v['id']}" for v in versions),
        "/actions/triggers/custom-phone-provider/bindings",
        f"/actions/executions/{execution.public_id}",
        "/openapi.json",
        "/docs",
    ]
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.content)
        _assert_clean(response, api.token)
    # Secrets are listed by name and time only.
    got = api.get(f"/actions/actions/{action['id']}").json()
    assert [set(s) for s in got["secrets"]] == [{"name", "updated_at"}] * 2
    assert [set(s) for s in got["deployed_version"]["secrets"]] == [{"name", "updated_at"}] * 2
    assert "credentials" not in api.get(f"/branding/phone/providers/{provider['id']}").json()


def test_no_write_echoes_a_secret_or_credential(api, configured):
    action, provider, _ = configured
    responses = [
        api.patch(
            f"/branding/phone/providers/{provider['id']}",
            {"credentials": {"auth_token": TWILIO_TOKEN}},
        ),
        api.patch(f"/actions/actions/{action['id']}", {"secrets": [{"name": "KEY"}]}),
        api.post(f"/actions/actions/{action['id']}/deploy"),
        api.patch(
            "/actions/triggers/custom-phone-provider/bindings",
            {"bindings": [{"ref": {"type": "action_id", "value": action["id"]}}]},
        ),
    ]
    for response in responses:
        assert response.status_code == 200, response.content
        _assert_clean(response, api.token)


def test_errors_do_not_echo_secret_values(api, configured):
    action, provider, _ = configured
    path = f"/actions/actions/{action['id']}"
    long_value = SECRET * 300  # over 4096 characters
    responses = [
        api.patch(path, {"secrets": [{"name": "bad name", "value": SECRET}]}),
        api.patch(path, {"secrets": [{"name": "KEY", "value": long_value}]}),
        api.patch(
            f"/branding/phone/providers/{provider['id']}",
            {"credentials": {"auth_token": TWILIO_TOKEN, "other": TWILIO_TOKEN}},
        ),
        api.patch(
            f"/branding/phone/providers/{provider['id']}",
            {"credentials": {"auth_token": ""}, "disabled": TWILIO_TOKEN},
        ),
    ]
    for response in responses:
        assert response.status_code == 400, response.content
        _assert_clean(response)


def test_a_token_value_is_never_echoed_even_when_refused():
    revoked = token_create(actor="tests", name="old", scopes="all")
    token_revoke(revoked.token, actor="tests")
    for raw in (revoked.raw, "ppt_not-a-real-token"):
        response = Api(raw).get("/actions/actions")
        assert response.status_code == 401
        assert raw not in response.content.decode()
