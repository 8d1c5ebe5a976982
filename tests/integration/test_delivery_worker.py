"""A real Celery worker process delivers messages to real HTTP servers on loopback."""

import json
import re

import pytest

from phoneprovider.models import Action, PhoneMessage
from phoneprovider.services import limits
from phoneprovider.services.actions import action_create, action_deploy, action_update
from phoneprovider.services.messages import message_queue, message_queue_batch
from phoneprovider.services.providers import provider_save
from tests.conftest import wait_for
from tests.factories import TWILIO_SID, TwilioProviderFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FORWARDER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Authorization": `Bearer ${event.secrets.GATEWAY_TOKEN}`,
      "Idempotency-Key": event.transaction.correlation_id,
    },
    body: JSON.stringify({
      to: event.notification.recipient,
      text: event.notification.as_text,
      type: event.notification.message_type,
    }),
  });
  console.log("gateway answered", response.status);
  if (response.status >= 500) api.notification.retry(`gateway ${response.status}`);
  else if (!response.ok) api.notification.drop(`gateway ${response.status}`);
};
"""


def _final(message: PhoneMessage):
    def is_final():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    return is_final


def deploy_custom(gateway_url: str, code: str = FORWARDER) -> None:
    action = action_create(
        actor="test",
        name="Gateway",
        trigger_id="custom-phone-provider",
        code=code,
        secrets={"GATEWAY_URL": gateway_url, "GATEWAY_TOKEN": "s3cret-token"},
    )
    action_deploy(action, actor="test")
    provider_save(actor="test", name="custom", delivery_methods=["text", "voice"])


def test_worker_runs_the_deployed_handler_against_a_loopback_gateway(celery_worker, gateway):
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))

    message = message_queue(to="+14155550100", code="314159")
    wait_for(_final(message), timeout=30)

    assert message.status == "delivered", message.reason
    request, _ = gateway.log[0]
    assert request.headers["Authorization"] == "Bearer s3cret-token"
    assert request.headers["Idempotency-Key"] == message.public_id
    body = json.loads(request.data)
    assert body == {"to": "+14155550100", "text": message.as_text, "type": "otp_verify"}
    assert "314159" in body["text"]
    execution = message.attempts.get().execution
    assert execution.status == "delivered"
    assert execution.logs[0]["message"] == "gateway answered 200"


def test_the_next_message_runs_a_new_deployment_at_once(celery_worker, gateway):
    """The worker keeps a copy of the deployed handler; a deploy elsewhere replaces it."""
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))
    first = message_queue(to="+14155550100", code="1")
    wait_for(_final(first), timeout=30)

    action = Action.objects.get()
    action_update(action, actor="test", code=FORWARDER.replace("text:", "version: 2, text:"))
    action_deploy(action, actor="test")
    second = message_queue(to="+14155550100", code="2")
    wait_for(_final(second), timeout=30)

    bodies = [json.loads(request.data) for request, _ in gateway.log]
    assert [body.get("version") for body in bodies] == [None, 2]
    assert first.status == second.status == "delivered"


def test_handler_drop_on_4xx_is_recorded_and_not_retried(celery_worker, gateway):
    gateway.expect_request("/sms").respond_with_json({"error": "nope"}, status=422)
    deploy_custom(gateway.url_for("/sms"))
    message = message_queue(to="+14155550100", code="1")
    wait_for(_final(message), timeout=30)
    assert message.status == "dropped" and message.reason == "gateway 422"
    assert message.attempt_count == 1 and len(gateway.log) == 1


def test_secrets_never_reach_the_execution_record(celery_worker, gateway):
    code = FORWARDER.replace(
        'console.log("gateway answered", response.status);',
        'console.log("token is", event.secrets.GATEWAY_TOKEN);',
    )
    gateway.expect_request("/sms").respond_with_json({})
    deploy_custom(gateway.url_for("/sms"), code=code)
    message = message_queue(to="+14155550100", code="1")
    wait_for(_final(message), timeout=30)
    execution = message.attempts.get().execution
    assert execution.logs[0]["message"] == "token is [redacted]"
    assert "s3cret-token" not in json.dumps(
        [execution.logs, execution.error, execution.fetches, execution.reason]
    )


def test_worker_sends_sms_and_voice_through_the_fake_twilio(celery_worker, twilio_server):
    twilio_server.clear()
    base = f"/2010-04-01/Accounts/{TWILIO_SID}"
    twilio_server.expect_request(f"{base}/Messages.json", method="POST").respond_with_json(
        {"sid": "SM42", "status": "queued"}, status=201
    )
    twilio_server.expect_request(f"{base}/Calls.json", method="POST").respond_with_json(
        {"sid": "CA42", "status": "queued"}, status=201
    )
    TwilioProviderFactory()

    sms = message_queue(to="+14155550100", code="246810")
    call = message_queue(to="+14155550100", code="13579", delivery_method="voice")
    wait_for(_final(sms), timeout=30)
    wait_for(_final(call), timeout=30)

    assert (sms.status, sms.provider_message_id) == ("sent", "SM42")
    assert (call.status, call.provider_message_id) == ("sent", "CA42")
    forms = {request.path.rsplit("/", 1)[-1]: request.form for request, _ in twilio_server.log}
    assert forms["Messages.json"]["Body"] == sms.as_text
    assert (
        "<Say>" in forms["Calls.json"]["Twiml"] and "1, 3, 5, 7, 9" in forms["Calls.json"]["Twiml"]
    )
    twilio_server.clear()


def test_failover_sends_through_twilio_when_the_handler_fails(celery_worker, twilio_server):
    from phoneprovider.services.limits import policy_update

    twilio_server.clear()
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    twilio_server.expect_request(path).respond_with_json({"sid": "SMFAIL0VER"}, status=201)
    TwilioProviderFactory()  # Twilio settings stay stored when custom is selected
    broken = "exports.onExecuteCustomPhoneProvider = async () => { throw new Error('down'); };"
    deploy_custom("http://127.0.0.1:9/unused", code=broken)
    policy_update(actor="test", failover_to_twilio=True)

    message = message_queue(to="+14155550100", code="777")
    wait_for(_final(message), timeout=30)

    assert message.status == "sent" and message.failed_over
    assert message.provider_message_id == "SMFAIL0VER"
    attempts = list(message.attempts.order_by("number"))
    assert [(a.provider_name, a.outcome) for a in attempts] == [
        ("custom", "failed"),
        ("twilio", "sent"),
    ]
    assert "down" in attempts[0].error
    assert "777" in twilio_server.log[0][0].form["Body"]
    twilio_server.clear()


def test_no_failover_when_the_switch_is_off(celery_worker, twilio_server):
    twilio_server.clear()
    TwilioProviderFactory()
    broken = "exports.onExecuteCustomPhoneProvider = async () => { throw new Error('down'); };"
    deploy_custom("http://127.0.0.1:9/unused", code=broken)
    message = message_queue(to="+14155550100", code="777")
    wait_for(_final(message), timeout=30)
    assert message.status == "failed" and not message.failed_over
    assert "down" in message.reason and twilio_server.log == []


def test_a_burst_is_delivered_once_each_by_a_few_batched_tasks(celery_worker, gateway):
    """Intake wakes the workers once for many messages; they claim them in batches."""
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))
    limits.policy_update(actor="test", prefix_per_minute=0, global_per_minute=0)
    received = re.compile(r"Task phoneprovider\.deliver_due\[[^\]]+\] received")
    tasks_before = len(received.findall(celery_worker.log()))

    burst = message_queue_batch([{"to": f"+1415555{i:04d}", "code": f"{i:06d}"} for i in range(60)])
    assert all(isinstance(m, PhoneMessage) and m.status == "queued" for m in burst), burst
    pks = [m.pk for m in burst]
    wait_for(
        lambda: PhoneMessage.objects.filter(pk__in=pks, status="delivered").count() == 60,
        timeout=120,
    )

    keys = sorted(request.headers["Idempotency-Key"] for request, _ in gateway.log)
    assert keys == sorted(m.public_id for m in burst)  # each message reached the gateway once
    tasks = len(received.findall(celery_worker.log())) - tasks_before
    print(f"60 messages delivered by {tasks} delivery task(s)")
    assert tasks < 60
