"""/try and /test go through a real worker process to a loopback gateway."""

import json

import pytest

from phoneprovider.models import Execution, PhoneMessage
from tests.api.conftest import Api
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FORWARDER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({
      to: event.notification.recipient,
      text: event.notification.as_text,
      method: event.notification.delivery_method,
    }),
  });
  console.log("gateway answered", response.status);
};
"""


@pytest.fixture
def custom_setup(api, gateway):
    """Through the API only: create and deploy the Action, then select the custom provider."""
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    action = api.post(
        "/actions/actions",
        {
            "name": "gateway",
            "supported_triggers": [{"id": "custom-phone-provider", "version": "v1"}],
            "code": FORWARDER,
            "secrets": [{"name": "GATEWAY_URL", "value": gateway.url_for("/sms")}],
            "deploy": True,
        },
    )
    assert action.status_code == 201, action.content
    provider = api.post(
        "/branding/phone/providers",
        {
            "name": "custom",
            "credentials": {},
            "configuration": {"delivery_methods": ["text", "voice"]},
        },
    )
    assert provider.status_code == 201, provider.content
    return action.json(), provider.json()


def _gateway_bodies(gateway) -> list[dict]:
    return [json.loads(request.data) for request, _ in gateway.log]


def _wait_for_gateway(gateway, worker) -> list[dict]:
    try:
        return wait_for(lambda: _gateway_bodies(gateway), timeout=30)
    except AssertionError:
        states = list(PhoneMessage.objects.values_list("status", "reason"))
        raise AssertionError(
            f"Nothing reached the gateway. Messages: {states}\nWorker log:\n{worker.log()[-3000:]}"
        ) from None


def test_provider_try_sends_through_the_worker(celery_worker, api: Api, gateway, custom_setup):
    _, provider = custom_setup
    response = api.post(f"/branding/phone/providers/{provider['id']}/try", {"to": "+14155550199"})
    assert response.status_code == 202, response.content

    bodies = _wait_for_gateway(gateway, celery_worker)
    assert bodies[0]["to"] == "+14155550199"
    assert bodies[0]["method"] == "text"
    assert "123456" in bodies[0]["text"]
    message = PhoneMessage.objects.get()
    wait_for(lambda: PhoneMessage.objects.get().status == "delivered", timeout=10)
    status = api.get(f"/phone/messages/{message.public_id}").json()
    assert status["status"] == "delivered"
    assert status["attempts"][0]["outcome"] == "sent"


def test_template_try_sends_the_template_through_the_worker(
    celery_worker, api: Api, gateway, custom_setup
):
    template = api.post(
        "/branding/phone/templates",
        {
            "type": "otp_enroll",
            "content": {"body": {"text": "Enroll with {{ code }}"}},
        },
    ).json()
    response = api.post(f"/branding/phone/templates/{template['id']}/try", {"to": "+14155550199"})
    assert response.status_code == 202, response.content
    bodies = _wait_for_gateway(gateway, celery_worker)
    assert bodies[0]["text"] == "Enroll with 123456"


def test_action_test_runs_the_draft_in_the_worker(celery_worker, api: Api, gateway, custom_setup):
    action, _ = custom_setup
    event = {
        "notification": {
            "recipient": "+14155550123",
            "as_text": "hello from test",
            "delivery_method": "text",
            "message_type": "otp_verify",
        }
    }
    response = api.post(f"/actions/actions/{action['id']}/test", {"payload": {"event": event}})
    assert response.status_code == 200, response.content
    payload = response.json()["payload"]
    assert "error" not in payload, payload
    assert "gateway answered 200" in payload["logs"]
    assert isinstance(payload["stats"], dict)
    assert _gateway_bodies(gateway)[0] == {
        "to": "+14155550123",
        "text": "hello from test",
        "method": "text",
    }
    execution = Execution.objects.get(kind="test")
    assert api.get(f"/actions/executions/{execution.public_id}").json()["status"] == "final"


def test_action_test_reports_a_thrown_error(celery_worker, api: Api, custom_setup):
    action, _ = custom_setup
    api.patch(
        f"/actions/actions/{action['id']}",
        {
            "code": (
                "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
                "  throw new Error('gateway down');\n};\n"
            )
        },
    )
    response = api.post(f"/actions/actions/{action['id']}/test", {"payload": {"event": {}}})
    assert response.status_code == 200, response.content
    payload = response.json()["payload"]
    assert "gateway down" in payload["error"]["msg"]
