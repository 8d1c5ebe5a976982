"""Delivery of queued messages: claim → attempt → provider → outcome, failover, retries with
backoff, the sweeper that puts lost work back, and delivery receipts."""

import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from phoneprovider import health, routing
from phoneprovider.bulk_update import rows_update
from phoneprovider.config_cache import Snapshot
from phoneprovider.crypto import SecretUnavailable, is_undecryptable
from phoneprovider.masking import mask_deep
from phoneprovider.models import (
    Connection,
    DeliveryAttempt,
    Execution,
    PhoneMessage,
    PhoneProvider,
)
from phoneprovider.providers import SendResult, custom, twilio, twilio_verify
from phoneprovider.routing import Rule
from phoneprovider.services import limits, queue
from phoneprovider.services.executions import REASON_MAX, outcome_fields

logger = logging.getLogger(__name__)

Status = PhoneMessage.Status
RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 120


def _claim_due(limit: int, only_pk: int | None = None) -> list[PhoneMessage]:
    """queued → sending for up to ``limit`` due messages nobody else holds, oldest first.

    ``SKIP LOCKED`` lets several workers claim side by side without waiting on each other's
    rows (SQLite, which has one writer at a time, ignores it). Three statements per batch.
    """
    now = timezone.now()
    due = PhoneMessage.objects.filter(status=Status.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if only_pk is not None:
        due = due.filter(pk=only_pk)
    pks = list(
        due.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    if not pks:
        return []
    PhoneMessage.objects.filter(pk__in=pks).update(
        status=Status.SENDING,
        claim_expires_at=now + timedelta(seconds=settings.MESSAGE_CLAIM_SECONDS),
        attempt_count=F("attempt_count") + 1,
        updated_at=now,
    )
    return list(PhoneMessage.objects.filter(pk__in=pks).order_by("pk"))


# The fields a finished (or re-queued) attempt changes on its message: one bulk update per batch.
_OUTCOME_FIELDS = [
    "status",
    "route",
    "route_name",
    "route_step",
    "step_first_attempt",
    "failed_over",
    "reason",
    "claim_expires_at",
    "finished_at",
    "provider_message_id",
    "sent_at",
    "next_attempt_at",
    "updated_at",
]


def _set_outcome(message: PhoneMessage, status: str, reason: str = "", **fields) -> None:
    """Move a claimed message on, in memory; the caller saves it (alone or in bulk)."""
    now = timezone.now()
    message.status = status
    message.reason = reason[:REASON_MAX]
    message.claim_expires_at = None
    message.updated_at = now
    if status in PhoneMessage.FINAL_STATUSES:
        message.finished_at = now
    for name, value in fields.items():
        setattr(message, name, value)


def _finish(message: PhoneMessage, status: str, reason: str = "", **fields) -> None:
    _set_outcome(message, status, reason, **fields)
    message.save(update_fields=_OUTCOME_FIELDS)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


Handler = tuple[object, dict[str, str]]  # (deployed ActionVersion or None, its secrets)
Target = PhoneProvider | Connection  # the default provider, or a route's connection
Row = tuple[PhoneMessage, Target, Rule | None]  # a message, where it goes, the rule that chose it


def _send(target: Target, handler: Handler, message: PhoneMessage, rule: Rule | None) -> SendResult:
    """One provider call. Runs in a sender thread: no database access here (the handler and its
    secrets are read once per batch, before the threads start)."""
    if target.kind == Connection.Kind.TWILIO_VERIFY:
        return twilio_verify.send(target, message)
    if target.kind == Connection.Kind.TWILIO:
        return twilio.send(target, message)
    version, secrets = handler
    if version is None:
        return SendResult("failed", "The custom provider has no deployed Action.")
    configuration = {}
    if rule is not None:  # the handler sees which rule chose it (issue: rules and code together)
        configuration = {
            **target.configuration,
            "route_id": rule.public_id,
            "route_name": rule.name,
            "connection_id": target.public_id,
            "connection_name": target.name,
        }
    return custom.send(message, version, secrets, configuration=configuration)


def _execution_build(result: SendResult, code: str = "") -> Execution | None:
    if result.execution is None:
        return None
    return Execution(
        action_id=result.version.action_id if result.version else None,
        version=result.version,
        kind=Execution.Kind.DELIVERY,
        # What the handler logged or fetched shows the code masked (MASK_CODES), as pages do.
        **outcome_fields(mask_deep(result.execution, code)),
    )


_sender_pool: ThreadPoolExecutor | None = None


def _send_all(batch: list[Row], send: Callable[[Row], SendResult]) -> list:
    """Send a batch side by side: the sandbox runs many executions at once and provider calls
    wait on the network, so one slow gateway answer doesn't hold up the rest of the batch."""
    global _sender_pool
    if len(batch) == 1:
        return [_send_safely(send, batch[0])]
    if _sender_pool is None:  # per process, after the worker's fork
        _sender_pool = ThreadPoolExecutor(
            settings.DELIVERY_BATCH_SIZE, thread_name_prefix="phoneprovider-send"
        )
    return list(_sender_pool.map(lambda row: _send_safely(send, row), batch))


def deliver_due(*, limit: int | None = None, only_pk: int | None = None) -> list[PhoneMessage]:
    """Deliver what is due, once: claim a batch, choose each message's route, record the
    attempts, send them concurrently, write the outcomes in bulk, fail over where the route or
    the policy says so. Returns the claimed rows."""
    limit = limit or settings.DELIVERY_BATCH_SIZE
    config = Snapshot()
    provider = config.provider()
    rules = config.routes()
    # The claims and their attempt rows commit together: one durable write before the sends.
    with transaction.atomic():
        batch = _claim_due(limit, only_pk)
        pinned = _pinned_rules(batch)
        sendable: list[Row] = []
        for message in batch:
            rule = pinned.get(message.pinned_connection_id) or _route_choose(message, rules)
            if message.attempt_count - message.step_first_attempt >= settings.MESSAGE_MAX_ATTEMPTS:
                _finish(
                    message,
                    Status.FAILED,
                    f"Gave up after {settings.MESSAGE_MAX_ATTEMPTS} attempts that did not finish.",
                )
            elif rule is not None:
                sendable.append((message, rule.connection_at(message.route_step), rule))
            elif provider is None or provider.disabled:
                _finish(message, Status.FAILED, "No enabled phone provider is configured.")
            else:
                sendable.append((message, provider, None))
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                message=message,
                number=message.attempt_count,
                provider_name=target.kind,
                connection=target if rule else None,
                connection_name=target.name if rule else "",
            )
            for message, target, rule in sendable
        )
    if only_pk is None and len(batch) == limit:
        queue.deliveries_wake()  # more may be due: let an idle worker claim them now
    if not sendable:
        return batch
    try:
        needs_handler = any(t.kind == Connection.Kind.CUSTOM for _, t, _ in sendable)
        handler = config.custom_handler() if needs_handler else (None, {})
    except SecretUnavailable as exc:
        retry = _key_missing(exc, f"{len(sendable)} message(s)")
        results = [replace(retry) for _ in sendable]  # a result each: outcomes are written per row
    else:
        results = _send_all(sendable, lambda row: _send(row[1], handler, row[0], row[2]))
    messages = [message for message, _, _ in sendable]
    _record_results(
        list(zip(messages, attempts, results, strict=True)),
        failover={
            m.pk: rule for m, _, rule in sendable if rule and rule.has_step_after(m.route_step)
        },
    )
    failing = [m for m, _, rule in sendable if not rule and _should_fail_over(config, provider, m)]
    if failing:
        _fail_over(provider, failing)
    return batch


