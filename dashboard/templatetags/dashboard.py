from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from phoneprovider.phone import mask

register = template.Library()


@register.filter
def ago(value) -> str:
    """'just now' for the last minute, else '3 hours ago' (the largest unit only)."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def masked(number: str) -> str:
    """+14155550100 → +1415•••0100 (lists show no full numbers)."""
    return mask(number or "")


@register.simple_tag
def duration(start, end) -> str:
    """How long from ``start`` to ``end``: '350 ms', '4.2 s', '3 min'; '' when unfinished."""
    if not start or not end:
        return ""
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


TONES = {
    "delivered": "success",
    "sent": "success",
    "queued": "pending",
    "sending": "pending",
    "pending": "pending",
    "failed": "danger",
    "dropped": "danger",
    "undelivered": "danger",
    "blocked": "warning",
    "error": "danger",
    "drop": "danger",
    "retry": "warning",
}


@register.filter
def tone(status: str) -> str:
    """The pill colour of a message, attempt or execution status."""
    return TONES.get(status, "")
