"""End-to-end delivery benchmark: sending API → database → broker → worker → handler → gateway.

Starts, on this machine only: a recording gateway on 127.0.0.1, the web app (gunicorn) and a
Celery worker, all on a fresh benchmark database (PostgreSQL database ``phoneprovider_bench``
when DATABASE_URL points at PostgreSQL, else SQLite under var/bench) and the broker REDIS_URL
names (else the file broker). Then:

1. **Burst**: N messages (default 10,000) sent as fast as the API takes them; reports accepted/s,
   end-to-end messages/s (first request → last message final) and checks all N end final.
2. **Paced**: 50 msg/s for 10 s; reports p50/p99 from "API answered 202" to "first byte of that
   message at the gateway".

Abuse limits are switched off for the run (every message goes to a distinct number anyway).
Bounded: every phase has a deadline; all processes are stopped at the end.

    .venv/bin/python bench/delivery_bench.py [--burst 10000] [--rate 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
HANDLER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${event.secrets.GATEWAY_TOKEN}`,
      "idempotency-key": event.transaction.correlation_id,
    },
    body: JSON.stringify({ to: event.notification.recipient, text: event.notification.as_text }),
  });
  if (response.status >= 500) api.notification.retry(`gateway ${response.status}`);
  else if (!response.ok) api.notification.drop(`gateway ${response.status}`);
};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_environment() -> dict:
    env = dict(os.environ)
    env["VAR_DIR"] = str(ROOT / "var" / "bench")
    # Production settings: DEBUG keeps every SQL query in memory and costs CPU per request.
    env["DEBUG"] = "false"
    env["SECURE_SSL_REDIRECT"] = "false"  # plain HTTP on loopback
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    env.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    env["LOG_LEVEL"] = "WARNING"
    env["API_RATE_LIMIT_PER_MINUTE"] = "10000000"  # the bench measures delivery, not the limit
    env["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/phoneprovider_bench"
    else:
        env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / 'db.sqlite3'}"
    return env


def reset_database(env: dict) -> None:
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        import psycopg

        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS phoneprovider_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE phoneprovider_bench")
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )


SETUP = """
from phoneprovider.services.actions import action_create, action_deploy
from phoneprovider.services.providers import provider_save
from phoneprovider.services.limits import policy_update
from phoneprovider.services.tokens import token_create
import sys
action = action_create(actor="bench", name="bench", trigger_id="custom-phone-provider",
    code=sys.argv[1], secrets={"GATEWAY_URL": sys.argv[2], "GATEWAY_TOKEN": "bench-token"})
