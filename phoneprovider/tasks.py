"""Celery tasks: each takes ids, calls one service, and returns."""

from celery import shared_task
from celery.signals import worker_ready

from phoneprovider.services import delivery, executions, queue, retention


@shared_task(name=queue.DELIVER_DUE)
def deliver_due_task() -> None:
    queue.deliveries_awake()
    delivery.deliver_due()


@worker_ready.connect
def lower_a_stale_wake_flag(**_) -> None:
    """A wake flag raised for a task that was purged or lost would hold back wake-ups until it
    expires; a starting worker lowers it (at worst one extra task is sent)."""
    queue.deliveries_awake()


@shared_task(name=queue.SWEEP_MESSAGES, acks_late=False)
def message_sweep_task() -> dict:
    return delivery.message_sweep()


@shared_task(name=queue.RUN_EXECUTION)
def execution_run_task(execution_pk: int) -> None:
    executions.execution_run(execution_pk)


# Its own time limits: a purge works in committed batches within RETENTION_PURGE_MAX_SECONDS,
# longer than the delivery tasks' backstop allows.
@shared_task(name=queue.PURGE_EXPIRED, acks_late=False, soft_time_limit=900, time_limit=960)
def purge_expired_task() -> dict:
    run = retention.retention_purge(trigger="beat")
    return {"messages": run.messages_removed, "rows": run.rows_removed, "complete": run.complete}
