"""Abuse limits that sit before any provider code runs (SMS pumping costs real money).

Counts come from the message table itself, so every worker and web process sees the same
numbers without a separate counter store. Two racing requests can both pass a limit at its edge;
the overshoot is bounded by the number of concurrent requests, which is acceptable for abuse
limits and keeps the hot path free of locks.
"""

from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from django.db import transaction
from django.utils import timezone

from phoneprovider.errors import ValidationError
from phoneprovider.models import DeliveryPolicy, PhoneMessage
from phoneprovider.services.audit import audit_record

COUNTRY_FIELDS = (
    "text_countries_allowed",
    "text_countries_denied",
    "voice_countries_allowed",
    "voice_countries_denied",
)
NUMBER_FIELDS = ("recipient_per_hour", "prefix_digits", "prefix_per_minute", "global_per_minute")


@dataclass(frozen=True)
class LimitHit:
    rule: str
    reason: str


def policy_get() -> DeliveryPolicy:
    policy, _ = DeliveryPolicy.objects.get_or_create(installation=1)
    return policy


def _countries_clean(field: str, values) -> list[str]:
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    codes = [str(v).strip().upper() for v in values or []]
    known = phonenumbers.SUPPORTED_REGIONS
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(
            f"Unknown country code {unknown[0]!r}; use ISO 3166 codes such as US, GB, FR.",
            field=field,
        )
    return sorted(set(codes))


@transaction.atomic
def policy_update(*, actor: str, **changes) -> DeliveryPolicy:
    policy = DeliveryPolicy.objects.select_for_update().get(pk=policy_get().pk)
    for field, value in changes.items():
        if field in COUNTRY_FIELDS:
            value = _countries_clean(field, value)
        elif field in NUMBER_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"{field} must be a whole number, 0 or more.", field=field)
        elif field == "mode":
            if value not in DeliveryPolicy.Mode.values:
                raise ValidationError("mode is 'enforce' or 'record_only'.", field=field)
        elif field == "failover_to_twilio":
            value = bool(value)
        else:
            raise ValidationError(f"Unknown setting {field!r}.", field=field)
        setattr(policy, field, value)
    if not 2 <= policy.prefix_digits <= 15:
        raise ValidationError("prefix_digits is between 2 and 15.", field="prefix_digits")
    policy.save()
    audit_record(actor=actor, verb="update", object_type="delivery_policy", changes=changes)
    return policy


def _region(recipient: str) -> str:
    return phonenumbers.region_code_for_number(phonenumbers.parse(recipient)) or ""


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


def limits_check(
    policy: DeliveryPolicy, *, recipient: str, delivery_method: str
) -> LimitHit | None:
    """The first rule this send would break, or None."""
    region = _region(recipient)
    allowed = getattr(policy, f"{delivery_method}_countries_allowed")
    denied = getattr(policy, f"{delivery_method}_countries_denied")
    if region in denied or (allowed and region not in allowed):
        return LimitHit(
            f"country_{delivery_method}",
            f"{delivery_method.capitalize()} messages to {region or 'this country'} are not "
            "allowed by the country rules.",
        )
    now = timezone.now()
    recent = PhoneMessage.objects.exclude(status=PhoneMessage.Status.BLOCKED)
    if policy.recipient_per_hour and (
        recent.filter(recipient=recipient, created_at__gte=now - timedelta(hours=1)).count()
        >= policy.recipient_per_hour
    ):
        return LimitHit(
            "recipient_per_hour",
            f"This number already got {_messages(policy.recipient_per_hour)} in the last hour.",
        )
    minute_ago = now - timedelta(minutes=1)
    prefix = recipient[: policy.prefix_digits]
    if policy.prefix_per_minute and (
        recent.filter(recipient__startswith=prefix, created_at__gte=minute_ago).count()
        >= policy.prefix_per_minute
    ):
        return LimitHit(
            "prefix_per_minute",
            f"Numbers starting {prefix} already got {_messages(policy.prefix_per_minute)} in "
            "the last minute.",
        )
    if policy.global_per_minute and (
        recent.filter(created_at__gte=minute_ago).count() >= policy.global_per_minute
    ):
        return LimitHit(
            "global_per_minute",
            f"{_messages(policy.global_per_minute)} already went out in the last minute.",
        )
    return None
