"""CPU of the web side of one send: ``POST /api/v2/phone/messages`` in process, no server.

Sets up a Twilio provider and an API token on ``DATABASE_URL`` (and ``REDIS_URL``'s cache and
limit counters, when set), then posts N sends through Django's test client with production
settings (DEBUG off) and prints the CPU per request of this process (``time.process_time``:
PostgreSQL's and Redis' own CPU are not in it, nor is time spent waiting for them), so the figure
holds on a machine busy with other work. ``--profile`` adds cProfile's top functions, timed
in CPU too.

Numbers are random and spread over many prefixes (the per-number hourly limit refuses repeats);
abuse limits stay at their defaults. The messages are stored as queued; no worker sends them.

    DATABASE_URL=postgres://… REDIS_URL=redis://…/13 .venv/bin/python bench/intake_profile.py \
        [-n 2000] [--warmup 200] [--repeats 3] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AREAS = ("415", "212", "646", "303", "617")


def environment() -> None:
    from cryptography.fernet import Fernet

    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not production's CPU
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["API_RATE_LIMIT_PER_MINUTE"] = "100000000"  # measure the count, not a refusal
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneprovider.settings")
    sys.path.insert(0, str(ROOT))


def setup() -> str:
    from django.core.management import call_command

    from phoneprovider.models import PhoneMessage
    from phoneprovider.services.limits import limits_reset
    from phoneprovider.services.providers import provider_save
    from phoneprovider.services.tokens import token_create

    call_command("migrate", verbosity=0)
    provider_save(
        actor="bench",
        name="twilio",
        twilio_sid="AC" + "0" * 32,
        twilio_auth_token="bench-token",
        twilio_default_from="+14155550100",
        delivery_methods=["text", "voice"],
    )
    PhoneMessage.objects.all().delete()
    limits_reset()
    return token_create(actor="bench", name="intake", scopes=["create:phone_messages"]).raw


def number(rng: random.Random) -> str:
    return f"+1{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def body(rng: random.Random) -> dict:
    return {
        "to": number(rng),
        "message_type": "otp_verify",
        "delivery_method": "text",
        "code": f"{rng.randint(0, 999999):06d}",
        "locale": "en-US",
        "user": {"user_id": "auth0|1", "name": "Jane"},
        "client": {"client_id": "c1", "name": "App"},
        "request": {"ip": "203.0.113.9", "user_agent": "bench"},
    }


def post_many(client, token: str, count: int, rng: random.Random) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(count):
        response = client.post(
            "/api/v2/phone/messages",
            body(rng),
            content_type="application/json",
            headers=headers,
            secure=True,
        )
        if response.status_code != 202:
            raise SystemExit(f"send refused: {response.status_code} {response.content[:300]!r}")
        if response.json()["status"] != "queued":
            raise SystemExit(f"send not queued: {response.content[:300]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="measured sends per repeat")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more repeat")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    environment()
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    token = setup()
    rng = random.Random(args.seed)
    client = Client()
    post_many(client, token, args.warmup, rng)
    print(
        f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"limits: {settings.LIMITS_STORAGE_URL.split(':', 1)[0]}, "
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    figures = []
    for _ in range(args.repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        post_many(client, token, args.n, rng)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        figures.append(cpu * 1000 / args.n)
        print(f"{args.n} sends: {figures[-1]:.3f} ms CPU/request ({wall * 1000 / args.n:.3f} wall)")
    print(
        f"median {statistics.median(figures):.3f}, min {min(figures):.3f} ms CPU/request; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits
        profiler.enable()
        post_many(client, token, args.n, rng)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
