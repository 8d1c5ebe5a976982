"""Celery tasks: each takes ids, calls one service, and returns."""

from celery import shared_task

from phoneprovider.services import executions, messages, retention


@shared_task(name="phoneprovider.deliver_message")
def message_deliver_task(message_pk: int) -> None:
    messages.message_deliver(message_pk)


@shared_task(name="phoneprovider.sweep_messages", acks_late=False)
def message_sweep_task() -> dict:
    return messages.message_sweep()


@shared_task(name="phoneprovider.run_execution")
def execution_run_task(execution_pk: int) -> None:
    executions.execution_run(execution_pk)


# Its own time limits: a purge works in committed batches within RETENTION_PURGE_MAX_SECONDS,
# longer than the delivery tasks' backstop allows.
@shared_task(
    name="phoneprovider.purge_expired", acks_late=False, soft_time_limit=900, time_limit=960
)
def purge_expired_task() -> dict:
    run = retention.retention_purge(trigger="beat")
    return {"messages": run.messages_removed, "rows": run.rows_removed, "complete": run.complete}
