"""Auth0's own Python SDK (auth0-python, a test-only dependency) drives the documented setup
sequence against a live server and a real worker process: create an Action, deploy it, test
it, set the provider to custom, edit the template, try the provider and the template (a loopback
gateway receives the messages), roll back a version, delete.

``ManagementClient(domain=...)`` always builds ``https://{domain}/api/v2``; the SDK's underlying
``Auth0(base_url=..., token=...)`` client takes any base URL, which is how it reaches the
plain-HTTP loopback server here (and how users point it at their own phoneprovider).
"""

import json

import httpx
import pytest

from phoneprovider.models import AuditEntry, Execution, PhoneMessage
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


def _bodies(gateway) -> list[dict]:
    return [json.loads(r.data) for r, _ in gateway.log]


def test_auth0_python_sdk_runs_the_setup_sequence(
    live_server, celery_worker, gateway, make_token, request, monkeypatch
):
    from auth0.management import (
        ActionBindingRef,
        ActionBindingWithRef,
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

    # Handler code runs only in the worker: in this (web) process it would blow up.
    def not_here(**kwargs):
        raise AssertionError("handler code ran in the web process")

    monkeypatch.setattr("phoneprovider.providers.custom.run", not_here)
    ran_before = celery_worker.log().count("phoneprovider.run_execution")
    delivered_before = celery_worker.log().count("phoneprovider.deliver_due")

    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    # Our own httpx client, closed at the end: a kept-alive connection would hold the live
    # server's shutdown until it times out.
    http = httpx.Client(timeout=30)
    request.addfinalizer(http.close)
    client = Auth0(
        base_url=f"{live_server.url}/api/v2", token=make_token(name="terraform"), httpx_client=http
    )

    # 1. Create the Action for the trigger and deploy it.
    action = client.actions.create(
        name="gateway",
        supported_triggers=[ActionTrigger(id="custom-phone-provider", version="v1")],
        code=code(1),
        secrets=[ActionSecretRequest(name="GATEWAY_URL", value=gateway.url_for("/sms"))],
    )
    assert action.status == "built" and action.all_changes_deployed is False
    first = client.actions.deploy(action.id)
    assert first.number == 1 and first.deployed
    listed = list(client.actions.list(trigger_id="custom-phone-provider", deployed=True))
    assert [a.id for a in listed] == [action.id]
    triggers = {t.id: t.version for t in client.actions.triggers.list().triggers}
    assert triggers["custom-phone-provider"] == "v1"
    bindings = list(client.actions.triggers.bindings.list("custom-phone-provider"))
    assert [b.action.id for b in bindings] == [action.id]
    client.actions.triggers.bindings.update_many(
        "custom-phone-provider",
        bindings=[ActionBindingWithRef(ref=ActionBindingRef(type="action_id", value=action.id))],
    )

    # 2. Test the draft with an event: it runs in the worker, logs and stats come back.
    tested = client.actions.test(
        action.id,
        payload={
            "event": {
                "notification": {
                    "recipient": "+14155550123",
                    "as_text": "from the test panel",
                    "delivery_method": "text",
                    "message_type": "otp_verify",
                }
            }
        },
    )
    assert "error" not in tested.payload and isinstance(tested.payload["stats"], dict)
    assert _bodies(gateway) == [{"to": "+14155550123", "text": "from the test panel", "version": 1}]
    execution = client.actions.executions.get(Execution.objects.get().public_id)
    assert execution.status == "final" and execution.results[0].action_name == "gateway"
    gateway.clear()
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})

    # 3. Select the custom provider (a second one is a conflict).
    provider = client.branding.phone.providers.create(
        name="custom",
        credentials=CustomProviderCredentials(),
        configuration=CustomProviderConfiguration(delivery_methods=["text"]),
    )
    assert provider.id.startswith("pro_") and provider.channel == "phone"
    # The SDK retries a 409 (as it does a 429), sleeping until X-RateLimit-Reset: once is enough.
    with pytest.raises(ConflictError) as conflict:
        client.branding.phone.providers.create(
            name="custom",
            credentials=CustomProviderCredentials(),
            request_options={"max_retries": 0},
        )
    assert conflict.value.body["statusCode"] == 409
    updated = client.branding.phone.providers.update(
        provider.id, configuration=CustomProviderConfiguration(delivery_methods=["text", "voice"])
    )
    assert updated.configuration.delivery_methods == ["text", "voice"]
    assert client.branding.phone.providers.get(provider.id).id == provider.id

    # 4. Edit the template, then try the provider and the template: the gateway gets both.
    template = client.branding.phone.templates.create(
        type="otp_verify",
        content=PhoneTemplateContent(body=PhoneTemplateBody(text="First {{ code }}")),
    )
    client.branding.phone.templates.update(
        template.id,
        content=PartialPhoneTemplateContent(body=PhoneTemplateBody(text="Code {{ code }}")),
    )
    assert client.branding.phone.templates.get(template.id).content.body.text == "Code {{ code }}"

    client.branding.phone.providers.test(provider.id, to="+14155550199")
    received = wait_for(lambda: _bodies(gateway), timeout=30)
    assert received[0] == {"to": "+14155550199", "text": "Code 123456", "version": 1}
    client.branding.phone.templates.test(template.id, to="+14155550198")
    received = wait_for(lambda: _bodies(gateway)[1:], timeout=30)
    assert received[0] == {"to": "+14155550198", "text": "Code 123456", "version": 1}

    # 5. A new version, then roll back to the first.
    client.actions.update(action.id, code=code(2))
    second = client.actions.deploy(action.id)
    assert second.number == 2
    rolled = client.actions.versions.deploy(action.id, first.id)
    assert rolled.number == 3 and rolled.code == code(1)
    versions = list(client.actions.versions.list(action.id))
    assert [v.number for v in versions] == [3, 2, 1]
    assert client.actions.versions.get(action.id, second.id).code == code(2)
    current = client.actions.get(action.id)
    assert current.deployed_version.number == 3
    assert [s.name for s in current.secrets] == ["GATEWAY_URL"]

    reset = client.branding.phone.templates.reset(template.id, request={})
    assert "{{ code }}" in reset.content.body.text
    listed = {t.type: t.id for t in client.branding.phone.templates.list().templates}
    assert listed["otp_verify"] == template.id and listed["otp_enroll"] is None

    # 6. Delete everything.
    client.branding.phone.templates.delete(template.id)
    client.branding.phone.providers.delete(provider.id)
    client.actions.delete(action.id)
    with pytest.raises(NotFoundError) as missing:
        client.actions.get(action.id)
    assert missing.value.body["statusCode"] == 404
    assert client.branding.phone.providers.list().providers == []

    assert PhoneMessage.objects.filter(is_test=True).count() == 2
    # The worker, not this process, ran the test and delivered both messages.
    assert celery_worker.log().count("phoneprovider.run_execution") > ran_before
    assert celery_worker.log().count("phoneprovider.deliver_due") > delivered_before
    assert set(
        AuditEntry.objects.exclude(object_type="api_token").values_list("actor", flat=True)
    ) == {"terraform"}
