"""Retention: messages, their attempts and executions, and audit entries have a lifetime.

The purge deletes in small batches, each in its own short transaction: locks are held for one
batch only, senders and workers carry on beside it, and a purge that dies half-way has kept what
it did (the next run picks up the rest). Messages still in flight (``queued``, ``sending``) are
never purged, whatever their age: a worker may be about to send them.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from phoneprovider.models import AuditEntry, DeliveryAttempt, Execution, PhoneMessage, PurgeRun

logger = logging.getLogger(__name__)

IN_FLIGHT = (PhoneMessage.Status.QUEUED, PhoneMessage.Status.SENDING)


def _delete_where_in(model, column: str, ids: list[int]) -> int:
    """``DELETE FROM <model> WHERE <column> IN ids`` in one statement.

    Not ``QuerySet.delete()``: Django's collector would load every row (decrypting its fields)
    to cascade in Python; the purge already knows every dependent row it removes.
    """
    if not ids:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(column)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({placeholders})", ids)  # noqa: S608 - names from the models, values bound
        return cursor.rowcount


def messages_delete(message_ids: list[int]) -> tuple[int, int, int]:
    """Delete these messages with their attempts and the executions those attempts ran.

    Returns (messages, attempts, executions) removed. Call inside a transaction.
    """
    attempts = DeliveryAttempt.objects.filter(message_id__in=message_ids)
    execution_ids = [pk for pk in attempts.values_list("execution_id", flat=True) if pk]
    removed_attempts = _delete_where_in(DeliveryAttempt, "message_id", message_ids)
    removed_executions = _delete_where_in(Execution, "id", execution_ids)
    removed_messages = _delete_where_in(PhoneMessage, "id", message_ids)
    return removed_messages, removed_attempts, removed_executions


def _next_message_batch(cutoff, after: tuple | None, size: int) -> list[tuple]:
    """The next old, settled messages in (created_at, pk) order, locked for this transaction.

    Keyset paging: each batch starts after the previous one, so rows skipped (in flight, or
    locked by someone else) are not scanned again and again.
    """
    rows = PhoneMessage.objects.filter(created_at__lt=cutoff).exclude(status__in=IN_FLIGHT)
    if after is not None:
        created_at, pk = after
        rows = rows.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))
    # SKIP LOCKED: a row a worker holds right now (a receipt being applied) waits for next time.
    return list(
        rows.select_for_update(skip_locked=True)
        .order_by("created_at", "pk")
        .values_list("created_at", "pk")[:size]
    )


def _purge_messages(run: PurgeRun, cutoff, deadline: float, size: int) -> bool:
    """Batches of old messages until none is left (True) or the time budget is spent (False)."""
    after = None
    while True:
        if time.monotonic() > deadline:
            return False
        with transaction.atomic():
            batch = _next_message_batch(cutoff, after, size)
            if not batch:
                return True
            after = batch[-1]
            messages, attempts, executions = messages_delete([pk for _, pk in batch])
            run.messages_removed += messages
            run.attempts_removed += attempts
            run.executions_removed += executions
            run.batches += 1
            _save_progress(run)


def _purge_rows(run: PurgeRun, rows, counter: str, deadline: float, size: int) -> bool:
    """Batches of a table with no dependents (test executions, audit entries)."""
    model = rows.model
    while True:
        if time.monotonic() > deadline:
            return False
        with transaction.atomic():
            # of=self: PostgreSQL locks no row of an outer join (the execution's attempt).
            locked = rows.select_for_update(skip_locked=True, of=("self",))
            ids = list(locked.order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                return True
            setattr(run, counter, getattr(run, counter) + _delete_where_in(model, "id", ids))
            run.batches += 1
            _save_progress(run)


def _save_progress(run: PurgeRun) -> None:
    run.duration_seconds = round(time.monotonic() - run._started, 3)
    run.save(
        update_fields=[
            "batches",
            "messages_removed",
            "attempts_removed",
            "executions_removed",
            "audit_entries_removed",
            "duration_seconds",
        ]
    )


def retention_purge(
    *,
    trigger: str = "beat",
    batch_size: int | None = None,
    max_seconds: float | None = None,
    now=None,
) -> PurgeRun:
    """Delete what is older than ``MESSAGE_RETENTION_DAYS`` / ``AUDIT_RETENTION_DAYS`` (0 keeps
    forever), in batches, within ``max_seconds``; record the run and return it."""
    now = now or timezone.now()
    size = batch_size or settings.RETENTION_BATCH_SIZE
    budget = settings.RETENTION_PURGE_MAX_SECONDS if max_seconds is None else max_seconds
    message_days = settings.MESSAGE_RETENTION_DAYS
    audit_days = settings.AUDIT_RETENTION_DAYS
    run = PurgeRun.objects.create(
        trigger=trigger,
        message_cutoff=now - timedelta(days=message_days) if message_days else None,
        audit_cutoff=now - timedelta(days=audit_days) if audit_days else None,
    )
    run._started = time.monotonic()
    deadline = run._started + budget
    complete = True
    try:
        if run.message_cutoff is not None:
            complete = _purge_messages(run, run.message_cutoff, deadline, size)
            # Test runs and executions whose attempt is gone: nothing else removes them.
            loose = Execution.objects.filter(
                created_at__lt=run.message_cutoff, attempt__isnull=True
            ).exclude(status=Execution.Status.PENDING)
            complete = complete and _purge_rows(run, loose, "executions_removed", deadline, size)
        if run.audit_cutoff is not None and complete:
            old = AuditEntry.objects.filter(created_at__lt=run.audit_cutoff)
            complete = _purge_rows(run, old, "audit_entries_removed", deadline, size)
    except Exception as exc:
        logger.exception("The retention purge stopped after %s batches.", run.batches)
        run.error = f"{type(exc).__name__}: {exc}"[:1024]
        complete = False
    run.complete = complete
    run.finished_at = timezone.now()
    run.duration_seconds = round(time.monotonic() - run._started, 3)
    run.save()
    logger.info(
        "Retention purge: %s messages, %s attempts, %s executions, %s audit entries removed "
        "in %s batches, %.1f s%s.",
        run.messages_removed,
        run.attempts_removed,
        run.executions_removed,
        run.audit_entries_removed,
        run.batches,
        run.duration_seconds,
        "" if complete else " (more left for the next run)",
    )
    return run
