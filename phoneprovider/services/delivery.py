"""Delivery of queued messages: claim → attempt → provider → outcome, failover, retries with
backoff, the sweeper that puts lost work back, and delivery receipts."""

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from phoneprovider import health
from phoneprovider.config_cache import Snapshot
from phoneprovider.crypto import SecretUnavailable, is_undecryptable
from phoneprovider.masking import mask_deep
from phoneprovider.models import (
    DeliveryAttempt,
    Execution,
    PhoneMessage,
    PhoneProvider,
)
from phoneprovider.providers import SendResult, custom, twilio
from phoneprovider.services import limits, queue
from phoneprovider.services.executions import REASON_MAX, outcome_fields

logger = logging.getLogger(__name__)

Status = PhoneMessage.Status
RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 120


def _claim(message_pk: int) -> PhoneMessage | None:
    """queued → sending, only if due and nobody else holds it. Returns the claimed row."""
    now = timezone.now()
    claimed = (
        PhoneMessage.objects.filter(pk=message_pk, status=Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=Status.SENDING,
            claim_expires_at=now + timedelta(seconds=settings.MESSAGE_CLAIM_SECONDS),
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return PhoneMessage.objects.get(pk=message_pk)


def _finish(message: PhoneMessage, status: str, reason: str = "", **fields) -> None:
    message.status = status
    message.reason = reason[:REASON_MAX]
    message.claim_expires_at = None
    changed = ["status", "reason", "claim_expires_at", "updated_at", *fields]
    if status in PhoneMessage.FINAL_STATUSES:
        message.finished_at = timezone.now()
        changed.append("finished_at")
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=changed)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


def _send(config: Snapshot, provider: PhoneProvider, message: PhoneMessage) -> SendResult:
    if provider.name == PhoneProvider.Name.TWILIO:
        return twilio.send(provider, message)
    version, secrets = config.custom_handler()
    if version is None:
        return SendResult("failed", "The custom provider has no deployed Action.")
    return custom.send(message, version, secrets)


def _execution_record(result: SendResult, code: str = "") -> Execution | None:
    if result.execution is None:
        return None
    return Execution.objects.create(
        action_id=result.version.action_id if result.version else None,
        version=result.version,
        kind=Execution.Kind.DELIVERY,
        # What the handler logged or fetched shows the code masked (MASK_CODES), as pages do.
        **outcome_fields(mask_deep(result.execution, code)),
    )


def message_deliver(message_pk: int) -> PhoneMessage | None:
    """Deliver one message once: claim it, record the attempt, call the provider, move it on."""
    config = Snapshot()
    provider = config.provider()
    # The claim and its attempt row commit together: one durable write before the send.
    with transaction.atomic():
        message = _claim(message_pk)
        if message is None:
            return None  # already taken, finished, or not yet due
        if message.attempt_count > settings.MESSAGE_MAX_ATTEMPTS:
            _finish(
                message,
                Status.FAILED,
                f"Gave up after {settings.MESSAGE_MAX_ATTEMPTS} attempts that did not finish.",
            )
            return message
        if provider is None or provider.disabled:
            _finish(message, Status.FAILED, "No enabled phone provider is configured.")
            return message
        attempt = DeliveryAttempt.objects.create(
            message=message, number=message.attempt_count, provider_name=provider.name
        )
    result = _send_safely(message, lambda: _send(config, provider, message))
    _record_result(message, attempt, result)
    if _should_fail_over(config, provider, message):
        _fail_over(provider, message)
    return message


def _send_safely(message: PhoneMessage, send: Callable[[], SendResult]) -> SendResult:
    try:
        return send()
    except SecretUnavailable as exc:  # the operator can put the old key back: retried till then
        logger.error("Delivery of %s: %s", message.public_id, exc.message)
        return SendResult("retry", exc.message)
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


def _fail_over(provider: PhoneProvider, message: PhoneMessage) -> None:
    custom_reason = message.reason
    message.attempt_count += 1
    message.failed_over = True
    message.status = Status.SENDING
    message.save(update_fields=["attempt_count", "failed_over", "status", "updated_at"])
    attempt = DeliveryAttempt.objects.create(
        message=message, number=message.attempt_count, provider_name=PhoneProvider.Name.TWILIO
    )
    result = _send_safely(message, lambda: twilio.send(provider, message))
    if result.outcome == "retry":  # one failover try: the custom provider already used retries
        result = SendResult("failed", result.reason)
    if result.outcome == "failed":
        result.reason = f"Custom provider: {custom_reason} Twilio failover: {result.reason}"
    _record_result(message, attempt, result)


@transaction.atomic
def _record_result(
    message: PhoneMessage, attempt: DeliveryAttempt, result: SendResult
) -> PhoneMessage:
    if not list(PhoneMessage.objects.select_for_update().filter(pk=message.pk).values("pk")):
        # Erased while it was being sent (services.erasure): nothing is to be kept about it.
        return message
    now = timezone.now()
    attempt.execution = _execution_record(
        result, "" if is_undecryptable(message.code) else message.code
    )
    attempt.outcome = {
        "sent": DeliveryAttempt.Outcome.SENT,
        "delivered": DeliveryAttempt.Outcome.SENT,
        "retry": DeliveryAttempt.Outcome.RETRY,
        "failed": DeliveryAttempt.Outcome.FAILED,
        "dropped": DeliveryAttempt.Outcome.DROPPED,
    }[result.outcome]
    attempt.error = result.reason[:REASON_MAX]
    attempt.provider_message_id = result.provider_message_id
    attempt.ended_at = now
    attempt.save(update_fields=["execution", "outcome", "error", "provider_message_id", "ended_at"])

    if result.outcome in ("sent", "delivered"):
        _finish(
            message, result.outcome, provider_message_id=result.provider_message_id, sent_at=now
        )
    elif result.outcome == "dropped":
        _finish(message, Status.DROPPED, result.reason)
    elif result.outcome == "failed":
        _finish(message, Status.FAILED, result.reason)
    elif message.attempt_count >= settings.MESSAGE_MAX_ATTEMPTS:
        _finish(
            message,
            Status.FAILED,
            f"Retries exhausted after {message.attempt_count} attempts: {result.reason}",
        )
    else:
        delay = retry_delay(message.attempt_count)
        due = now + timedelta(seconds=delay)
        if message.code and due > message.created_at + timedelta(
            seconds=settings.MESSAGE_CODE_TTL_SECONDS
        ):
            _finish(
                message,
                Status.FAILED,
                f"Not retried: the code would be stale by the next attempt. {result.reason}",
            )
        else:
            _finish(message, Status.QUEUED, result.reason, next_attempt_at=due)
            transaction.on_commit(lambda: queue.message_enqueue(message.pk, countdown=delay))
    return message


def message_sweep() -> dict:
    """Put lost work back on the queue: expired claims and queued rows whose enqueue was lost."""
    now = timezone.now()
    requeued = expired = 0
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
    for pk in stuck + due:
        queue.message_enqueue(pk)
        requeued += 1
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
