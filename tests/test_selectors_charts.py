"""The delivery charts' aggregate: per-hour counts per outcome class and p50 / p99 time to the
provider, over 24 h or 7 d, overall, for the default provider and per route; per-route totals."""

import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection

from phoneprovider import selectors_charts
from phoneprovider.models import PhoneMessage, Route
from phoneprovider.selectors_charts import (
    ALL,
    DEFAULT,
    message_buckets,
    percentile_cont,
    route_totals,
)

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
HOUR = NOW.replace(minute=0, second=0)  # the current (last) hour of every window
SENT = {"sent", "delivered", "undelivered"}
HOURS_KEPT = selectors_charts.HOURS_KEPT_SECONDS


def _route(name: str, position: int) -> Route:
    route = Route(name=name, position=position)
    route.save()
    return route


def _write(specs) -> list[PhoneMessage]:
    """Messages from (created_at, status, route, latency ms or None, route_name) tuples; a sent
    one gets sent_at = created_at + latency."""
    messages = PhoneMessage.objects.bulk_create(
        PhoneMessage(
            recipient="+14155550100",
            message_type="otp_verify",
            delivery_method="text",
            status=status,
            route=route,
            route_name=route_name or (route.name if route else ""),
            failed_over=n % 7 == 0 and status in SENT,
        )
        for n, (_, status, route, _, route_name) in enumerate(specs)
    )
    # auto_now_add stamps every insert with now: set the times the test means afterwards.
    for message, (created, _, _, latency, _) in zip(messages, specs, strict=True):
        message.created_at = created
        message.sent_at = None if latency is None else created + timedelta(milliseconds=latency)
    PhoneMessage.objects.bulk_update(messages, ["created_at", "sent_at"])
    return messages


@pytest.fixture
def spread():
    """Messages over the last 7 days, in several hours, statuses and routes, with latencies
    (microsecond precision) drawn at random but fixed by the seed."""
    eu, us = _route("EU", 1), _route("US", 2)
    gone = _route("Old", 3)
    rng = random.Random(14)
    statuses = ["sent", "delivered", "undelivered", "failed", "blocked", "queued", "dropped"]
    specs = []
    # Hours before the current one; 23 is the 24 h window's first hour, 24 and 100 are only in 7 d.
    for hours_ago in (0, 1, 5, 23, 24, 100, 167):
        for n in range(40 + hours_ago % 13):
            status = statuses[n % len(statuses)]
            route = None if status == "blocked" else [None, eu, us, gone][n % 4]
            created = HOUR - timedelta(hours=hours_ago, seconds=-rng.randrange(3600))
            latency = round(rng.uniform(5, 4000), 3) if status in SENT else None
            specs.append((created, status, route, latency, ""))
    # Just outside the 7 d window, and just inside the 24 h one at its first instant.
    specs.append((HOUR - timedelta(hours=167, microseconds=1), "sent", None, 10.0, ""))
    specs.append((HOUR - timedelta(hours=23), "failed", eu, None, ""))
    written = _write(specs)
    gone.delete()  # its messages keep its name and lose the link (SET_NULL)
    rows = list(PhoneMessage.objects.all())
    assert len(rows) == len(written)
    return {"eu": eu, "us": us, "rows": rows}


def _expected(rows, window_hours: int, keep=lambda m: True) -> dict:
    """Per-hour counts and percentiles worked out here from the rows themselves."""
    first = HOUR - timedelta(hours=window_hours - 1)
    hours = defaultdict(list)
    for m in rows:
        if first <= m.created_at < HOUR + timedelta(hours=1) and keep(m):
            hours[m.created_at.replace(minute=0, second=0, microsecond=0)].append(m)
    expected = {}
    for hour, ms in hours.items():
        latencies = [
            (m.sent_at - m.created_at) / timedelta(milliseconds=1) for m in ms if m.sent_at
        ]
        expected[hour] = {
            "sent": sum(m.status in SENT for m in ms),
            "delivered": sum(m.status == "delivered" for m in ms),
            "failed": sum(m.status == "failed" for m in ms),
            "blocked": sum(m.status == "blocked" for m in ms),
            "failed_over": sum(m.failed_over for m in ms),
            "total": len(ms),
            # "inclusive" interpolates between the nearest ranks, as percentile_cont does.
            "p50_ms": statistics.median(latencies) if latencies else None,
            "p99_ms": (
                statistics.quantiles(latencies, n=100, method="inclusive")[98]
                if len(latencies) > 1
                else (latencies[0] if latencies else None)
            ),
        }
    return expected


