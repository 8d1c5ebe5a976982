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
(``percentile_cont … WITHIN GROUP``, hour by hour: see ``_HOURLY``); SQLite has no percentile
aggregate, so there one GROUP BY query returns each hour's counts and durations (``GROUP_CONCAT``
of microseconds) and ``percentile_cont`` below computes the same interpolated percentile in
Python. (PostgreSQL interpolates intervals and rounds to the microsecond: the two agree to
0.001 ms.)

Route filter: ``ALL``; ``DEFAULT`` (the default provider: messages no rule took — neither a
rule now nor one since deleted, whose name the message keeps); or a ``Route``. Blocked messages
were refused before any route was chosen, so they count under ``ALL`` only.

Hours are UTC hours; a window ends with the current (partial) hour: 24 points for 24 h, 168 for
7 d (hourly too, so one bar is always one hour and the two windows compare directly).

Speed at a million messages (figures: bench/charts_bench.py, in the README):
- **A covering index** (``PhoneMessage.Meta``: ``created_at`` INCLUDE every column a chart
  reads) lets PostgreSQL answer from the index alone (index-only scans), without visiting the
  table: about half the time of reading a week cold. Index-only scans need the visibility map,
  which (auto)vacuum keeps; rows changed since are read from the table, so the answer is the same.
