"""Retention purge benchmark: how fast old messages (each with an attempt and its execution) go.

Writes N expired messages (default 100,000) into a fresh benchmark database (PostgreSQL database
``phoneprovider_purge_bench`` when DATABASE_URL points at PostgreSQL, else SQLite under
var/bench), then runs the purge as the beat does — batches of RETENTION_BATCH_SIZE, each its own
transaction — and prints the rate; before that, how long erasing one number among them takes.
Nothing is asserted beyond every old message being gone.

    .venv/bin/python bench/purge_bench.py [--messages 100000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _database import bench_environment, django_setup, reset_database

DATABASE = "phoneprovider_purge_bench"


def write_old_messages(count: int, age_days: int) -> None:
    """``count`` settled messages ``age_days`` old, each with one attempt and its execution."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from phoneprovider.models import DeliveryAttempt, Execution, PhoneMessage

    chunk = 5000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        messages = PhoneMessage.objects.bulk_create(
            PhoneMessage(
                public_id=f"msg_bench{start + n:017d}",
                recipient=f"+1415{2000000 + (start + n) % 1000000:07d}",
                message_type="otp_verify",
                delivery_method="text",
                as_text=f"{(start + n) % 1000000:06d} is your verification code",
                context={"user": {"email": f"user{start + n}@example.com"}},
                status="delivered",
                provider_name="custom",
                attempt_count=1,
            )
            for n in range(size)
        )
        runs = Execution.objects.bulk_create(
            Execution(
                public_id=f"exe_bench{start + n:017d}",
                kind="delivery",
                status="delivered",
                logs=[{"level": "log", "message": "gateway answered 200"}],
                stats={"duration_ms": 12},
            )
            for n in range(size)
        )
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                message_id=message.pk,
                number=1,
                provider_name="custom",
                outcome="sent",
                execution_id=run.pk,
            )
            for message, run in zip(messages, runs, strict=True)
        )
    old = timezone.now() - timedelta(days=age_days)
    PhoneMessage.objects.update(created_at=old, updated_at=old)
    Execution.objects.update(created_at=old)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="RETENTION_BATCH_SIZE")
    args = parser.parse_args()

    env = bench_environment(DATABASE, sqlite="purge.sqlite3")
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    reset_database(env)
    django_setup(env)
    from django.conf import settings
    from django.db import connection

    from phoneprovider.models import PhoneMessage
    from phoneprovider.services.erasure import number_erase
    from phoneprovider.services.retention import retention_purge

    retention_days = settings.MESSAGE_RETENTION_DAYS or 30
    settings.MESSAGE_RETENTION_DAYS = retention_days
    started = time.perf_counter()
    write_old_messages(args.messages, age_days=retention_days + 1)
    written = time.perf_counter() - started

    # Erasure by number scans every message and execution for the number: its cost at this size.
    started = time.perf_counter()
    erasure = number_erase(f"+1415{2000000 + args.messages // 2:07d}", actor="bench")
    erase_seconds = time.perf_counter() - started

    run = retention_purge(trigger="command", batch_size=args.batch_size, max_seconds=3600)
    left = PhoneMessage.objects.count()
    rows = run.messages_removed + run.attempts_removed + run.executions_removed
    size = args.batch_size or settings.RETENTION_BATCH_SIZE
    print(
        f"Erasure of one number among {args.messages:,} messages: "
        f"{erasure.messages_removed} message(s) removed in {erase_seconds:.2f} s."
    )
    print(
        f"Purge ({connection.vendor}): {run.messages_removed:,} messages, "
        f"{run.attempts_removed:,} attempts, {run.executions_removed:,} executions in "
        f"{run.batches} batches of {size:,}, {run.duration_seconds:.1f} s → "
        f"{run.messages_removed / run.duration_seconds:,.0f} messages/s "
        f"({rows / run.duration_seconds:,.0f} rows/s; "
        f"{1000 * run.duration_seconds / max(run.batches, 1):.0f} ms a batch). "
        f"Setup wrote them in {written:.1f} s."
    )
    if left or not run.complete:
        print(f"  incomplete: {left:,} messages left, error {run.error or 'none'}")
        sys.exit(1)


if __name__ == "__main__":
    main()
