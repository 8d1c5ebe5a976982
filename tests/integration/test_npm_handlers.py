"""Handlers that require npm packages, end to end: the Action is created with its dependencies and
deployed through the API (installed and pinned here), a message is sent with
POST /api/v2/phone/messages, and the session's real Celery worker runs the handler, which reaches
a loopback gateway (axios) or a loopback fake of Twilio's REST API (the twilio SDK).

The packages come from the npm registry (reachable from CI) into the project's DENO_DIR, which the
worker shares, as tests/runtime/test_npm.py does; every request a handler makes goes to
127.0.0.1."""

import json
import urllib.parse

import pytest

from phoneprovider.models import PhoneMessage
from tests.api_client import Api, action_deployed, custom_provider_select
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AXIOS = """
const axios = require('axios');
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const n = event.notification;
  const res = await axios.post(event.secrets.GATEWAY_URL, { to: n.recipient, text: n.as_text },
    { headers: { Authorization: 'Bearer ' + event.secrets.GATEWAY_TOKEN } });
  console.log('axios', res.status, res.data.id);
};
"""

# Twilio's own Auth0 guide uses `require('twilio')`; the SDK's `httpClient` option aims its
# requests at the fake instead of https://api.twilio.com.
TWILIO = """
const twilio = require('twilio');
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const requests = new twilio.RequestClient();
  const base = event.secrets.TWILIO_BASE;
  const httpClient = {
    request: (o) => requests.request({ ...o, uri: o.uri.replace('https://api.twilio.com', base) }),
  };
  const client = twilio(event.secrets.TWILIO_SID, event.secrets.TWILIO_TOKEN, { httpClient });
  const n = event.notification;
  const msg = await client.messages.create({ to: n.recipient, from: n.from, body: n.as_text });
  console.log('twilio', msg.sid);
};
"""
SID = "AC" + "1" * 32


def _deploy(api: Api, code: str, dependency: dict, secrets: dict) -> dict:
    action = action_deployed(
        api, code, name="npm handler", dependencies=[dependency], secrets=secrets
    )
    custom_provider_select(api)
    return action


def _send(api: Api, to: str, code: str) -> PhoneMessage:
    response = api.post(
        "/phone/messages",
        {"to": to, "message_type": "otp_verify", "delivery_method": "text", "code": code},
    )
    assert response.status_code in (201, 202), response.content

    def final():
        message = PhoneMessage.objects.get()
        return message if message.status not in ("queued", "sending") else None

    return wait_for(final, timeout=60)


def test_a_handler_requiring_axios_delivers_a_sent_message(celery_worker, api: Api, gateway):
    gateway.expect_request("/sms", method="POST").respond_with_json({"id": "gw-7"})
    action = _deploy(
        api,
        AXIOS,
        {"name": "axios", "version": "^1"},
        {"GATEWAY_URL": gateway.url_for("/sms"), "GATEWAY_TOKEN": "gw-token-5"},
    )
    assert action["deployed_version"]["dependencies"][0]["name"] == "axios"

    message = _send(api, "+14155550142", "271828")

    assert message.status == "delivered", message.reason
    request, _ = gateway.log[0]
    assert request.headers["Authorization"] == "Bearer gw-token-5"
    body = json.loads(request.data)
    assert body["to"] == "+14155550142" and "271828" in body["text"]
    execution = message.attempts.get().execution
    assert execution.logs[-1]["message"] == "axios 200 gw-7"


def test_a_handler_requiring_twilio_delivers_a_sent_message(celery_worker, api: Api, gateway):
    path = f"/2010-04-01/Accounts/{SID}/Messages.json"
    gateway.expect_request(path, method="POST").respond_with_json(
        {"sid": "SM" + "2" * 32, "status": "queued"}, status=201
    )
    _deploy(
        api,
        TWILIO,
        {"name": "twilio", "version": "^5"},
        {
            "TWILIO_BASE": gateway.url_for("").rstrip("/"),
            "TWILIO_SID": SID,
            "TWILIO_TOKEN": "twilio-token-9",
        },
    )

    message = _send(api, "+14155550143", "161803")

    assert message.status == "delivered", message.reason
    request, _ = gateway.log[0]
    assert request.authorization.username == SID
    assert request.authorization.password == "twilio-token-9"
    form = urllib.parse.parse_qs(request.get_data(as_text=True))
    assert form["To"] == ["+14155550143"]
    assert "161803" in form["Body"][0]
    execution = message.attempts.get().execution
    assert execution.logs[-1]["message"] == "twilio SM" + "2" * 32