- **Settled hours are kept.** An hour that ended ``SETTLED_AFTER`` (2 h) ago hardly changes any
  more: retries are over within minutes, and only a late delivery receipt, an erasure or the
  retention purge still touches it. Its bucket is kept in Django's cache, per (filter, hour),
  for ``HOURS_KEPT_SECONDS`` (10 minutes) from when it was read, so a page draws a week from
  the cache plus ONE aggregate query over the hours not kept: at least the last three, or every
  hour when nothing is kept. The query is the same one, on fewer hours; a kept bucket is the
  figure that query returned, so the chart is the same. The bound: a change to a settled hour
  shows within ``HOURS_KEPT_SECONDS``; a change to any later hour, at once. The 24 h and 7 d
  windows share kept hours (an hour's bucket does not depend on the window). A cache that is
  down keeps nothing: every hour is read, as before. ``forget_kept_hours`` drops them all at
  once (a new epoch), for a database emptied behind the cache's back (tests).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
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

logger = logging.getLogger(__name__)

ALL = "all"
DEFAULT = "default"
WINDOWS = {"24h": 24, "7d": 7 * 24}  # window name → hours (one bucket per hour)

# Settled hours (see the module's notes): an hour is kept once it ended SETTLED_AFTER ago, and
# kept for HOURS_KEPT_SECONDS, the bound on how late a change to a settled hour shows.
SETTLED_AFTER = timedelta(hours=2)
HOURS_KEPT_SECONDS = 10 * 60
_KEPT_KEY = "charts:hours:v1:{}"
_EPOCH_KEY = "charts:hours:v1:epoch"

_Status = PhoneMessage.Status
SENT_STATUSES = (_Status.SENT, _Status.DELIVERED, _Status.UNDELIVERED)
# Counting created_at (never NULL), not the pk: the covering index holds it, so a GROUP BY
# (one route; route_totals) can be answered from the index alone too.
_COUNTS = {
    "sent": Count("created_at", filter=Q(status__in=SENT_STATUSES)),
    "delivered": Count("created_at", filter=Q(status=_Status.DELIVERED)),
    "failed": Count("created_at", filter=Q(status=_Status.FAILED)),
    "blocked": Count("created_at", filter=Q(status=_Status.BLOCKED)),
    "failed_over": Count("created_at", filter=Q(failed_over=True)),
    "total": Count("created_at"),
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
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``; two of them
    over the same ordering share one sort of the group."""

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
        # Neither a rule's nor a connection's Test (pinned to that connection): the provider's.
        return messages.filter(
            route__isnull=True, route_name="", pinned_connection__isnull=True
        ).exclude(status=_Status.BLOCKED)
    if route == ALL:
        return messages
    raise _unknown_route(route)


def _unknown_route(route) -> ValueError:
    return ValueError(f"Unknown route filter {route!r}: a Route, {ALL!r} or {DEFAULT!r}")


def percentiles_in_database() -> bool:
    """Whether the database computes percentiles (PostgreSQL); else Python does (SQLite)."""
    return connection.vendor == "postgresql"


def message_buckets(
    window: str = "24h", route: Route | str = ALL, *, now: datetime | None = None
) -> Chart:
    """Messages created in each hour of ``window`` (``"24h"`` or ``"7d"``), counted per outcome
    class, with p50 / p99 time to the provider; hours without messages are zeros. One query, over
    the hours not kept in the cache (settled hours are; the last three hours never are)."""
    now = (now or timezone.now()).astimezone(UTC)
    start = window_start(window, now)
    hours = [start + timedelta(hours=n) for n in range(window_hours(window))]
    key = _KEPT_KEY.format(_filter_key(route))
    epoch, kept = _kept_hours(key)  # hour → (when it was stored, its bucket)
    settled_before = now - SETTLED_AFTER - timedelta(hours=1)  # an hour starting by then

    def settled(hour):
        return hour <= settled_before

    missing = [hour for hour in hours if not (settled(hour) and hour in kept)]
    if percentiles_in_database() and not isinstance(route, Route):
        asked = missing
        found = _hours_postgresql(asked, route)
    else:
        asked = hours[hours.index(missing[0]) :]  # one range: from the first hour not kept on
        found = _hours_grouped(_route_filtered(_in_range(asked[0], hours[-1]), route))
    fresh = {hour: found.get(hour) or HourBucket(start=hour) for hour in asked}
    stored_at = time.time()
    to_keep = {hour: (stored_at, bucket) for hour, bucket in fresh.items() if settled(hour)}
    if to_keep:
        oldest = start - timedelta(days=7)  # hours no window shows any more are let go
        _keep_hours(
            key, epoch, {h: kept[h] for h in kept if h >= oldest and h not in fresh} | to_keep
        )
    buckets = {hour: bucket for hour, (_, bucket) in kept.items()} | fresh
    return Chart(window=window, buckets=[buckets[hour] for hour in hours])


def forget_kept_hours() -> None:
    """Drop every kept hour, of every filter, at once (a new epoch): for a database emptied or
    replaced behind the cache's back, as tests do."""
    cache.set(_EPOCH_KEY, uuid.uuid4().hex, None)


def _filter_key(route: Route | str) -> str:
    if isinstance(route, Route):
        return f"route:{route.pk}"
    if route in (ALL, DEFAULT):
        return route
    raise _unknown_route(route)


def _kept_hours(key: str) -> tuple[str | None, dict[datetime, tuple[float, HourBucket]]]:
    """The epoch now, and this filter's kept hours stored less than HOURS_KEPT_SECONDS ago. One
    cache round trip; a cache that cannot answer keeps nothing (the chart is then just slower)."""
    try:
        got = cache.get_many([_EPOCH_KEY, key])
    except Exception:  # a cache that is down must not take the Messages page with it
        logger.warning("Chart cache unreadable; querying every hour", exc_info=True)
        return None, {}
    epoch, entry = got.get(_EPOCH_KEY), got.get(key)
    if not entry or entry.get("epoch") != epoch:
        return epoch, {}
    oldest = time.time() - HOURS_KEPT_SECONDS
    kept = {}
    for timestamp, (stored_at, counts, p50_ms, p99_ms) in entry["hours"].items():
        if stored_at > oldest:
            hour = datetime.fromtimestamp(timestamp, UTC)
            bucket = HourBucket(*counts, start=hour, p50_ms=p50_ms, p99_ms=p99_ms)
            kept[hour] = (stored_at, bucket)
    return epoch, kept


def _keep_hours(key: str, epoch: str | None, kept: dict[datetime, tuple[float, HourBucket]]):
    hours = {
        int(hour.timestamp()): (
            stored_at,
            tuple(getattr(bucket, f.name) for f in fields(Counts)),
            bucket.p50_ms,
            bucket.p99_ms,
        )
        for hour, (stored_at, bucket) in kept.items()
    }
    try:
        cache.set(key, {"epoch": epoch, "hours": hours}, HOURS_KEPT_SECONDS)
    except Exception:
        logger.warning("Chart cache unwritable; hours not kept", exc_info=True)


def _in_range(first_hour: datetime, last_hour: datetime) -> QuerySet[PhoneMessage]:
    end = last_hour + timedelta(hours=1)
    return PhoneMessage.objects.filter(created_at__gte=first_hour, created_at__lt=end).order_by()


# PostgreSQL, all messages or the default provider's: one aggregate per hour asked (the hours
# not kept), each over its hour's range of the covering created_at index. A GROUP BY
# date_trunc(…) has to sort the whole window first (1M rows spill to disk at the default
# work_mem; the planner, unable to tell how many hours there are, will not hash them), whereas
# here each hour's percentile sorts only that hour's rows, in memory. One route's messages are
# sparse in each hour: they are read faster all at once off the route's index and grouped
# (``_hours_grouped``). With 1M messages over 7 days (bench/charts_bench.py; a shared 2-core
# machine at load 6-8, so noisy), cold / with settled hours kept: 7 d all 0.53 s / 19 ms (1.5 s
# before the covering index and kept hours), default provider 0.55 s / 15 ms (1.3 s), one route
# 0.43 s / 13 ms (0.51 s); 24 h all 134 ms / 17 ms (204 ms). Cold, the percentiles' sorts and
# the FILTERs are most of the time now, no longer the reading.
_HOURLY = """
SELECT h.hour, a.sent, a.delivered, a.failed, a.blocked, a.failed_over, a.total, a.p50, a.p99
FROM unnest(%(hours)s::timestamptz[]) AS h(hour)
CROSS JOIN LATERAL (
    SELECT
        COUNT(*) FILTER (WHERE m.status = ANY(%(sent)s)) AS sent,
        COUNT(*) FILTER (WHERE m.status = %(delivered)s) AS delivered,
        COUNT(*) FILTER (WHERE m.status = %(failed)s) AS failed,
        COUNT(*) FILTER (WHERE m.status = %(blocked)s) AS blocked,
        COUNT(*) FILTER (WHERE m.failed_over) AS failed_over,
        COUNT(*) AS total,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY m.sent_at - m.created_at) AS p50,
        PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY m.sent_at - m.created_at) AS p99
    FROM {table} AS m
    WHERE m.created_at >= h.hour AND m.created_at < h.hour + interval '1 hour' {route}
) AS a
"""
_ROUTE_SQL = {
    ALL: "",
    DEFAULT: (
        "AND m.route_id IS NULL AND m.route_name = '' AND m.pinned_connection_id IS NULL "
        "AND m.status <> %(blocked)s"
    ),
}


def _hours_postgresql(hours: list[datetime], route: str) -> dict[datetime, HourBucket]:
    if route not in _ROUTE_SQL:
        raise _unknown_route(route)
    sql = _HOURLY.format(table=PhoneMessage._meta.db_table, route=_ROUTE_SQL[route])
    params = {
        "hours": hours,
        "sent": [str(status) for status in SENT_STATUSES],
        "delivered": str(_Status.DELIVERED),
        "failed": str(_Status.FAILED),
        "blocked": str(_Status.BLOCKED),
    }
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for hour, *counts, p50, p99 in cursor.fetchall():
            hour = hour.astimezone(UTC)
            found[hour] = HourBucket(
                start=hour,
                **dict(zip(_COUNTS, counts, strict=True)),
                p50_ms=_milliseconds(p50),
                p99_ms=_milliseconds(p99),
            )
    return found


def _hours_grouped(messages: QuerySet[PhoneMessage]) -> dict[datetime, HourBucket]:
    """GROUP BY the hour: percentile_cont on PostgreSQL; elsewhere each hour's durations come
    back as text and percentiles are computed here."""
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
    return found


def route_totals(window: str = "24h", *, now: datetime | None = None) -> list[RouteTotals]:
    """Each route's counts over ``window``, one query: a row per rule that took messages
    (``route_id``), one for the default provider (``route_id`` None, no name) and one per
    since-deleted rule (``route_id`` None, its name). Blocked messages belong to no route and
    are left out (``message_buckets(window).totals()`` has them), and so are connection Tests
    (pinned to a connection, sent by no rule). Busiest first."""
    rows = (
        _in_window(window, now)
        .exclude(status=_Status.BLOCKED)
        .filter(pinned_connection__isnull=True)
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


def chart_routes() -> list[Route]:
    """The rules a chart can be filtered by, in rule order (names and public ids only)."""
    return list(Route.objects.order_by("position", "pk").only("pk", "public_id", "name"))


def _milliseconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration / timedelta(milliseconds=1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
