"""Abuse limits that sit before any provider code runs (SMS pumping costs real money).

Per-number, per-prefix and global limits are atomic counters (``limit_counters``: Redis when
configured, the database otherwise), shared by every web and worker process; country rules are
read from the policy.
"""

from dataclasses import dataclass

from django.db import transaction

from phoneprovider import selectors
from phoneprovider.errors import ValidationError
from phoneprovider.models import DeliveryPolicy
from phoneprovider.phone import countries_clean, region_of
from phoneprovider.services import limit_counters as counters
from phoneprovider.services.audit import audit_record

COUNTRY_FIELDS = (
    "text_countries_allowed",
    "text_countries_denied",
    "voice_countries_allowed",
    "voice_countries_denied",
)
NUMBER_FIELDS = ("recipient_per_hour", "prefix_digits", "prefix_per_minute", "global_per_minute")
# What the Limits page calls each setting, for errors people read.
LABELS = {
    "recipient_per_hour": "Messages per number per hour",
    "prefix_digits": "Prefix length",
    "prefix_per_minute": "Messages per prefix per minute",
    "global_per_minute": "Messages per minute, in all",
    "text_countries_allowed": "Text: allowed countries",
    "text_countries_denied": "Text: denied countries",
    "voice_countries_allowed": "Voice: allowed countries",
    "voice_countries_denied": "Voice: denied countries",
    "mode": "Mode",
}


@dataclass(frozen=True)
class LimitHit:
    rule: str
    reason: str


def _countries_clean(field: str, values) -> list[str]:
    return countries_clean(values, field=field, label=LABELS[field])


@transaction.atomic
def policy_update(*, actor: str, **changes) -> DeliveryPolicy:
    policy = DeliveryPolicy.objects.select_for_update().get(pk=selectors.policy_get().pk)
    # Every problem at once, each with its field, so the page shows each beside its input.
    errors: list[ValidationError] = []
    for field, value in changes.items():
        if field in COUNTRY_FIELDS:
            try:
                value = _countries_clean(field, value)
            except ValidationError as exc:
                errors.append(exc)
                continue
        elif field in NUMBER_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors.append(
                    ValidationError(
                        f"{LABELS[field]} must be a whole number, 0 or more.", field=field
                    )
                )
                continue
        elif field == "mode":
            if value not in DeliveryPolicy.Mode.values:
                errors.append(ValidationError("Choose Enforce or Record only (mode).", field=field))
                continue
        elif field == "failover_to_twilio":
            value = bool(value)
        else:
            raise ValidationError(f"Unknown setting {field!r}.", field=field)
        setattr(policy, field, value)
    if "prefix_digits" not in {e.field for e in errors} and not 2 <= policy.prefix_digits <= 15:
        errors.append(
            ValidationError("Prefix length is between 2 and 15 characters.", field="prefix_digits")
        )
    ValidationError.raise_all(errors)
    policy.save()
    audit_record(actor=actor, verb="update", object_type="delivery_policy", changes=changes)
    return policy


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


def limits_take(policy: DeliveryPolicy, *, recipient: str, delivery_method: str) -> LimitHit | None:
    """The first rule this send breaks, or None; a send that breaks none is counted.

    Counting and checking are one atomic step per limit, so concurrent sends never together get
    past a limit. The limits are taken narrowest first; a send refused by a wider one (prefix,
    global) has already been counted against the narrower ones it passed, which errs towards
    refusing, never towards sending more than a limit allows. A refused send counts toward the
    limit that refused it in no case.
    """
    region = region_of(recipient)
    allowed = getattr(policy, f"{delivery_method}_countries_allowed")
    denied = getattr(policy, f"{delivery_method}_countries_denied")
    if region in denied or (allowed and region not in allowed):
        return LimitHit(
            f"country_{delivery_method}",
            f"{delivery_method.capitalize()} messages to {region or 'this country'} are not "
            "allowed by the country rules.",
        )
    if policy.recipient_per_hour and not counters.take(
        counters.PerHour(policy.recipient_per_hour, namespace=counters.NAMESPACE),
        "recipient",
        counters.subject(recipient),
    ):
        return LimitHit(
            "recipient_per_hour",
            # The limit, not a count: a refused send is not counted, so "got N" would be wrong
            # once more sends were refused.
            f"This number reached its limit of {_messages(policy.recipient_per_hour)} in the "
            "last hour.",
        )
    prefix = recipient[: policy.prefix_digits]
    if policy.prefix_per_minute and not counters.take(
        counters.PerMinute(policy.prefix_per_minute, namespace=counters.NAMESPACE),
        "prefix",
        counters.subject(prefix),
    ):
        return LimitHit(
            "prefix_per_minute",
            f"Numbers starting {prefix} reached their limit of "
            f"{_messages(policy.prefix_per_minute)} in the last minute.",
        )
    if policy.global_per_minute and not counters.take(
        counters.PerMinute(policy.global_per_minute, namespace=counters.NAMESPACE), "global"
    ):
        return LimitHit(
            "global_per_minute",
            f"The limit of {_messages(policy.global_per_minute)} a minute, in all, was reached.",
        )
    return None


def limits_forget_number(e164: str) -> None:
    """Erase what the abuse limits keep about one number (its per-hour counts).

    Counter keys hold only a keyed hash of the number; this drops those counts in the database
    and in Redis. Prefix and global counters are shared by many numbers and stay.
    """
    item = counters.PerHour(1, namespace=counters.NAMESPACE)
    counters.forget(item, "recipient", counters.subject(e164))


def limits_reset() -> None:
    """Forget every abuse-limit count (an operator starting afresh, and tests)."""
    counters.reset()


def limits_prune() -> int:
    """Delete database counter windows that no longer count. Returns how many went."""
    return counters.prune()