def _pinned_rules(batch: list[PhoneMessage]) -> dict[int, Rule]:
    """Stand-in rules for the batch's messages pinned to one connection (tests), by its pk."""
    pks = {m.pinned_connection_id for m in batch if m.pinned_connection_id}
    if not pks:
        return {}
    return {c.pk: Rule.only(c) for c in Connection.objects.filter(pk__in=pks)}


def _route_choose(message: PhoneMessage, rules: tuple[Rule, ...]) -> Rule | None:
    """The rule ``message`` goes by: the one it is already on (failover walks along it, even
    after it is disabled), else the first that matches now (None: the default provider)."""
    if message.route_id is not None:
        for rule in rules:
            if rule.pk == message.route_id:
                return rule
    rule = routing.resolve(rules, routing.Subject.of_message(message))
    if rule is None:
        message.route_id, message.route_name = None, ""
    elif rule.pk != message.route_id:
        message.route_id, message.route_name = rule.pk, rule.name
        message.route_step, message.step_first_attempt = 0, message.attempt_count
    return rule


def message_deliver(message_pk: int) -> PhoneMessage | None:
    """Deliver this one message if it is due and nobody holds it (tests and tools)."""
    batch = deliver_due(limit=1, only_pk=message_pk)
    return batch[0] if batch else None