def _assert_matches(chart, expected: dict, hours: int):
    assert len(chart.buckets) == hours
    assert chart.buckets[-1].start == HOUR
    assert chart.buckets[0].start == HOUR - timedelta(hours=hours - 1)
    assert [b.start for b in chart.buckets] == sorted({b.start for b in chart.buckets})
    for bucket in chart.buckets:
        want = expected.get(bucket.start)
        if want is None:  # an hour without messages is zeros, no latency
            assert (bucket.total, bucket.sent, bucket.p50_ms, bucket.p99_ms) == (0, 0, None, None)
            continue
        for name in ("sent", "delivered", "failed", "blocked", "failed_over", "total"):
            assert getattr(bucket, name) == want[name], (bucket.start, name)
        # PostgreSQL interpolates intervals to the microsecond: equal to 0.001 ms.
        for name in ("p50_ms", "p99_ms"):
            assert getattr(bucket, name) == pytest.approx(want[name], abs=1e-3), (
                bucket.start,
                name,
            )
    assert sum(1 for b in chart.buckets if b.total) == len(expected)


@pytest.mark.django_db
@pytest.mark.parametrize("window,hours", [("24h", 24), ("7d", 168)])
def test_hours_count_each_outcome_class_with_percentiles_and_zeros_between(
    spread, window, hours, django_assert_num_queries
):
    with django_assert_num_queries(1):
        chart = message_buckets(window, now=NOW)
    _assert_matches(chart, _expected(spread["rows"], hours), hours)
    # Some hours hold messages, the others are there as zeros.
    assert 0 < sum(1 for b in chart.buckets if b.total) < hours
    assert chart.totals().total == sum(b.total for b in chart.buckets)


@pytest.mark.django_db
def test_the_first_hour_counts_from_its_first_instant_and_older_ones_are_out(spread):
    day = message_buckets("24h", now=NOW)
    first = HOUR - timedelta(hours=23)
    assert day.buckets[0].start == first
    in_first = [m for m in spread["rows"] if first <= m.created_at < first + timedelta(hours=1)]
    assert day.buckets[0].total == len(in_first) > 0
    week = message_buckets("7d", now=NOW)
    assert week.totals().total == sum(
        1 for m in spread["rows"] if m.created_at >= HOUR - timedelta(hours=167)
    )
    assert week.totals().total == len(spread["rows"]) - 1  # the one a microsecond too old


@pytest.mark.django_db
@pytest.mark.parametrize("window,hours", [("24h", 24), ("7d", 168)])
def test_route_filter_counts_only_that_routes_messages(spread, window, hours):
    for route in (spread["eu"], spread["us"]):
        chart = message_buckets(window, route, now=NOW)
        expected = _expected(spread["rows"], hours, lambda m, r=route: m.route_id == r.pk)
        _assert_matches(chart, expected, hours)
        assert chart.totals().total > 0 and chart.totals().blocked == 0


@pytest.mark.django_db
def test_default_provider_filter_leaves_out_routes_deleted_rules_and_blocked(spread):
    chart = message_buckets("7d", DEFAULT, now=NOW)

    def default(m):
        return m.route_id is None and not m.route_name and m.status != "blocked"

    _assert_matches(chart, _expected(spread["rows"], 168, default), 168)
    totals = chart.totals()
    assert totals.total > 0 and totals.blocked == 0
    # All = default + each live route + the deleted rule + blocked: nothing lost or counted twice.
    parts = [message_buckets("7d", r, now=NOW).totals().total for r in (spread["eu"], spread["us"])]
    deleted = sum(1 for m in spread["rows"] if m.route_name == "Old" and m.route_id is None)
    week = message_buckets("7d", ALL, now=NOW).totals()
    assert totals.total + sum(parts) + deleted + week.blocked == week.total
    assert deleted > 0


@pytest.mark.django_db
@pytest.mark.parametrize("route", [ALL, DEFAULT, "eu"])
def test_percentiles_computed_in_python_equal_the_databases(spread, monkeypatch, route):
    """The SQLite path (durations fetched, percentiles in Python) gives what PostgreSQL's
    percentile_cont gives, on the same rows; on SQLite both sides are the Python path."""
    route = spread["eu"] if route == "eu" else route
    in_database = message_buckets("7d", route, now=NOW)
    selectors_charts.forget_kept_hours()  # else the settled hours would come from the cache
    monkeypatch.setattr(selectors_charts, "percentiles_in_database", lambda: False)
    in_python = message_buckets("7d", route, now=NOW)
    assert [b.start for b in in_python.buckets] == [b.start for b in in_database.buckets]
    for ours, theirs in zip(in_python.buckets, in_database.buckets, strict=True):
        assert (ours.total, ours.sent, ours.failed) == (theirs.total, theirs.sent, theirs.failed)
        for name in ("p50_ms", "p99_ms"):
            if getattr(theirs, name) is None:
                assert getattr(ours, name) is None
            else:
                assert getattr(ours, name) == pytest.approx(getattr(theirs, name), abs=1e-3)


