"""Reads for the delivery charts: messages per hour by outcome and time to the provider.

Shared by the Messages page (charts overall, per route) and the Routing page (per-route totals).
Each chart is ONE aggregate query over the window: rows grouped by their creation hour, counted
per outcome class with FILTER, and the p50 / p99 of ``sent_at - created_at`` beside them.

Outcome classes (a message counts in the class of its status now):
- **sent**: accepted by a provider — ``sent``, ``delivered`` or ``undelivered`` (a receipt
  that says it did not arrive still means the provider took it);
- **delivered**: a delivery receipt confirmed it (``delivered``; a subset of sent);
- **failed**: ``failed`` (permanent failure or retries exhausted);
- **blocked**: an abuse limit refused it before any provider code ran.
``queued``, ``sending`` and ``dropped`` are counted in ``total`` only.

Time to the provider is ``sent_at - created_at`` (``sent_at``: when the provider accepted the
message), over the messages that have one. PostgreSQL computes the percentiles itself
(``percentile_cont … WITHIN GROUP``); SQLite has no percentile aggregate, so there the same query
returns each hour's durations (``GROUP_CONCAT`` of microseconds) and ``percentile_cont`` below
computes the same interpolated percentile in Python. (PostgreSQL interpolates intervals and rounds
to the microsecond; the two agree to 0.001 ms.)

Route filter: ``ALL``; ``DEFAULT`` (the default provider: messages no rule took — neither a
rule now nor one since deleted, whose name the message keeps); or a ``Route``. Blocked messages
were refused before any route was chosen, so they count under ``ALL`` only.

Hours are UTC hours; a window ends with the current (partial) hour: 24 points for 24 h, 168 for
7 d (hourly too, so one bar is always one hour and the two windows compare directly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import Trunc
from django.utils import timezone

from phoneprovider.models import PhoneMessage, Route

ALL = "all"
DEFAULT = "default"
WINDOWS = {"24h": 24, "7d": 7 * 24}  # window name → hours (one bucket per hour)

_Status = PhoneMessage.Status
SENT_STATUSES = (_Status.SENT, _Status.DELIVERED, _Status.UNDELIVERED)
_COUNTS = {
    "sent": Count("pk", filter=Q(status__in=SENT_STATUSES)),
    "delivered": Count("pk", filter=Q(status=_Status.DELIVERED)),
    "failed": Count("pk", filter=Q(status=_Status.FAILED)),
    "blocked": Count("pk", filter=Q(status=_Status.BLOCKED)),
    "failed_over": Count("pk", filter=Q(failed_over=True)),
    "total": Count("pk"),
}
_TO_PROVIDER = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    failed_over: int = 0
    total: int = 0


@dataclass(frozen=True)
class HourBucket(Counts):
    start: datetime | None = None  # the hour's start, UTC
    p50_ms: float | None = None  # time to the provider; None: nothing was sent that hour
    p99_ms: float | None = None


@dataclass(frozen=True)
class Chart:
    window: str
    buckets: list[HourBucket]

    def totals(self) -> Counts:
        return Counts(
            **{f.name: sum(getattr(b, f.name) for b in self.buckets) for f in fields(Counts)}
        )

    def series(self) -> dict:
        """Columns for the page's chart library: x as Unix seconds, one list per series."""
        return {
            "window": self.window,
            "t": [int(b.start.timestamp()) for b in self.buckets],
            **{name: [getattr(b, name) for b in self.buckets] for name in _SERIES},
            "p50": [_round(b.p50_ms) for b in self.buckets],
            "p99": [_round(b.p99_ms) for b in self.buckets],
        }


@dataclass(frozen=True)
class RouteTotals(Counts):
    route_id: int | None = None  # None: the default provider, or a rule since deleted
    deleted_route_name: str = ""  # the name a since-deleted rule had


_SERIES = ("sent", "delivered", "failed", "blocked")


class _PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``. Two of
    them over the same ordering share one sort of the group."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, fraction: float):
        super().__init__(expression, fraction=repr(float(fraction)))


class _Microseconds(Aggregate):
    """A group's durations as comma-separated integer microseconds (NULLs skipped): on SQLite
    Django's duration expression is microseconds already; PostgreSQL (where this path runs only
    when a test forces it) turns its intervals into them."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=(
                "STRING_AGG((EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint::text, ',')"
            ),
            **extra_context,
        )


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """``fraction``'s percentile of ``values`` interpolated linearly between the two nearest
    ranks, as PostgreSQL's ``percentile_cont`` computes it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def window_hours(window: str) -> int:
    try:
        return WINDOWS[window]
    except KeyError:
        raise ValueError(f"Unknown chart window {window!r}; one of {', '.join(WINDOWS)}") from None


