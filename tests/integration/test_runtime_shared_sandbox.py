"""A real Celery worker whose sandbox executions share one process: a runaway handler in a batch
times out alone, the messages it shared the process with are delivered, and the worker goes on.

One worker (one prefork child) limited to one sandbox process that may run eight at once
(``PHONEPROVIDER_SANDBOX_PROCESSES=1``, ``PHONEPROVIDER_SANDBOX_IN_FLIGHT=8``), so a batch's
executions run side by side in it;
``ACTIONS_EXECUTION_TIMEOUT=2`` and ``MESSAGE_MAX_ATTEMPTS=1`` (a transient failure shows as a
``retry`` attempt, then ends the message). It takes its tasks from a Redis of this module's own.

Network: the worker may reach 127.0.0.1 only.
"""

import time

import pytest
from werkzeug import Response

from phoneprovider.services import messages, queue
from tests.conftest import WorkerProcess, wait_for, worker_environment
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANDLER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  if (event.notification.code === 'loop') { for (;;) {} }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const res = await fetch(event.secrets.GATEWAY_URL, {
    method: 'POST',
    body: event.notification.code,
  });
  console.log('gateway answered', res.status);
};
"""


@pytest.fixture(scope="module")
def shared_sandbox_worker(django_db_setup, django_db_blocker, module_redis, tmp_path_factory):
    with django_db_blocker.unblock():
        env = worker_environment(
            REDIS_URL=module_redis,
            CONFIG_CACHE_SECONDS="0",
            MESSAGE_MAX_ATTEMPTS="1",
            ACTIONS_EXECUTION_TIMEOUT="2",
            PHONEPROVIDER_SANDBOX_PROCESSES="1",
            PHONEPROVIDER_SANDBOX_IN_FLIGHT="8",
        )
    worker = WorkerProcess(
        env, tmp_path_factory.mktemp("shared-sandbox") / "worker.log", concurrency=1
    )
    yield worker
    worker.stop()


@pytest.fixture
def deliver_now(monkeypatch, module_redis):
    """Messages queued while this holds are not enqueued; calling it enqueues one delivery
    task, which claims them all as one batch."""
    from phoneprovider.celery import app
    from phoneprovider.tasks import deliver_due_task

    def enqueue_to_the_worker(message_pk=None, countdown=None):
        with app.connection_for_write(module_redis) as connection:
            deliver_due_task.apply_async((), countdown=countdown, connection=connection)

    monkeypatch.setattr(queue, "message_enqueue", lambda *a, **k: None)

    def go():
        monkeypatch.setattr(queue, "message_enqueue", enqueue_to_the_worker)
        enqueue_to_the_worker()

    return go


def _final(message):
    def check():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    return check


def test_a_runaway_in_a_batch_times_out_alone_and_the_worker_keeps_delivering(
    shared_sandbox_worker, gateway, deliver_now
):
    arrivals: dict[str, float] = {}

    def record(request):
        arrivals[request.get_data(as_text=True)] = time.monotonic()
        return Response("{}", content_type="application/json")

    gateway.expect_request("/sms").respond_with_handler(record)
    deploy_custom(gateway.url_for("/sms"), code=HANDLER)
    loop = messages.message_queue(to="+14155550100", code="loop")
    good = [messages.message_queue(to="+14155550100", code=str(i)) for i in (1, 2)]
    deliver_now()
    for message in [loop, *good]:
        wait_for(_final(message), timeout=60)

    assert loop.status == "failed" and "Retries exhausted" in loop.reason
    [attempt] = loop.attempts.all()
    assert attempt.outcome == "retry"
    assert "did not finish within 2 s" in attempt.error
    for message in good:
        assert message.status == "delivered", message.reason
    # Side by side in the one process: the good ones (each waits 1 s first) reached the gateway
    # together, not one after the other.
    assert sorted(arrivals) == ["1", "2"]
    assert abs(arrivals["1"] - arrivals["2"]) < 0.9

    # The process the runaway was left in has been replaced; the next message is delivered.
    after = messages.message_queue(to="+14155550100", code="3")
    wait_for(_final(after), timeout=60)
    assert after.status == "delivered", after.reason
