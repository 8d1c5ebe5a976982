"""Handlers written the way Auth0's docs write them, delivered through the real path against
loopback gateways (pytest-httpserver), asserting what the gateway received.

The Twilio Verify handlers run in the session's real Celery worker. The retry test drives
``message_deliver`` from this process (the sandbox is still a real subprocess) and plays the
clock by making each retry due at once, so six attempts do not wait for real backoff.
"""

import base64
import json

import pytest
from django.utils import timezone

from phoneprovider.models import PhoneMessage
from phoneprovider.services import delivery, messages, queue
from tests.conftest import wait_for
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _final(message: PhoneMessage):
    def is_final():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    return is_final


TWILIO_VERIFY = """
// Twilio Verify through fetch: secrets TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_VERIFY_SID.
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const sid = event.secrets.TWILIO_ACCOUNT_SID;
  const token = event.secrets.TWILIO_AUTH_TOKEN;
  const service = event.secrets.TWILIO_VERIFY_SID;
  const url = `${event.secrets.VERIFY_BASE}/v2/Services/${service}/Verifications`;
  const body = new URLSearchParams({
    To: event.notification.recipient.replace(/\\s/g, ''),
    Channel: event.notification.delivery_method === 'voice' ? 'call' : 'sms',
    CustomCode: event.notification.code,
  });
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + BASIC_AUTH_EXPRESSION },
    body,
  });
  const data = await res.json();
  if (res.status === 429 || res.status >= 500) {
    api.notification.retry(`Twilio Verify is unavailable (${res.status})`);
  } else if (!res.ok) {
    api.notification.drop(`Twilio Verify refused: ${data.message}`);
  } else {
    console.log('verification', data.sid, data.status);
  }
};
"""

BY_BUFFER = "Buffer.from(`${sid}:${token}`, 'utf8').toString('base64')"
BY_BTOA = "btoa(sid + ':' + token)"


def _deploy_verify(gateway, auth_expr: str) -> None:
    from phoneprovider.services.actions import action_create, action_deploy
    from phoneprovider.services.providers import provider_save

    action = action_create(
        actor="test",
        name="Twilio Verify",
        trigger_id="custom-phone-provider",
        code=TWILIO_VERIFY.replace("BASIC_AUTH_EXPRESSION", auth_expr),
        secrets={
            "TWILIO_ACCOUNT_SID": "AC0123456789",
            "TWILIO_AUTH_TOKEN": "verify-auth-token-77",
            "TWILIO_VERIFY_SID": "VA42",
            "VERIFY_BASE": gateway.url_for("").rstrip("/"),
        },
    )
    action_deploy(action, actor="test")
    provider_save(actor="test", name="custom", delivery_methods=["text", "voice"])


@pytest.mark.parametrize(
    "auth_expr,method,channel",
    [(BY_BUFFER, "text", "sms"), (BY_BTOA, "voice", "call")],
    ids=["buffer-sms", "btoa-voice"],
)
def test_twilio_verify_through_fetch_in_the_worker(
    celery_worker, gateway, auth_expr, method, channel
):
    gateway.expect_request("/v2/Services/VA42/Verifications", method="POST").respond_with_json(
        {"sid": "VE900", "status": "pending"}, status=201
    )
    _deploy_verify(gateway, auth_expr)

    message = messages.message_queue(to="+14155550100", code="271828", delivery_method=method)
    wait_for(_final(message), timeout=30)

    assert message.status == "delivered", message.reason
    [(request, _)] = gateway.log
    expected = base64.b64encode(b"AC0123456789:verify-auth-token-77").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.form.to_dict() == {
        "To": "+14155550100",
        "Channel": channel,
        "CustomCode": "271828",
    }
    execution = message.attempts.get().execution
    assert execution.logs[0]["message"] == "verification VE900 pending"
    assert "verify-auth-token-77" not in json.dumps([execution.logs, execution.fetches])


def test_twilio_verify_refusal_is_a_drop(celery_worker, gateway):
    gateway.expect_request("/v2/Services/VA42/Verifications").respond_with_json(
        {"code": 60200, "message": "Invalid parameter: To"}, status=400
    )
    _deploy_verify(gateway, BY_BTOA)
    message = messages.message_queue(to="+14155550100", code="1")
    wait_for(_final(message), timeout=30)
    assert message.status == "dropped"
    assert message.reason == "Twilio Verify refused: Invalid parameter: To"
    assert message.attempt_count == 1 and len(gateway.log) == 1


PASSWORDLESS = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const res = await fetch(event.secrets.GATEWAY_URL, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${event.secrets.GATEWAY_TOKEN}`,
      'idempotency-key': event.transaction.correlation_id,
    },
    body: JSON.stringify({ to: event.notification.recipient, code: event.notification.code }),
  });
  if (res.status >= 500) {
    api.notification.retry(`gateway ${res.status}: ${'x'.repeat(2000)}`);
    return;
  }
  if (!res.ok) api.notification.drop(`gateway ${res.status}`);
};
"""


def test_retry_on_5xx_means_five_more_attempts_with_the_same_key_then_failed(
    gateway, monkeypatch, settings
):
    enqueued = []
    monkeypatch.setattr(
        queue, "message_enqueue", lambda pk, countdown=None: enqueued.append(countdown)
    )
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    gateway.expect_request("/otp").respond_with_json({"error": "busy"}, status=503)
    deploy_custom(gateway.url_for("/otp"), code=PASSWORDLESS)
    message = messages.message_queue(to="+14155550100", code="161803")

    for _ in range(20):
        delivery.message_deliver(message.pk)
        message.refresh_from_db()
        if message.status != "queued":
            break
        assert message.next_attempt_at is not None
        # The clock: the backoff has passed.
        PhoneMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    assert message.status == "failed"
    assert message.reason.startswith("Retries exhausted after 6 attempts: gateway 503: xxx")
    attempts = list(message.attempts.order_by("number"))
    assert [a.outcome for a in attempts] == ["retry"] * 6
    # Auth0 cuts the reason at 1024 characters.
    assert all(len(a.execution.reason) == 1024 for a in attempts)
    # Backoff: every retry but the last was scheduled with a delay (the first send had none),
    # within the exponential window of its attempt (full jitter, capped).
    assert enqueued[0] is None and len(enqueued) == 6
    for attempt, delay in enumerate(enqueued[1:], start=1):
        window = min(delivery.RETRY_CAP_SECONDS, delivery.RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        assert delay is not None and 0 <= delay <= window
    keys = [request.headers["Idempotency-Key"] for request, _ in gateway.log]
    assert keys == [message.public_id] * 6
    assert all(
        request.headers["Authorization"] == "Bearer s3cret-token" for request, _ in gateway.log
    )
