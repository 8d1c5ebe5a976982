"""Test runs of handler code: recorded as Executions, run in a worker, awaited by the caller.

Handler code never runs in the web process: the web writes a pending Execution, a worker runs
it, and the web polls the row until it is finished.
"""

import time

from django.db import transaction
from django.utils import timezone

from phoneprovider.crypto import SecretUnavailable
from phoneprovider.errors import ServiceUnavailable, ValidationError
from phoneprovider.models import Action, Execution
from phoneprovider.providers import custom
from phoneprovider.runtime import DependencyError, resolve_dependencies
from phoneprovider.services import queue
from phoneprovider.services.actions import code_validate

REASON_MAX = 1024  # Auth0 cuts an execution's reason at 1024 characters


def outcome_fields(record: dict) -> dict:
    """An ``Execution`` row's fields from a runtime outcome (``Outcome.to_dict()``)."""
    return {
        "status": record.get("status", Execution.Status.ERROR),
        "reason": (record.get("reason") or "")[:REASON_MAX],
        "error": record.get("error"),
        "logs": record.get("logs", []),
        "logs_truncated": record.get("logs_truncated", False),
        "fetches": record.get("fetches", []),
        "stats": record.get("stats", {}),
        "finished_at": timezone.now(),
    }


def execution_test_start(
    *, action: Action, event: dict, code: str | None = None, dry_run: bool = False
) -> Execution:
    """Record a test run of ``code`` (default: the Action's draft) and hand it to a worker."""
    if not isinstance(event, dict):
        raise ValidationError("The test event must be a JSON object.", field="event")
    source = action.code if code is None else code
    code_validate(source, action.trigger_id)
    with transaction.atomic():
        execution = Execution.objects.create(
            action=action, kind=Execution.Kind.TEST, dry_run=dry_run, code=source, event=event
        )
        transaction.on_commit(lambda: queue.enqueue(queue.RUN_EXECUTION, execution.pk))
    return execution


def execution_run(execution_pk: int) -> None:
    """In the worker: run a pending test execution with the Action's current secrets."""
    execution = (
        Execution.objects.select_related("action")
        .filter(pk=execution_pk, status=Execution.Status.PENDING)
        .first()
    )
    if execution is None or execution.action is None:
        return
    action = execution.action
    try:
        secrets = {s.name: s.plain_value for s in action.secrets.all()}
    except SecretUnavailable as exc:
        Execution.objects.filter(pk=execution.pk).update(
            status=Execution.Status.ERROR,
            reason=exc.message[:REASON_MAX],
            error={"name": "SecretUnavailable", "message": exc.message},
            finished_at=timezone.now(),
        )
        return
    event = {**(execution.event or {}), "secrets": secrets}
    event.setdefault("configuration", {})
    try:  # the draft's dependencies, installed and pinned as a deploy would
        packages = resolve_dependencies(action.dependencies or [])
    except DependencyError as exc:
        Execution.objects.filter(pk=execution.pk).update(
            status="error",
            reason=exc.message[:REASON_MAX],
            error={"name": "Error", "message": exc.message, "stack": ""},
            finished_at=timezone.now(),
        )
        return
    outcome = custom.run(
        code=execution.code,
        trigger=action.trigger_id,
        event=event,
        secrets=secrets,
        # Drafts change between runs: a test never shares a warm context with anything else.
        context_key=f"test:{execution.public_id}",
        cache_namespace=action.public_id,
        dry_run=execution.dry_run,
        packages=packages,
    )
    Execution.objects.filter(pk=execution.pk).update(**outcome_fields(outcome.to_dict()))


def execution_wait(execution: Execution, *, timeout: float) -> Execution:
    """Poll until a worker finished the execution; 503 if no worker answered in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.status != Execution.Status.PENDING:
            return execution
        time.sleep(0.1)
    raise ServiceUnavailable("No worker finished the test run in time. Is a Celery worker running?")