def _key_missing(exc: SecretUnavailable, what: str) -> SendResult:
    """A secret no configured key opens (the handler's, or a connection's token): logged, and
    retried rather than failed, since the operator can put the old key back."""
    logger.error("Delivery of %s: %s", what, exc.message)
    return SendResult("retry", exc.message)


def _send_safely(send: Callable[[Row], SendResult], row: Row) -> SendResult:
    message = row[0]
    try:
        return send(row)
    except SecretUnavailable as exc:
        return _key_missing(exc, message.public_id)
    except Exception as exc:  # a bug of ours must not leave the message in 'sending'
        logger.exception("Delivery of %s crashed", message.public_id)
        return SendResult("retry", f"Internal error while sending: {type(exc).__name__}")


def _should_fail_over(config: Snapshot, provider: PhoneProvider, message: PhoneMessage) -> bool:
    """A custom handler that failed for good (not a deliberate drop) may hand over to Twilio."""
    return (
        message.status == Status.FAILED
        and provider.name == PhoneProvider.Name.CUSTOM
        and provider.twilio_sid != ""
        and provider.has_auth_token
        and config.policy().failover_to_twilio
    )


def _fail_over(provider: PhoneProvider, batch: list[PhoneMessage]) -> None:
    """One Twilio try for each message the custom handler failed, side by side like a batch."""
    custom_reasons = {message.pk: message.reason for message in batch}
    with transaction.atomic():
        for message in batch:
            message.attempt_count += 1
            message.failed_over = True
            message.status = Status.SENDING
            message.updated_at = timezone.now()
        rows_update(batch, ["attempt_count", "failed_over", "status", "updated_at"])
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                message=m, number=m.attempt_count, provider_name=PhoneProvider.Name.TWILIO
            )
            for m in batch
        )
    results = _send_all(
        [(m, provider, None) for m in batch], lambda row: twilio.send(provider, row[0])
    )
    for index, (message, result) in enumerate(zip(batch, results, strict=True)):
        if result.outcome == "retry":  # one failover try: the custom provider used its retries
            result = results[index] = SendResult("failed", result.reason)
        if result.outcome == "failed":
            result.reason = (
                f"Custom provider: {custom_reasons[message.pk]} Twilio failover: {result.reason}"
            )
    _record_results(list(zip(batch, attempts, results, strict=True)))


_ATTEMPT_OUTCOMES = {
    "sent": DeliveryAttempt.Outcome.SENT,
    "delivered": DeliveryAttempt.Outcome.SENT,
    "retry": DeliveryAttempt.Outcome.RETRY,
    "failed": DeliveryAttempt.Outcome.FAILED,
    "dropped": DeliveryAttempt.Outcome.DROPPED,
}


@transaction.atomic
def _record_results(
    done: list[tuple[PhoneMessage, DeliveryAttempt, SendResult]],
    failover: dict[int, Rule] | None = None,
) -> None:
    """Write a batch's attempts, executions and message states: a few statements per batch.
    ``failover``: the messages whose rule has a next connection, should this one fail."""
    locked = PhoneMessage.objects.select_for_update().filter(pk__in=[m.pk for m, _, _ in done])
    present = set(locked.values_list("pk", flat=True))
    # Erased while it was being sent (services.erasure): nothing is to be kept about it.
    done = [row for row in done if row[0].pk in present]
    if not done:
        return
    now = timezone.now()
    executions = {
        message.pk: execution
        for message, _, result in done
        if (
            execution := _execution_build(
                result, "" if is_undecryptable(message.code) else message.code
            )
        )
    }
    Execution.objects.bulk_create(executions.values())
    retries = []
    for message, attempt, result in done:
        attempt.execution = executions.get(message.pk)
        attempt.outcome = _ATTEMPT_OUTCOMES[result.outcome]
        attempt.error = result.reason[:REASON_MAX]
        attempt.provider_message_id = result.provider_message_id
        attempt.ended_at = now
        rule = (failover or {}).get(message.pk)
        if (delay := _set_message_outcome(message, result, now, rule)) is not None:
            retries.append((message.pk, delay))
    rows_update(
        [attempt for _, attempt, _ in done],
        ["execution", "outcome", "error", "provider_message_id", "ended_at"],
    )
    rows_update([message for message, _, _ in done], _OUTCOME_FIELDS)
    transaction.on_commit(
        lambda: [queue.message_enqueue(pk, countdown=delay) for pk, delay in retries]
    )


