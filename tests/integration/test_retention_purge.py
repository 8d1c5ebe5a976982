"""The retention purge on a busy system: 100,000 old messages go in batches while a real worker
keeps delivering new ones, and nothing in flight is touched."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from phoneprovider.models import DeliveryAttempt, Execution, PhoneMessage, PurgeRun
from phoneprovider.services import limits, messages, queue, retention
from tests.conftest import wait_for
from tests.factories import bulk_messages
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def lost_enqueues(monkeypatch):
    """The worker listens on its own broker: its sweeper finds the test's outbox rows."""
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)


def _in_flight_old_messages() -> list[int]:
    """Old rows that are still in flight: a retry not yet due, a send a worker holds."""
    later = timezone.now() + timedelta(hours=1)
    waiting = bulk_messages(20, age=timedelta(days=400), status="queued", attempts=True)
    PhoneMessage.objects.filter(pk__in=waiting).update(next_attempt_at=later)
    held = bulk_messages(20, age=timedelta(days=400), status="sending", executions=True)
    PhoneMessage.objects.filter(pk__in=held).update(claim_expires_at=later)
    return waiting + held


def test_purge_of_100k_messages_in_batches_while_new_ones_are_delivered(
    settings, worker_factory, gateway
):
    settings.MESSAGE_RETENTION_DAYS = 30
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))
    limits.policy_update(actor="test", recipient_per_hour=0, prefix_per_minute=0)
    in_flight = _in_flight_old_messages()
    old = bulk_messages(80_000, age=timedelta(days=60))
    old += bulk_messages(20_000, age=timedelta(days=45), executions=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    worker_factory()

    failures = []

    def purge():
        try:
            retention.retention_purge(batch_size=500, trigger="command")
        except Exception as exc:  # shown by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=purge)
    thread.start()
    wait_for(lambda: PurgeRun.objects.filter(batches__gte=1).exists(), timeout=60)
    sent, sent_during_purge = [], 0
    while thread.is_alive() or len(sent) < 10:
        sent.append(messages.message_queue(to=f"+1415555{len(sent):04d}", code="4242").pk)
        sent_during_purge += PurgeRun.objects.filter(finished_at__isnull=True).exists()
        thread.join(0.2)
    thread.join()

    assert not failures, failures
    run = PurgeRun.objects.get()
    assert run.complete and not run.error
    assert run.messages_removed == 100_000
    assert run.attempts_removed == 20_000 and run.executions_removed == 20_000
    assert run.batches == 200  # 500 a batch, each its own transaction
    assert sent_during_purge >= 1
    assert not PhoneMessage.objects.filter(pk__in=old).exists()

    # The old rows in flight are untouched, with their attempts and executions.
    assert PhoneMessage.objects.filter(pk__in=in_flight).count() == 40
    assert DeliveryAttempt.objects.filter(message_id__in=in_flight).count() == 40
    assert Execution.objects.count() >= 20

    # Every new message is delivered, once, some of them while the purge ran.
    def all_delivered():
        statuses = Counter(
            PhoneMessage.objects.filter(pk__in=sent).values_list("status", flat=True)
        )
        return statuses == Counter({"delivered": len(sent)})

    wait_for(all_delivered, timeout=120)
    keys = Counter(request.headers["Idempotency-Key"] for request, _ in gateway.log)
    assert sorted(keys.values()) == [1] * len(sent)
    assert PhoneMessage.objects.filter(pk__in=sent, finished_at__lt=run.finished_at).exists()


def test_the_beat_runs_the_purge_in_the_worker(worker_factory):
    old = bulk_messages(30, age=timedelta(days=31), executions=True)
    recent = bulk_messages(5, age=timedelta(days=1))
    worker_factory(RETENTION_PURGE_INTERVAL="1", MESSAGE_RETENTION_DAYS="30")

    run = wait_for(
        lambda: PurgeRun.objects.filter(trigger="beat", finished_at__isnull=False).first(),
        timeout=60,
    )
    assert run.complete, run.error
    assert not PhoneMessage.objects.filter(pk__in=old).exists()
    assert PhoneMessage.objects.filter(pk__in=recent).count() == 5
    assert Execution.objects.count() == 0