action_deploy(action, actor="bench")
provider_save(actor="bench", name="custom", delivery_methods=["text"])
policy_update(actor="bench", recipient_per_hour=0, prefix_per_minute=0, global_per_minute=0)
print(token_create(actor="bench", name="bench", scopes=["create:phone_messages"]).raw)
"""


def configure(env: dict, gateway_url: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + SETUP, HANDLER, gateway_url],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "phoneprovider.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def final_count(env: dict) -> int:
    code = (
        "import django; django.setup()\n"
        "from phoneprovider.models import PhoneMessage\n"
        "print(PhoneMessage.objects.exclude(status__in=['queued','sending']).count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "phoneprovider.settings"},
    )
    return int(out.stdout.strip() or 0)


def number(i: int) -> str:
    # Distinct valid US numbers: +1 415 2xx xxxx.
    return f"+1415{2000000 + i:07d}"


async def post_all(client, token, numbers, concurrency):
    accepted: dict[str, float] = {}
    queue: asyncio.Queue = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)

    async def sender():
        while not queue.empty():
            to = queue.get_nowait()
            r = await client.post(
                "/api/v2/phone/messages",
                json={"to": to, "code": "123456"},
                headers={"Authorization": f"Bearer {token}"},
            )
            if r.status_code != 202:
                raise RuntimeError(f"API answered {r.status_code}: {r.text[:200]}")
            accepted[r.json()["id"]] = time.time()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return accepted


async def post_paced(client, token, rate, seconds, offset):
    accepted: dict[str, float] = {}
    tasks = []

    async def one(to):
        r = await client.post(
            "/api/v2/phone/messages",
            json={"to": to, "code": "123456"},
            headers={"Authorization": f"Bearer {token}"},
        )
        accepted[r.json()["id"]] = time.time()

    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number(offset + i))))
    await asyncio.gather(*tasks)
    return accepted


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command name, CPU seconds used, its waited-for children included)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # Fields 14-17 of stat(5): utime, stime, cutime, cstime (here offset by the two before).
        cpu = sum(int(v) for v in fields[11:15]) / tick
        table[int(entry.name)] = (int(fields[1]), name, cpu)
    return table


def cpu_by_part(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree, plus PostgreSQL and Redis servers."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        total, stack = 0.0, [pid]
        while stack:
            current = stack.pop()
            total += table.get(current, (0, "", 0.0))[2]
            stack.extend(children.get(current, []))
        return total

    parts = {name: tree(pid) for name, pid in roots.items()}
    parts["postgres"] = sum(cpu for _, name, cpu in table.values() if name == "postgres")
    parts["redis"] = sum(cpu for _, name, cpu in table.values() if name == "redis-server")
    return parts


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=1200, help="seconds for the burst")
    args = parser.parse_args()

    env = bench_environment()
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen] = []
    try:
        gateway = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "recording_gateway.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(gateway)
        gateway_url = f"http://127.0.0.1:{gateway.stdout.readline().strip()}"
        reset_database(env)
        token = configure(env, gateway_url + "/sms")
        port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "phoneprovider.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.web_workers),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "phoneprovider",
                    "worker",
                    "--purge",
                    "--loglevel=WARNING",
                    f"--concurrency={args.worker_concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/api/v2/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(3)  # let the worker connect

        print(
            f"database: {env['DATABASE_URL'].split('://')[0]}, broker: "
            f"{'redis' if env.get('REDIS_URL') else 'filesystem'}, web workers "
            f"{args.web_workers}, worker concurrency {args.worker_concurrency}, "
            f"cores {os.cpu_count()}"
        )

        async def run_burst():
            limits = httpx.Limits(max_connections=64)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
                return await post_all(client, token, [number(i) for i in range(args.burst)], 32)

        roots = {"web": processes[1].pid, "worker": processes[2].pid, "gateway": gateway.pid}
        cpu_before = cpu_by_part(roots)
        t0 = time.monotonic()
        accepted = asyncio.run(run_burst())
        t_accept = time.monotonic() - t0
        finals = 0
        while time.monotonic() - t0 < args.deadline:
            finals = final_count(env)
            if finals >= args.burst:
                break
            time.sleep(0.5)
        t_final = time.monotonic() - t0
        cpu_after = cpu_by_part(roots)
        print(
            f"burst: {len(accepted)} accepted in {t_accept:.1f}s "
            f"({len(accepted) / t_accept:.0f}/s through the API)"
        )
        print(
            f"burst: {finals}/{args.burst} final after {t_final:.1f}s: "
            f"{finals / t_final:.0f} msg/s end to end"
        )

        # Where the CPU went: on 2 cores the sum per message bounds the end-to-end rate.
        per_message = {
            part: (cpu_after[part] - cpu_before[part]) * 1000 / max(1, finals) for part in cpu_after
        }
        total = sum(per_message.values())
        print(
            "burst CPU per message: "
            + ", ".join(f"{part} {ms:.1f} ms" for part, ms in per_message.items())
            + f"; total {total:.1f} ms → at most {os.cpu_count() * 1000 / total:.0f} msg/s "
            f"on {os.cpu_count()} cores (postgres and redis are machine-wide)"
        )

        async def run_paced():
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                return await post_paced(client, token, args.rate, args.seconds, args.burst)

        paced = asyncio.run(run_paced())
        time.sleep(3)
        first_bytes = httpx.get(gateway_url + "/stats", timeout=10).json()
        latencies = [
            (first_bytes[mid] - at) * 1000 for mid, at in paced.items() if mid in first_bytes
        ]
        # Accepted → first byte can be negative when the worker wins the race with the API's
        # reply; that counts as zero latency.
        latencies = [max(0.0, v) for v in latencies]
        if latencies:
            print(
                f"paced {args.rate:.0f} msg/s: {len(latencies)}/{len(paced)} reached the gateway;"
                f" accepted → first byte p50 {statistics.median(latencies):.1f} ms, "
                f"p99 {percentile(latencies, 99):.1f} ms"
            )
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                if process is processes[0]:
                    process.stdin.close()
                    process.terminate()
                else:
                    os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
