"""Celery tasks: each takes ids, calls one service, and returns."""

from celery import shared_task

from phoneprovider.services import executions, messages


@shared_task(name="phoneprovider.deliver_message", acks_late=True, reject_on_worker_lost=True)
def message_deliver_task(message_pk: int) -> None:
    messages.message_deliver(message_pk)


@shared_task(name="phoneprovider.sweep_messages", ignore_result=True)
def message_sweep_task() -> dict:
    return messages.message_sweep()


@shared_task(name="phoneprovider.run_execution", acks_late=True, reject_on_worker_lost=True)
def execution_run_task(execution_pk: int) -> None:
    executions.execution_run(execution_pk)
