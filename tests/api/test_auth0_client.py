"""Auth0's own Python SDK (auth0-python, a test-only dependency) drives the documented setup
sequence against a live server: create an Action, deploy it, set the provider to custom, try it
(a loopback gateway receives the message), edit the template, roll back a version, delete.

``ManagementClient(domain=...)`` always builds ``https://{domain}/api/v2``; the SDK's underlying
``Auth0(base_url=..., token=...)`` client takes any base URL, which is how it reaches the
plain-HTTP loopback server here (and how users point it at their own phoneprovider).
"""

import json

import httpx
import pytest

from phoneprovider.models import AuditEntry, PhoneMessage
from tests.conftest import wait_for

management = pytest.importorskip("auth0.management")

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FORWARDER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({to: event.notification.recipient, text: event.notification.as_text,
                          version: VERSION}),
  });
};
"""


def code(version: int) -> str:
    return FORWARDER.replace("VERSION", str(version))


def test_auth0_python_sdk_runs_the_setup_sequence(
    live_server, celery_worker, gateway, make_token, request
):
    from auth0.management import (
        ActionSecretRequest,
        ActionTrigger,
        CustomProviderConfiguration,
        CustomProviderCredentials,
        PartialPhoneTemplateContent,
        PhoneTemplateBody,
        PhoneTemplateContent,
    )
    from auth0.management.client import Auth0
    from auth0.management.errors import ConflictError, NotFoundError

    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    # Our own httpx client, closed at the end: a kept-alive connection would hold the live
    # server's shutdown until it times out.
    http = httpx.Client(timeout=30)
    request.addfinalizer(http.close)
    client = Auth0(
        base_url=f"{live_server.url}/api/v2", token=make_token(name="terraform"), httpx_client=http
    )

    action = client.actions.create(
        name="gateway",
        supported_triggers=[ActionTrigger(id="custom-phone-provider", version="v1")],
        code=code(1),
        secrets=[ActionSecretRequest(name="GATEWAY_URL", value=gateway.url_for("/sms"))],
    )
    first = client.actions.deploy(action.id)
    assert first.number == 1 and first.deployed

    provider = client.branding.phone.providers.create(
        name="custom",
        credentials=CustomProviderCredentials(),
        configuration=CustomProviderConfiguration(delivery_methods=["text"]),
    )
    assert provider.id.startswith("pro_") and provider.channel == "phone"
    # The SDK retries a 409 (as it does a 429), sleeping until X-RateLimit-Reset: once is enough.
    with pytest.raises(ConflictError):
        client.branding.phone.providers.create(
            name="custom",
            credentials=CustomProviderCredentials(),
            request_options={"max_retries": 0},
        )

    template = client.branding.phone.templates.create(
        type="otp_verify",
        content=PhoneTemplateContent(body=PhoneTemplateBody(text="First {{ code }}")),
    )
    client.branding.phone.templates.update(
        template.id,
        content=PartialPhoneTemplateContent(body=PhoneTemplateBody(text="Code {{ code }}")),
    )

    client.branding.phone.providers.test(provider.id, to="+14155550199")
    received = wait_for(lambda: [json.loads(r.data) for r, _ in gateway.log], timeout=30)
    assert received[0] == {"to": "+14155550199", "text": "Code 123456", "version": 1}

    client.actions.update(action.id, code=code(2))
    second = client.actions.deploy(action.id)
    assert second.number == 2
    rolled = client.actions.versions.deploy(action.id, first.id)
    assert rolled.number == 3 and rolled.code == code(1)
    versions = list(client.actions.versions.list(action.id))
    assert [v.number for v in versions] == [3, 2, 1]
    current = client.actions.get(action.id)
    assert current.deployed_version.number == 3
    assert [s.name for s in current.secrets] == ["GATEWAY_URL"]

    reset = client.branding.phone.templates.reset(template.id, request={})
    assert "{{ code }}" in reset.content.body.text
    listed = {t.type: t.id for t in client.branding.phone.templates.list().templates}
    assert listed["otp_verify"] == template.id and listed["otp_enroll"] is None

    client.branding.phone.templates.delete(template.id)
    client.branding.phone.providers.delete(provider.id)
    client.actions.delete(action.id)
    with pytest.raises(NotFoundError) as missing:
        client.actions.get(action.id)
    assert missing.value.body["statusCode"] == 404
    assert client.branding.phone.providers.list().providers == []

    assert PhoneMessage.objects.get().is_test
    assert set(
        AuditEntry.objects.exclude(object_type="api_token").values_list("actor", flat=True)
    ) == {"terraform"}
