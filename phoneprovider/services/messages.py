"""Writes of messages: queue (the outbox), deliver (claim → attempt → provider → outcome), sweep."""

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from phoneprovider import health
from phoneprovider.config_cache import Snapshot
from phoneprovider.crypto import SecretUnavailable, is_undecryptable, reveal
from phoneprovider.errors import ApplicationError, ValidationError
from phoneprovider.masking import mask_deep
from phoneprovider.models import (
    DeliveryAttempt,
    DeliveryMethod,
    Execution,
    MessageType,
    PhoneMessage,
    PhoneProvider,
)
from phoneprovider.phone import normalize_e164, normalize_sender
from phoneprovider.providers import SendResult, custom, twilio
from phoneprovider.providers.templates import DEFAULT_BODIES, TemplateRenderError, render
from phoneprovider.services import limits, queue
from phoneprovider.services.audit import audit_record
from phoneprovider.services.executions import REASON_MAX, outcome_fields

logger = logging.getLogger(__name__)

Status = PhoneMessage.Status
RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 120


def template_variables(*, code: str, locale: str, context: dict) -> dict:
    """The Liquid variables Auth0 templates know."""
    tenant = custom.tenant()
    user = dict(context.get("user") or {})
    request = context.get("request") or {}
    user.setdefault("source_ip", request.get("ip", ""))
    geoip = request.get("geoip") or {}
    user.setdefault("city", geoip.get("cityName", ""))
    user.setdefault("country", geoip.get("countryName", ""))
    return {
        "code": code,
        "friendly_name": tenant["friendly_name"],
        "tenant": tenant["id"],
        "locale": locale,
        "support_email": settings.TENANT_SUPPORT_EMAIL,
        "support_url": settings.TENANT_SUPPORT_URL,
        "home_url": settings.TENANT_HOME_URL,
        "logo_url": settings.TENANT_LOGO_URL,
        "user": user,
        "client": context.get("client") or {},
        "organization": context.get("organization") or {},
    }


def _enqueue(message_pk: int, countdown: float | None = None) -> None:
    # The row is already committed; if the broker is down the sweeper enqueues it later.
    try:
        queue.enqueue(queue.DELIVER_MESSAGE, message_pk, countdown=countdown)
    except Exception:  # the broker can fail in many ways; the outbox row is what matters
        logger.warning(
            "Could not enqueue message %s; the sweeper will retry.", message_pk, exc_info=True
        )


def message_queue(
    *,
    to: str,
    message_type: str = MessageType.OTP_VERIFY,
    delivery_method: str = DeliveryMethod.TEXT,
    code: str = "",
    locale: str = "",
    sender: str = "",
    context: dict | None = None,
    idempotency_key: str | None = None,
    is_test: bool = False,
) -> PhoneMessage:
    """Validate, check limits, render and store a message, then enqueue it after commit.

    The same ``idempotency_key`` twice returns the first message and sends nothing more. A send
    that breaks an abuse limit is stored as ``blocked`` with the rule and never enqueued (in
    record-only mode it goes out, with the rule noted).

    The lean path every send takes: configuration from the process's copies (``Snapshot``), one
    look-up when there is an idempotency key, one INSERT, and the enqueue once it is committed.
    """
    if idempotency_key:
        existing = PhoneMessage.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    message = _message_build(
        Snapshot(),
        to=to,
        message_type=message_type,
        delivery_method=delivery_method,
        code=code,
        locale=locale,
        sender=sender,
        context=context,
        idempotency_key=idempotency_key,
        is_test=is_test,
    )
    try:
        _insert(message)
    except IntegrityError:
        # Two requests raced with one idempotency key: the other one won.
        return PhoneMessage.objects.get(idempotency_key=idempotency_key)
    if message.status == Status.QUEUED:
        transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _insert(message: PhoneMessage) -> None:
    """One INSERT. On its own it is its own transaction (no BEGIN/COMMIT round trips); inside a
    caller's transaction a savepoint keeps that transaction usable after a duplicate key."""
    message.pk = None
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            message.save(force_insert=True)
    else:
        message.save(force_insert=True)


BATCH_MAX = 1000


