"""/try and /test go through a real worker process to a loopback gateway."""

import json

import pytest

from phoneprovider.models import Execution, PhoneMessage
from tests.api_client import Api, action_deployed, custom_provider_select
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
    action = action_deployed(api, FORWARDER, secrets={"GATEWAY_URL": gateway.url_for("/sms")})
    return action, custom_provider_select(api, ["text", "voice"])


@pytest.fixture
def not_in_web_process(monkeypatch):
    """Handler code never runs in the web (test) process: if it did, this would raise there."""

    def refuse(**kwargs):
        raise AssertionError("handler code ran in the web process")

    monkeypatch.setattr("phoneprovider.providers.custom.run", refuse)


def _task_count(worker, name: str) -> int:
    return worker.log().count(f"Task phoneprovider.{name}[")


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


def test_provider_try_sends_through_the_worker(
    celery_worker, api: Api, gateway, custom_setup, not_in_web_process
):
    _, provider = custom_setup
    before = _task_count(celery_worker, "deliver_due")
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
    assert _task_count(celery_worker, "deliver_due") > before


def test_template_try_sends_the_template_through_the_worker(
    celery_worker, api: Api, gateway, custom_setup, not_in_web_process
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


def test_action_test_runs_the_draft_in_the_worker(
    celery_worker, api: Api, gateway, custom_setup, not_in_web_process
):
    action, _ = custom_setup
    before = _task_count(celery_worker, "run_execution")
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
    assert _task_count(celery_worker, "run_execution") > before


def test_action_test_runs_the_draft_not_the_deployed_version(
    celery_worker, api: Api, custom_setup, not_in_web_process
):
    action, _ = custom_setup
    api.patch(
        f"/actions/actions/{action['id']}",
        {
            "code": (
                "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
                "  console.log('draft', event.notification.code);\n"
                "  api.notification.drop('not today');\n};\n"
            )
        },
    )
    event = {"notification": {"code": "424242"}}
    response = api.post(f"/actions/actions/{action['id']}/test", {"payload": {"event": event}})
    assert response.status_code == 200, response.content
    payload = response.json()["payload"]
    assert payload["logs"] == "draft 424242"
    assert payload["status"] == "drop" and payload["reason"] == "not today"


def test_action_test_logs_never_show_a_secret_value(
    celery_worker, api: Api, gateway, custom_setup, not_in_web_process
):
    action, _ = custom_setup
    api.patch(
        f"/actions/actions/{action['id']}",
        {
            "code": (
                "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
                "  console.log('url is', event.secrets.GATEWAY_URL);\n"
                "  throw new Error('failed calling ' + event.secrets.GATEWAY_URL);\n};\n"
            )
        },
    )
    response = api.post(f"/actions/actions/{action['id']}/test", {"payload": {"event": {}}})
    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert gateway.url_for("/sms") not in text
    payload = response.json()["payload"]
    assert "[redacted]" in payload["logs"] and "[redacted]" in payload["error"]["msg"]


def test_action_test_reports_a_thrown_error(
    celery_worker, api: Api, custom_setup, not_in_web_process
):
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