def test_percentile_cont_interpolates_between_the_nearest_ranks():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.99) == 7.0
    assert percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert percentile_cont([4, 1, 3, 2], 0.5) == 2.5  # order does not matter
    assert percentile_cont([0, 100], 0.99) == pytest.approx(99)
    values = list(range(1, 101))
    assert percentile_cont(values, 0.99) == pytest.approx(99.01)
    assert percentile_cont(values, 0.0) == 1 and percentile_cont(values, 1.0) == 100
    rng = random.Random(3)
    for size in (2, 3, 10, 101, 1000):
        sample = [rng.uniform(0, 5000) for _ in range(size)]
        want = statistics.quantiles(sample, n=100, method="inclusive")
        assert percentile_cont(sample, 0.99) == pytest.approx(want[98])
        assert percentile_cont(sample, 0.5) == pytest.approx(statistics.median(sample))


@pytest.mark.django_db
def test_percentile_cont_agrees_with_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own percentile_cont is the reference")
    rng = random.Random(5)
    sample = [round(rng.uniform(0, 9000), 3) for _ in range(257)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY v) FROM unnest(%s::float8[]) v",
            [sample],
        )
        p50, p99 = cursor.fetchone()
    assert percentile_cont(sample, 0.5) == pytest.approx(p50)
    assert percentile_cont(sample, 0.99) == pytest.approx(p99)


@pytest.mark.django_db
def test_no_messages_is_all_zeros():
    chart = message_buckets("24h", now=NOW)
    assert len(chart.buckets) == 24 and chart.totals().total == 0
    series = chart.series()
    assert series["t"][-1] == int(HOUR.timestamp()) and series["t"][1] - series["t"][0] == 3600
    assert series["sent"] == [0] * 24 and series["p99"] == [None] * 24


@pytest.mark.django_db
def test_unknown_window_or_route_filter_is_refused():
    with pytest.raises(ValueError, match="window"):
        message_buckets("30d")
    with pytest.raises(ValueError, match="route filter"):
        message_buckets("24h", "prt_nope")


@pytest.mark.django_db
def test_route_totals_one_row_per_route_default_and_deleted_rule(spread, django_assert_num_queries):
    eu = spread["eu"]
    # A renamed rule's older messages carry its old name: still one row for the rule.
    _write([(HOUR - timedelta(minutes=1), "failed", eu, None, "Europe (old name)")])
    rows = list(PhoneMessage.objects.all())
    with django_assert_num_queries(1):
        totals = route_totals("24h", now=NOW)
    keys = [(t.route_id, t.deleted_route_name) for t in totals]
    assert sorted(keys, key=str) == sorted(
        [(eu.pk, ""), (spread["us"].pk, ""), (None, ""), (None, "Old")], key=str
    )
    assert [t.total for t in totals] == sorted((t.total for t in totals), reverse=True)
    first = HOUR - timedelta(hours=23)
    for t in totals:

        def mine(m, t=t):
            return (
                first <= m.created_at
                and m.status != "blocked"
                and m.route_id == t.route_id
                and (t.route_id is not None or m.route_name == t.deleted_route_name)
            )

        ms = [m for m in rows if mine(m)]
        assert t.total == len(ms) > 0
        assert t.sent == sum(m.status in SENT for m in ms)
        assert t.failed == sum(m.status == "failed" for m in ms)
        assert t.delivered == sum(m.status == "delivered" for m in ms)
        assert t.failed_over == sum(m.failed_over for m in ms)
        assert t.blocked == 0
    day = message_buckets("24h", now=NOW).totals()
    assert sum(t.total for t in totals) + day.blocked == day.total


