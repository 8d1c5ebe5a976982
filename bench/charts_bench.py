"""Delivery charts benchmark: the Messages page's aggregate queries over a million messages.

Fills a fresh PostgreSQL database (``phoneprovider_charts_bench``, on the server DATABASE_URL
points at; skipped without a PostgreSQL DATABASE_URL) with N messages (default 1,000,000) spread
over the last 7 days — statuses, routes and times to the provider drawn at random, server-side in
one ``INSERT … SELECT generate_series`` — then VACUUM ANALYZE (as autovacuum would soon after: the
visibility map it sets is what lets the charts' covering index answer without the table), then
times each chart query (24 h and 7 d; all messages, the default provider, one route; the
per-route totals) a few times and prints the median: cold (no hours kept in the cache, every
hour read) and kept (settled hours from the cache, the last ones read), with the top line of the
cold query's plan and the node that reads the table (EXPLAIN ANALYZE), and the load average
before and after (the machine may be shared). Nothing is asserted.

    .venv/bin/python bench/charts_bench.py [--messages 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from _database import bench_environment, django_setup, reset_database

DATABASE = "phoneprovider_charts_bench"
ROUTES = ("EU", "UK", "US", "Enterprise")

# Statuses by share (cumulative), as a busy installation's week looks: mostly delivered.
STATUSES = (
    (0.70, "delivered"),
    (0.80, "sent"),
    (0.83, "undelivered"),
    (0.90, "failed"),
    (0.95, "blocked"),
    (0.98, "dropped"),
    (1.00, "queued"),
)

# Columns without a database default are all named. Each row draws r_status, r_route and
# r_latency; the time to the provider is 80 ms plus a long tail (up to ~6 s), so p99 ≫ p50.
FILL = """
INSERT INTO phoneprovider_phonemessage (
    public_id, recipient, message_type, delivery_method, code, locale, sender, as_text,
    as_voice, context, is_test, provider_name, status, reason, provider_message_id, limit_rule,
    failed_over, attempt_count, created_at, updated_at, sent_at, finished_at, route_id,
    route_name, route_step, step_first_attempt
)
SELECT
    'msg_cb' || lpad(g.n::text, 20, '0'),
    '+1415' || lpad((2000000 + g.n %% 1000000)::text, 7, '0'),
    'otp_verify', 'text', '', '', '', '', '', '{}', false, 'custom',
    s.status, '', '', '', s.sent AND g.r_latency > 0.98, 1,
    g.created, g.created,
    CASE WHEN s.sent THEN g.created + l.latency END,
    CASE WHEN s.status <> 'queued' THEN g.created + l.latency END,
    r.id, coalesce(r.name, ''), 0, 1
FROM (
    SELECT n, now() - random() * interval '7 days' AS created,
           random() AS r_status, random() AS r_route, random() AS r_latency
    FROM generate_series(1, %(count)s) AS n
    ORDER BY created  -- rows arrive in time order, and so sit on disk that way
) AS g
CROSS JOIN LATERAL (SELECT {status_case} AS status) AS d
CROSS JOIN LATERAL (
    SELECT d.status, d.status IN ('sent', 'delivered', 'undelivered') AS sent
) AS s
CROSS JOIN LATERAL (
    SELECT interval '1 millisecond' * (80 + 6000 * power(g.r_latency, 8)) AS latency
) AS l
LEFT JOIN phoneprovider_route AS r
    ON s.status <> 'blocked'
   AND r.id = (%(slots)s::bigint[])[1 + floor(g.r_route * %(slot_count)s)::int]
"""


def _status_case() -> str:
    whens = " ".join(f"WHEN g.r_status < {bound} THEN '{status}'" for bound, status in STATUSES)
    return f"CASE {whens} END"


def fill(count: int) -> list:
    """``count`` messages over the last 7 days: half through the default provider, the rest
    spread over four routes (blocked ones through none). Returns the routes."""
    from django.db import connection

    from phoneprovider.models import Route

    routes = []
    for position, name in enumerate(ROUTES):
        route = Route(name=name, position=position)
        route.save()
        routes.append(route)
    slots = [None] * len(routes) + [route.pk for route in routes]  # half: no route
    with connection.cursor() as cursor:
        cursor.execute(
            FILL.replace("{status_case}", _status_case()),
            {
                "count": count,
                "slots": slots,
                "slot_count": len(slots),
            },
        )
        cursor.execute("VACUUM ANALYZE phoneprovider_phonemessage")
    return routes


def timed(function, runs: int, *, cold: bool) -> tuple[float, list[str]]:
    """Median milliseconds of ``runs`` calls, and the SQL of the last one; ``cold``: each call
    with no chart hours kept (a fresh epoch first, outside the timing)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from phoneprovider.selectors_charts import forget_kept_hours

    durations = []
    for _ in range(runs):
        if cold:
            forget_kept_hours()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            function()
            durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations), [q["sql"] for q in queries]


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def plan_lines(sql: str) -> tuple[str, str]:
    """EXPLAIN ANALYZE's top line and the first node that reads the table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    scan = next(
        (line.strip() for line in lines if "Scan" in line and "phoneprovider_phonemessage" in line),
        "",
    )
    return lines[0], scan.removeprefix("->").strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    env = bench_environment(DATABASE)
    if env is None:
        print("Charts bench skipped: it needs DATABASE_URL pointing at PostgreSQL.")
        return
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    reset_database(env)
    django_setup(env)
    from django.utils import timezone

    from phoneprovider.selectors_charts import DEFAULT, message_buckets, route_totals

    started = time.perf_counter()
    routes = fill(args.messages)
    filled = time.perf_counter() - started
    print(
        f"Charts bench: {args.messages:,} messages over 7 days written and analysed in "
        f"{filled:.1f} s; each query's median of {args.runs} runs:"
    )
    now = timezone.now()
    cases = []
    for window in ("24h", "7d"):
        for label, route in (
            ("all", "all"),
            ("default provider", DEFAULT),
            ("one route", routes[0]),
        ):
            cases.append(
                (f"{window} {label}", lambda w=window, r=route: message_buckets(w, r, now=now))
            )
        cases.append((f"{window} per-route totals", lambda w=window: route_totals(w, now=now)))
    print(f"  {'query':<26} {'cold':>9}  {'kept':>9}  (queries per call)   {load()}")
    for name, function in cases:
        median, queries = timed(function, args.runs, cold=True)
        top, scan = plan_lines(queries[-1])
        function()  # keeps the settled hours, if this query keeps any
        kept, kept_queries = timed(function, args.runs, cold=False)
        print(
            f"  {name:<26} {median:6.1f} ms  {kept:6.1f} ms  ({len(queries)} / {len(kept_queries)})"
        )
        print(f"      plan: {top}")
        print(f"      scan: {scan}")
    print(f"  {load()}")


if __name__ == "__main__":
    main()
