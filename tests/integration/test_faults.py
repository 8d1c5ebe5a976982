"""Fault tests with real processes: a worker killed mid-delivery, a broker that goes away, a
gateway that fails then recovers, a gateway that hangs. After each, every message ends in a final
state, none is lost, and a recipient gets one send of a message unless the first attempt's fate was
unknown (then both carried the same idempotency key).

Each test runs its own worker (with beat, so its sweeper runs) on a private broker, and the test
process never enqueues: every message starts as an outbox row whose enqueue was "lost", which is
the hardest case — only the sweeper can find it.
"""

import os
import signal
import threading
import time
from collections import Counter

import pytest
from werkzeug import Response

from phoneprovider.models import PhoneMessage
from phoneprovider.services import messages, queue
from tests.conftest import wait_for
from tests.integration.conftest import hold_first_request
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def lost_enqueues(monkeypatch):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)


def _statuses(ids):
    return dict(PhoneMessage.objects.filter(pk__in=ids).values_list("pk", "status"))


def _all_final(ids):
    def all_final():
        return all(s not in ("queued", "sending") for s in _statuses(ids).values())

    return all_final


def _keys(gateway):
    return Counter(request.headers["Idempotency-Key"] for request, _ in gateway.log)


def _queue(n, prefix="+1415555010"):
    return [messages.message_queue(to=f"{prefix}{i}", code="1") for i in range(n)]


def test_sigkilled_worker_mid_delivery_loses_nothing(worker_factory, gateway):
    arrived, release = hold_first_request(gateway)  # held while its worker is killed
    deploy_custom(gateway.url_for("/sms"))
    worker = worker_factory(MESSAGE_CLAIM_SECONDS="3")

    (message,) = _queue(1)
    assert arrived.wait(30), "the handler never reached the gateway"
    for child in worker.children():
        os.kill(child, signal.SIGKILL)
    release.set()
    wait_for(_all_final([message.pk]), timeout=60)

    message.refresh_from_db()
    assert message.status == "delivered", message.reason
    attempts = list(message.attempts.order_by("number"))
    assert [a.outcome for a in attempts] == ["retry", "sent"]
    assert "worker stopped" in attempts[0].error
    # The first attempt's fate was unknown, so a second send is allowed, with the same key.
    assert set(_keys(gateway)) == {message.public_id}


def test_gateway_500s_then_recovers(worker_factory, gateway):
    calls = Counter()

    def flaky(request):
        key = request.headers["Idempotency-Key"]
        calls[key] += 1
        status = 500 if calls[key] <= 2 else 200
        return Response("{}", status=status, content_type="application/json")

    gateway.expect_request("/sms").respond_with_handler(flaky)
    deploy_custom(gateway.url_for("/sms"))
    worker_factory()
    sent = _queue(3)
    wait_for(_all_final([m.pk for m in sent]), timeout=90)
    for message in sent:
        message.refresh_from_db()
        assert message.status == "delivered", message.reason
        assert [a.outcome for a in message.attempts.order_by("number")] == [
            "retry",
            "retry",
            "sent",
        ]
    assert set(calls.values()) == {3}


def test_hanging_gateway_ends_in_a_clear_failure(worker_factory, gateway):
    stop = threading.Event()

    def hang(request):
        stop.wait(30)
        return Response("{}", content_type="application/json")

    gateway.expect_request("/sms").respond_with_handler(hang)
    deploy_custom(gateway.url_for("/sms"))
    worker_factory(MESSAGE_MAX_ATTEMPTS="1")
    (message,) = _queue(1)
    try:
        wait_for(_all_final([message.pk]), timeout=60)
    finally:
        stop.set()
    message.refresh_from_db()
    assert message.status == "failed"
    assert "did not finish within 5 s" in message.reason, message.reason


def test_broker_restart_while_queued_and_while_sending(worker_factory, gateway, private_redis):
    arrived, release = hold_first_request(gateway)
    deploy_custom(gateway.url_for("/sms"))
    worker = worker_factory()

    (first,) = _queue(1, prefix="+1415555020")
    assert arrived.wait(30), "the handler never reached the gateway"
    private_redis.stop()  # the broker dies while a message is being sent…
    queued = _queue(4, prefix="+1415555030")  # …and while more are queued
    release.set()
    time.sleep(1)
    private_redis.start()
    ids = [first.pk] + [m.pk for m in queued]

    def supervised_all_final():
        # Celery may exit on a lost Redis connection ("Unrecoverable error" in kombu's redis
        # transport); production runs workers under a supervisor, which this plays.
        worker.supervise()
        return _all_final(ids)()

    wait_for(supervised_all_final, timeout=90)
    print(f"worker restarts by the supervisor: {worker.restarts}")
    assert set(_statuses(ids).values()) == {"delivered"}
    keys = _keys(gateway)
    assert set(keys) == {m.public_id for m in [first, *queued]}
    assert all(count == 1 for key, count in keys.items() if key != first.public_id)
