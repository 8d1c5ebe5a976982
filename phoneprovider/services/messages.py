"""Intake of messages: validate, render and store them in the outbox (one, a batch, a resend).

Delivery (claim → attempt → provider → outcome), the sweeper and receipts are in
``services.delivery``."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from phoneprovider.config_cache import Snapshot
from phoneprovider.crypto import reveal
from phoneprovider.errors import ApplicationError, ValidationError
from phoneprovider.models import (
    Connection,
    DeliveryMethod,
    MessageType,
    PhoneMessage,
    PhoneProvider,
)
from phoneprovider.phone import normalize_e164, normalize_sender
from phoneprovider.providers.templates import DEFAULT_BODIES, TemplateRenderError, render
from phoneprovider.services import limits, queue
from phoneprovider.services.audit import audit_record
from phoneprovider.tenant import tenant as tenant_settings

logger = logging.getLogger(__name__)

Status = PhoneMessage.Status


def template_variables(*, code: str, locale: str, context: dict) -> dict:
    """The Liquid variables Auth0 templates know."""
    tenant = tenant_settings()
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
    record_bad_recipient: bool = False,
    connection: Connection | None = None,
    config: Snapshot | None = None,
) -> PhoneMessage:
    """Validate, check limits, render and store a message, then enqueue it after commit.

    The same ``idempotency_key`` twice returns the first message and sends nothing more. A send
    that breaks an abuse limit is stored as ``blocked`` with the rule and never enqueued (in
    record-only mode it goes out, with the rule noted).

    The lean path every send takes: configuration from the process's copies (``Snapshot``), one
    look-up when there is an idempotency key, one INSERT, and the enqueue once it is committed.
    ``config``: the caller's snapshot (the API's, which authenticated the request), so a request
    reads the configuration generation once; else a new one.
    """
    if idempotency_key:
        existing = PhoneMessage.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    message = _message_build(
        config or Snapshot(),
        to=to,
        message_type=message_type,
        delivery_method=delivery_method,
        code=code,
        locale=locale,
        sender=sender,
        context=context,
        idempotency_key=idempotency_key,
        is_test=is_test,
        record_bad_recipient=record_bad_recipient,
        connection=connection,
    )
    try:
        _insert(message)
    except IntegrityError:
        # Two requests raced with one idempotency key: the other one won.
        return PhoneMessage.objects.get(idempotency_key=idempotency_key)
    if message.status == Status.QUEUED:
        transaction.on_commit(lambda: queue.message_enqueue(message.pk))
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


def message_queue_batch(
    items: list[dict], *, config: Snapshot | None = None
) -> list[PhoneMessage | ApplicationError]:
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
    config = config or Snapshot()
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
    transaction.on_commit(lambda: [queue.message_enqueue(pk) for pk in queued])
    return results


def _provider_check(provider: PhoneProvider | None, delivery_method: str) -> None:
    if provider is None:
        raise ValidationError("No phone provider is configured yet.", field="provider")
    if provider.disabled:
        raise ValidationError("The phone provider is disabled.", field="provider")
    if delivery_method not in provider.delivery_methods:
        raise ValidationError(
            f"The phone provider is not set up to deliver by {delivery_method}.",
            field="delivery_method",
        )


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
    record_bad_recipient: bool = False,
    connection: Connection | None = None,
) -> PhoneMessage:
    """A new message, not yet saved: validated, rendered, and counted against the abuse limits
    (``blocked`` with the rule when one refuses it).

    ``record_bad_recipient``: a ``to`` that is not an E.164 number makes a ``failed`` message
    that names the reason, instead of an error: Auth0's try endpoints accept any ``to``.
    ``connection``: send through this route connection only (its Test), not the provider."""
    try:
        recipient = normalize_e164(to, field="to")
    except ValidationError as exc:
        if not record_bad_recipient:
            raise
        recipient, unsendable = (to or "").strip(), f"Nothing was sent: {exc.message}"
    else:
        unsendable = ""
    if message_type not in MessageType.values:
        raise ValidationError(
            f"message_type must be one of {', '.join(MessageType.values)}.", field="message_type"
        )
    if delivery_method not in DeliveryMethod.values:
        raise ValidationError("delivery_method must be 'text' or 'voice'.", field="delivery_method")
    if connection is None:
        _provider_check(config.provider(), delivery_method)
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
    hit = None
    if not unsendable:
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
        provider_name=connection.kind if connection else config.provider().name,
        pinned_connection=connection,
        limit_rule=hit.rule if hit else "",
    )
    if blocked:
        message.status = Status.BLOCKED
        message.reason = hit.reason
        message.finished_at = timezone.now()
    elif unsendable:
        message.status, message.reason = Status.FAILED, unsendable
        message.finished_at = timezone.now()
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