def _set_message_outcome(
    message: PhoneMessage, result: SendResult, now, rule: Rule | None = None
) -> float | None:
    """Where an attempt's result leaves its message; the retry delay when it goes round again.
    A message that fails for good on a route's connection goes on to the next one (``rule``)."""
    step_attempts = message.attempt_count - message.step_first_attempt + 1
    if result.outcome in ("sent", "delivered"):
        _set_outcome(
            message, result.outcome, provider_message_id=result.provider_message_id, sent_at=now
        )
    elif result.outcome == "dropped":
        _set_outcome(message, Status.DROPPED, result.reason)
    elif result.outcome == "failed" or step_attempts >= settings.MESSAGE_MAX_ATTEMPTS:
        reason = result.reason
        if result.outcome != "failed":
            reason = f"Retries exhausted after {step_attempts} attempts: {reason}"
        if rule is None:
            _set_outcome(message, Status.FAILED, reason)
            return None
        return _route_fail_over(message, rule, reason, now)
    else:
        delay = retry_delay(step_attempts)
        due = now + timedelta(seconds=delay)
        if message.code and due > message.created_at + timedelta(
            seconds=settings.MESSAGE_CODE_TTL_SECONDS
        ):
            _set_outcome(
                message,
                Status.FAILED,
                f"Not retried: the code would be stale by the next attempt. {result.reason}",
            )
        else:
            _set_outcome(message, Status.QUEUED, result.reason, next_attempt_at=due)
            return delay
    return None


def _route_fail_over(message: PhoneMessage, rule: Rule, reason: str, now) -> float:
    """Queue ``message`` again at once, for the rule's next connection (with its own tries)."""
    failed = rule.connection_at(message.route_step)
    message.route_step += 1
    message.step_first_attempt = message.attempt_count + 1
    message.failed_over = True
    following = rule.connection_at(message.route_step)
    _set_outcome(
        message,
        Status.QUEUED,
        f"{failed.name}: {reason} Failing over to {following.name}.",
        next_attempt_at=now,
    )
    return 0


def message_sweep() -> dict:
    """Put lost work back on the queue: expired claims and queued rows whose enqueue was lost."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        stuck = list(
            PhoneMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, claim_expires_at__lt=now)
            .values_list("pk", flat=True)[:500]
        )
        for pk in stuck:
            DeliveryAttempt.objects.filter(message_id=pk, outcome="pending").update(
                outcome=DeliveryAttempt.Outcome.RETRY,
                error="The worker stopped before it finished this attempt.",
                ended_at=now,
            )
        expired = PhoneMessage.objects.filter(pk__in=stuck).update(
            status=Status.QUEUED,
            claim_expires_at=None,
            next_attempt_at=now,
            updated_at=now,
            reason="The worker stopped before it finished; trying again.",
        )
    grace = now - timedelta(seconds=settings.MESSAGE_SWEEP_GRACE_SECONDS)
    due = list(
        PhoneMessage.objects.filter(status=Status.QUEUED, updated_at__lt=grace)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("pk", flat=True)[:1000]
    )
    requeued = len(stuck) + len(due)
    if requeued:
        queue.deliveries_wake()  # one wake-up claims them all, in batches
    pruned = limits.limits_prune()
    health.sweep_recorded()
    return {"expired_claims": expired, "requeued": requeued, "limit_windows_pruned": pruned}


# Twilio's final statuses; anything else (queued, sending, sent, ringing…) is progress only.
_RECEIPT_STATUSES = {
    "delivered": Status.DELIVERED,
    "completed": Status.DELIVERED,  # a voice call that was answered and played
    "undelivered": Status.UNDELIVERED,
    "failed": Status.UNDELIVERED,
    "busy": Status.UNDELIVERED,
    "no-answer": Status.UNDELIVERED,
    "canceled": Status.UNDELIVERED,
}


def message_receipt(
    *, provider_message_id: str, provider_status: str, error_code: str = ""
) -> PhoneMessage | None:
    """Apply a delivery receipt: sent → delivered / undelivered. Unknown ids are ignored."""
    new_status = _RECEIPT_STATUSES.get(provider_status)
    if not provider_message_id or new_status is None:
        return None
    message = PhoneMessage.objects.filter(provider_message_id=provider_message_id).first()
    if message is None:
        return None
    reason = f"Twilio reported {provider_status}"
    if error_code:
        reason += f" (error {error_code})"
    # Only a sent message moves; a late or repeated receipt never rewrites a final outcome.
    PhoneMessage.objects.filter(pk=message.pk, status=Status.SENT).update(
        status=new_status,
        reason="" if new_status == Status.DELIVERED else reason,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    message.refresh_from_db()
    return message