@pytest.mark.django_db
def test_a_connection_test_counts_in_all_only_not_as_the_default_provider():
    from phoneprovider.models import Connection

    (message,) = _write([(HOUR - timedelta(minutes=5), "sent", None, 12.0, "")])
    default_before = message_buckets("24h", DEFAULT, now=NOW).totals().total
    assert default_before == 1 and route_totals("24h", now=NOW)[0].total == 1
    message.pinned_connection = Connection.objects.create(name="uk", kind="twilio")
    message.save(update_fields=["pinned_connection"])
    assert message_buckets("24h", ALL, now=NOW).totals().total == 1
    assert message_buckets("24h", DEFAULT, now=NOW).totals().total == 0
    assert route_totals("24h", now=NOW) == []


def _filters(spread):
    return [ALL, DEFAULT, spread["eu"]]


def _one_query_sql(function, django_assert_num_queries):
    with django_assert_num_queries(1) as queries:
        result = function()
    return result, queries.captured_queries[0]["sql"]


@pytest.mark.django_db
@pytest.mark.parametrize("window", ["24h", "7d"])
def test_kept_hours_give_the_same_chart_and_the_query_reads_only_the_last_hours(
    spread, window, django_assert_num_queries
):
    for route in _filters(spread):
        first, _ = _one_query_sql(
            lambda r=route: message_buckets(window, r, now=NOW), django_assert_num_queries
        )
        again, sql = _one_query_sql(
            lambda r=route: message_buckets(window, r, now=NOW), django_assert_num_queries
        )
        assert again == first
        # The settled hours came from the cache: the query starts at the first unsettled one.
        unsettled = HOUR - selectors_charts.SETTLED_AFTER
        assert unsettled.strftime("%Y-%m-%d %H:%M:%S") in sql
        assert (HOUR - timedelta(hours=23)).strftime("%Y-%m-%d %H:%M:%S") not in sql
        selectors_charts.forget_kept_hours()
        assert message_buckets(window, route, now=NOW) == first


@pytest.mark.django_db
def test_the_day_and_the_week_share_kept_hours(spread):
    week = message_buckets("7d", now=NOW)
    day = message_buckets("24h", now=NOW)
    assert day.buckets == week.buckets[-24:]
    selectors_charts.forget_kept_hours()
    assert message_buckets("24h", now=NOW) == day


def _receipt(rows, hours_ago: int, status: str = "delivered") -> PhoneMessage:
    """A late delivery receipt for a sent message of the hour ``hours_ago``."""
    hour = HOUR - timedelta(hours=hours_ago)
    message = next(
        m for m in rows if m.status == "sent" and hour <= m.created_at < hour + timedelta(hours=1)
    )
    PhoneMessage.objects.filter(pk=message.pk).update(status=status)
    return message


@pytest.mark.django_db
def test_a_change_to_a_recent_hour_shows_at_once(spread):
    before = message_buckets("24h", now=NOW)
    _receipt(spread["rows"], hours_ago=1)
    after = message_buckets("24h", now=NOW)
    assert after.buckets[-2].delivered == before.buckets[-2].delivered + 1


@pytest.mark.django_db
@pytest.mark.parametrize("route", [ALL, DEFAULT, "eu"])
def test_a_change_to_a_settled_hour_shows_once_its_kept_copy_is_old(spread, monkeypatch, route):
    route = spread["eu"] if route == "eu" else route
    rows = [m for m in spread["rows"] if route in (ALL, DEFAULT) or m.route_id == route.pk]
    if route == DEFAULT:
        rows = [m for m in rows if m.route_id is None and not m.route_name]
    before = message_buckets("7d", route, now=NOW)
    _receipt(rows, hours_ago=5)
    # Within HOURS_KEPT_SECONDS the kept copy is shown (the bound the module documents) …
    assert message_buckets("7d", route, now=NOW) == before
    # … and once it is older, the hour is read again.
    stored = time.time()
    later = SimpleNamespace(time=lambda: stored + 1 + HOURS_KEPT)
    monkeypatch.setattr(selectors_charts, "time", later)  # the module's clock only
    after = message_buckets("7d", route, now=NOW)
    assert after.buckets[-6].delivered == before.buckets[-6].delivered + 1
    assert after.buckets[-6].sent == before.buckets[-6].sent
    selectors_charts.forget_kept_hours()
    assert message_buckets("7d", route, now=NOW) == after


@pytest.mark.django_db
def test_charts_are_drawn_when_the_cache_is_down(spread, monkeypatch):
    expected = message_buckets("7d", now=NOW)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(selectors_charts.cache, "get_many", down)
    monkeypatch.setattr(selectors_charts.cache, "set", down)
    assert message_buckets("7d", now=NOW) == expected
