"""Auth0's legacy send-phone-message trigger: a deployed onExecuteSendPhoneMessage Action delivers
when no custom-phone-provider Action is deployed, with ``event.message_options``; the test
endpoint passes ``message_options`` through. Everything goes to a loopback gateway."""

import json

import pytest

from phoneprovider.models import PhoneMessage
from tests.api_client import Api, action_deployed, custom_provider_select
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEGACY = """
exports.onExecuteSendPhoneMessage = async (event, api) => {
  const o = event.message_options;
  await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({ to: o.recipient, text: o.text, code: o.code, type: o.message_type,
      action: o.action }),
  });
  console.log("legacy", JSON.stringify(o));
};
"""


@pytest.fixture
def legacy_setup(api, gateway):
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    action = action_deployed(
        api,
        LEGACY,
        name="legacy",
        supported_triggers=[{"id": "send-phone-message", "version": "v2"}],
        secrets={"GATEWAY_URL": gateway.url_for("/sms")},
    )
    custom_provider_select(api)
    return action


def test_a_legacy_action_delivers_through_the_messages_api(
    celery_worker, api: Api, gateway, legacy_setup
):
    response = api.post(
        "/phone/messages",
        {
            "to": "+14155550199",
            "message_type": "otp_enroll",
            "delivery_method": "text",
            "code": "424242",
        },
    )
    assert response.status_code in (201, 202), response.content
    bodies = wait_for(lambda: [json.loads(r.data) for r, _ in gateway.log], timeout=30)
    assert bodies[0]["to"] == "+14155550199"
    assert bodies[0]["code"] == "424242"
    assert bodies[0]["type"] == "sms"
    assert bodies[0]["action"] == "enrollment"
    assert "424242" in bodies[0]["text"]
    wait_for(lambda: PhoneMessage.objects.get().status == "delivered", timeout=10)


def test_the_test_endpoint_passes_message_options_through(
    celery_worker, api: Api, gateway, legacy_setup
):
    options = {
        "action": "second-factor-authentication",
        "code": "777000",
        "message_type": "voice",
        "recipient": "+14155550123",
        "text": "Your code is 7 7 7 0 0 0",
    }
    response = api.post(
        f"/actions/actions/{legacy_setup['id']}/test",
        {"payload": {"event": {"message_options": options}}},
    )
    assert response.status_code == 200, response.content
    payload = response.json()["payload"]
    assert "error" not in payload, payload
    assert f"legacy {json.dumps(options, separators=(',', ':'))}" in payload["logs"]
    body = json.loads(gateway.log[0][0].data)
    assert body == {
        "to": "+14155550123",
        "text": "Your code is 7 7 7 0 0 0",
        "code": "777000",
        "type": "voice",
        "action": "second-factor-authentication",
    }
