"""The retention purge: what is old and settled goes, in batches; what is in flight stays."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from phoneprovider import selectors
from phoneprovider.models import AuditEntry, DeliveryAttempt, Execution, PhoneMessage, PurgeRun
from phoneprovider.services import retention
from phoneprovider.services.audit import audit_record

pytestmark = pytest.mark.django_db

OLD = timedelta(days=31)
RECENT = timedelta(days=29)


def _bulk(count, **kwargs):
    from tests.factories import bulk_messages

    return bulk_messages(count, **kwargs)


def test_purge_removes_old_settled_messages_with_their_attempts_and_executions(settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    old = _bulk(25, age=OLD, status="delivered", executions=True)
    failed = _bulk(5, age=OLD, status="failed", attempts=True)
    recent = _bulk(7, age=RECENT, status="delivered", executions=True)

    run = retention.retention_purge(batch_size=10, trigger="command")

    assert not PhoneMessage.objects.filter(pk__in=old + failed).exists()
    assert set(PhoneMessage.objects.values_list("pk", flat=True)) == set(recent)
    assert DeliveryAttempt.objects.count() == 7
    assert Execution.objects.count() == 7
    assert (run.messages_removed, run.attempts_removed, run.executions_removed) == (30, 30, 25)
    assert run.batches == 3  # 30 messages, 10 a batch
    assert run.complete and run.error == "" and run.finished_at is not None
    assert run.trigger == "command"
    assert selectors.purge_last_run() == run


@pytest.mark.parametrize("status", ["queued", "sending"])
def test_messages_in_flight_are_never_purged_whatever_their_age(settings, status):
    settings.MESSAGE_RETENTION_DAYS = 30
    in_flight = _bulk(4, age=timedelta(days=400), status=status, attempts=True)
    _bulk(4, age=timedelta(days=400), status="sent")

    run = retention.retention_purge(batch_size=3)

    assert set(PhoneMessage.objects.values_list("pk", flat=True)) == set(in_flight)
    assert DeliveryAttempt.objects.count() == 4
    assert run.messages_removed == 4 and run.complete


def test_a_purge_that_dies_keeps_its_finished_batches_and_the_next_run_carries_on(
    settings, monkeypatch
):
    settings.MESSAGE_RETENTION_DAYS = 30
    _bulk(10, age=OLD, attempts=True)
    real_delete = retention.messages_delete
    calls = []

    def dies_on_the_third_batch(ids):
        calls.append(ids)
        if len(calls) == 3:
            raise RuntimeError("connection lost")
        return real_delete(ids)

    monkeypatch.setattr(retention, "messages_delete", dies_on_the_third_batch)
    first = retention.retention_purge(batch_size=3)

    assert first.error == "RuntimeError: connection lost"
    assert not first.complete
    assert first.messages_removed == 6
    assert PhoneMessage.objects.count() == 4  # the failed batch rolled back whole
    assert DeliveryAttempt.objects.count() == 4

    monkeypatch.setattr(retention, "messages_delete", real_delete)
    second = retention.retention_purge(batch_size=3)
    assert second.complete and second.messages_removed == 4
    assert PhoneMessage.objects.count() == 0 and DeliveryAttempt.objects.count() == 0


def test_a_run_out_of_time_stops_and_says_so(settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    _bulk(5, age=OLD)
    run = retention.retention_purge(batch_size=2, max_seconds=-1)
    assert not run.complete and run.error == ""
    assert PhoneMessage.objects.count() == 5


def test_zero_days_keeps_messages_and_audit_entries_forever(settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    settings.AUDIT_RETENTION_DAYS = 0
    _bulk(3, age=timedelta(days=5000))
    entry = audit_record(actor="t", verb="update", object_type="x")
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=5000))

    run = retention.retention_purge()

    assert PhoneMessage.objects.count() == 3 and AuditEntry.objects.count() == 1
    assert run.message_cutoff is None and run.audit_cutoff is None and run.rows_removed == 0


def test_audit_entries_have_their_own_lifetime(settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    settings.AUDIT_RETENTION_DAYS = 365
    entries = [audit_record(actor="t", verb="update", object_type="x") for _ in range(5)]
    AuditEntry.objects.filter(pk__in=[e.pk for e in entries[:3]]).update(
        created_at=timezone.now() - timedelta(days=366)
    )
    AuditEntry.objects.filter(pk=entries[3].pk).update(
        created_at=timezone.now() - timedelta(days=100)  # older than messages live, kept
    )

    run = retention.retention_purge(batch_size=2)

    assert set(AuditEntry.objects.values_list("pk", flat=True)) == {entries[3].pk, entries[4].pk}
    assert run.audit_entries_removed == 3


def test_old_test_runs_go_but_pending_ones_and_attempted_ones_stay(settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    old = timezone.now() - OLD
    done = Execution.objects.create(kind="test", status="delivered", event={"x": 1})
    pending = Execution.objects.create(kind="test", status="pending")
    recent = Execution.objects.create(kind="test", status="error")
    Execution.objects.filter(pk__in=[done.pk, pending.pk]).update(created_at=old)
    # An old execution whose message is in flight stays with it.
    [message_pk] = _bulk(1, age=OLD, status="queued", executions=True)
    attempted = DeliveryAttempt.objects.get(message_id=message_pk).execution_id
    Execution.objects.filter(pk=attempted).update(created_at=old)

    run = retention.retention_purge()

    assert set(Execution.objects.values_list("pk", flat=True)) == {
        pending.pk,
        recent.pk,
        attempted,
    }
    assert run.executions_removed == 1


def test_the_command_purges_and_reports(settings, capsys):
    settings.MESSAGE_RETENTION_DAYS = 30
    _bulk(4, age=OLD, executions=True)
    call_command("purge_expired", "--batch-size", "3")
    out = capsys.readouterr().out
    assert "Removed 4 messages, 4 attempts, 4 executions, 0 audit entries in 2 batches" in out
    assert PurgeRun.objects.get().trigger == "command"
    assert PhoneMessage.objects.count() == 0