def message_queue_batch(items: list[dict]) -> list[PhoneMessage | ApplicationError]:
    """Queue many messages at once: each item takes ``message_queue``'s keyword arguments and
    gets its own result, in order — the message (new, or the earlier one with the same
    idempotency key) or the error that refused it. Refused items do not stop the others.

    One look-up for all idempotency keys, one reading of the configuration, one multi-row
    INSERT; each message is enqueued once the batch has committed.
    """
    if len(items) > BATCH_MAX:
        raise ValidationError(f"At most {BATCH_MAX} messages per batch.", field="messages")
    keys = [item["idempotency_key"] for item in items if item.get("idempotency_key")]
    by_key = {m.idempotency_key: m for m in PhoneMessage.objects.filter(idempotency_key__in=keys)}
    config = Snapshot()
    results: list[PhoneMessage | ApplicationError] = []
    new: list[PhoneMessage] = []
    for item in items:
        key = item.get("idempotency_key") or None
        if key in by_key:  # stored before, or earlier in this batch
            results.append(by_key[key])
            continue
        try:
            message = _message_build(config, **item)
        except ApplicationError as exc:
            results.append(exc)
            continue
        new.append(message)
        results.append(message)
        if key:
            by_key[key] = message
    try:
        with transaction.atomic():
            PhoneMessage.objects.bulk_create(new)
    except IntegrityError:
        # Another request stored one of these idempotency keys meanwhile: one at a time, so each
        # such item gets the stored message and the others are still stored.
        stored = {}
        for message in new:
            try:
                _insert(message)
            except IntegrityError:
                key = message.idempotency_key
                stored[id(message)] = PhoneMessage.objects.get(idempotency_key=key)
        results = [stored.get(id(result), result) for result in results]
        new = [message for message in new if id(message) not in stored]
    queued = [m.pk for m in new if m.status == Status.QUEUED]
    transaction.on_commit(lambda: [_enqueue(pk) for pk in queued])
    return results


def _message_build(
    config: Snapshot,
    *,
    to: str,
    message_type: str = MessageType.OTP_VERIFY,
    delivery_method: str = DeliveryMethod.TEXT,
    code: str = "",
    locale: str = "",
    sender: str = "",
    context: dict | None = None,
    idempotency_key: str | None = None,
    is_test: bool = False,
) -> PhoneMessage:
    """A new message, not yet saved: validated, rendered, and counted against the abuse limits
    (``blocked`` with the rule when one refuses it)."""
    recipient = normalize_e164(to, field="to")
    if message_type not in MessageType.values:
        raise ValidationError(
            f"message_type must be one of {', '.join(MessageType.values)}.", field="message_type"
        )
    if delivery_method not in DeliveryMethod.values:
        raise ValidationError("delivery_method must be 'text' or 'voice'.", field="delivery_method")
    provider = config.provider()
    if provider is None:
        raise ValidationError("No phone provider is configured yet.", field="provider")
    if provider.disabled:
        raise ValidationError("The phone provider is disabled.", field="provider")
    if delivery_method not in provider.delivery_methods:
        raise ValidationError(
            f"The phone provider is not set up to deliver by {delivery_method}.",
            field="delivery_method",
        )
    context = context or {}
    template = config.template(message_type)
    if template is not None and template.disabled:
        raise ValidationError(
            f"The {message_type} template is disabled, so no message is sent.",
            field="message_type",
        )
    defaults = DEFAULT_BODIES[message_type]
    try:
        rendered = render(
            template.text_body if template else defaults["text"],
            template.voice_body if template else defaults["voice"],
            template_variables(code=code, locale=locale, context=context),
        )
    except TemplateRenderError as exc:
        raise ValidationError(
            f"The {message_type} template cannot be sent: {exc.message}", field="message_type"
        ) from None
    sender = normalize_sender(sender, field="from") if sender else ""
    if not sender and template is not None and template.from_number:
        sender = template.from_number
    policy = config.policy()
    hit = limits.limits_take(policy, recipient=recipient, delivery_method=delivery_method)
    blocked = hit is not None and policy.mode == policy.Mode.ENFORCE
    message = PhoneMessage(
        idempotency_key=idempotency_key or None,
        recipient=recipient,
        message_type=message_type,
        delivery_method=delivery_method,
        code=code or "",
        locale=locale or "",
        sender=sender,
        as_text=rendered.as_text,
        as_voice=rendered.as_voice,
        context=context,
        is_test=is_test,
        provider_name=provider.name,
        limit_rule=hit.rule if hit else "",
    )
    if blocked:
        message.status = Status.BLOCKED
        message.reason = hit.reason
        message.finished_at = timezone.now()
    return message


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
            transaction.on_commit(lambda: _enqueue(message.pk, countdown=delay))
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
        _enqueue(pk)
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


RESENDABLE_STATUSES = (Status.FAILED, Status.DROPPED, Status.UNDELIVERED, Status.BLOCKED)


def message_resend(message: PhoneMessage, *, actor: str) -> PhoneMessage:
    """Queue a new message like a failed one: same recipient, type, method, code and context.

    The new message goes through every check again (limits, templates, provider), so a resend
    of a blocked message may well be blocked again.
    """
    if message.status not in RESENDABLE_STATUSES:
        raise ValidationError(
            f"Only failed, dropped, undelivered or blocked messages can be resent; "
            f"this one is {message.status}.",
            field="status",
        )
    new = message_queue(
        to=message.recipient,
        message_type=message.message_type,
        delivery_method=message.delivery_method,
        code=reveal(message.code, f"The code of message {message.public_id}"),
        locale=message.locale,
        sender=message.sender,
        context=message.context,
        is_test=message.is_test,
    )
    audit_record(
        actor=actor,
        verb="resend",
        object_type="phone_message",
        object_id=message.public_id,
        changes={"new_message": new.public_id},
    )
    return new