def window_start(window: str, now: datetime | None = None) -> datetime:
    """The first hour of ``window`` (the last is the hour ``now`` is in)."""
    now = (now or timezone.now()).astimezone(UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    return current - timedelta(hours=window_hours(window) - 1)


def _in_window(window: str, now: datetime | None) -> QuerySet[PhoneMessage]:
    start = window_start(window, now)
    end = start + timedelta(hours=window_hours(window))
    return PhoneMessage.objects.filter(created_at__gte=start, created_at__lt=end).order_by()


def _route_filtered(messages: QuerySet[PhoneMessage], route: Route | str) -> QuerySet:
    if isinstance(route, Route):
        return messages.filter(route_id=route.pk)
    if route == DEFAULT:
        return messages.filter(route__isnull=True, route_name="").exclude(status=_Status.BLOCKED)
    if route == ALL:
        return messages
    raise ValueError(f"Unknown route filter {route!r}: a Route, {ALL!r} or {DEFAULT!r}")


def percentiles_in_database() -> bool:
    """Whether the database computes percentiles (PostgreSQL); else Python does (SQLite)."""
    return connection.vendor == "postgresql"


def message_buckets(
    window: str = "24h", route: Route | str = ALL, *, now: datetime | None = None
) -> Chart:
    """Messages created in each hour of ``window`` (``"24h"`` or ``"7d"``), counted per outcome
    class, with p50 / p99 time to the provider; hours without messages are zeros. One query."""
    messages = _route_filtered(_in_window(window, now), route)
    if percentiles_in_database():
        latency = {
            "p50": _PercentileCont(_TO_PROVIDER, 0.5),
            "p99": _PercentileCont(_TO_PROVIDER, 0.99),
        }
    else:
        latency = {"durations": _Microseconds(_TO_PROVIDER)}
    rows = (
        messages.annotate(hour=Trunc("created_at", "hour", tzinfo=UTC))
        .values("hour")
        .annotate(**_COUNTS, **latency)
    )
    found = {}
    for row in rows:
        hour = row.pop("hour").astimezone(UTC)
        if "durations" in row:
            durations = row.pop("durations")
            micros = [float(d) for d in durations.split(",")] if durations else []
            p50, p99 = (percentile_cont(micros, f) for f in (0.5, 0.99))
            row["p50_ms"] = None if p50 is None else p50 / 1000
            row["p99_ms"] = None if p99 is None else p99 / 1000
        else:
            row["p50_ms"] = _milliseconds(row.pop("p50"))
            row["p99_ms"] = _milliseconds(row.pop("p99"))
        found[hour] = HourBucket(start=hour, **row)
    start = window_start(window, now)
    hours = (start + timedelta(hours=n) for n in range(window_hours(window)))
    return Chart(
        window=window, buckets=[found.get(hour) or HourBucket(start=hour) for hour in hours]
    )


def route_totals(window: str = "24h", *, now: datetime | None = None) -> list[RouteTotals]:
    """Each route's counts over ``window``, one query: a row per rule that took messages
    (``route_id``), one for the default provider (``route_id`` None, no name) and one per
    since-deleted rule (``route_id`` None, its name). Blocked messages belong to no route and
    are left out (``message_buckets(window).totals()`` has them). Busiest first."""
    rows = (
        _in_window(window, now)
        .exclude(status=_Status.BLOCKED)
        .values("route_id", "route_name")
        .annotate(**_COUNTS)
    )
    merged: dict[tuple, dict] = {}
    for row in rows:
        # A live rule's messages may carry older names of it: one row per rule, not per name.
        key = (row["route_id"], "" if row["route_id"] else row["route_name"])
        into = merged.setdefault(key, dict.fromkeys(_COUNTS, 0))
        for name in _COUNTS:
            into[name] += row[name]
    totals = [
        RouteTotals(route_id=route_id, deleted_route_name=name, **counts)
        for (route_id, name), counts in merged.items()
    ]
    return sorted(totals, key=lambda t: (-t.total, t.route_id or 0, t.deleted_route_name))


def _milliseconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration / timedelta(milliseconds=1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
