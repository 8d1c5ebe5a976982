"""End-to-end delivery benchmark: sending API → database → broker → worker → handler → gateway.

Starts, on this machine only: a recording gateway on 127.0.0.1 and `bin/serve` — what
`make serve` runs: gunicorn, a Celery worker and beat, supervised, DEBUG off — on a fresh
benchmark database (``phoneprovider_bench`` beside DATABASE_URL's) and REDIS_URL, both required.
Then:

1. **Burst, single API**: N messages (default 10,000), one request each, as fast as the API takes
   them; end to end = first request → the last message's first byte at the gateway.
2. **Burst, batch API**: N more, 100 per request.
3. **Paced**: 50 and then 200 msg/s for 10 s each; p50/p99 from the client's send to the first
   byte of that message at the gateway.
4. **Node**: the same handler run by plain Node against the same gateway (bench/node_runner.js).

CPU per message is given by process (web, worker, runtime, beat, PostgreSQL, Redis), and the
machine's `uptime` load beside the figures: PostgreSQL and Redis are counted machine-wide, and on
a machine shared with other work every figure is a floor. Abuse limits stay at their defaults;
the numbers are spread over many prefixes, as real traffic is.
Bounded: every phase has a deadline; all processes are stopped at the end.

    .venv/bin/python bench/delivery_bench.py [--burst 10000] [--rates 50,200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import _database
import httpx

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
    env = _database.bench_environment("phoneprovider_bench")
    if env is None or not env.get("REDIS_URL"):
        # Said, not failed: `make bench` goes on to the other benches.
        print("delivery bench skipped: it runs `make serve`, which needs DATABASE_URL (postgres://…)"
              " and REDIS_URL", file=sys.stderr)  # fmt: skip
        raise SystemExit(0)
    env["API_RATE_LIMIT_PER_MINUTE"] = "10000000"  # the bench measures delivery, not the limit
    env["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    env["CELERY_LOG_LEVEL"] = "WARNING"
    env["SERVE_STOP_SECONDS"] = "20"
    return env


SETUP = """
from phoneprovider.services.actions import action_create, action_deploy
from phoneprovider.services.providers import provider_save
from phoneprovider.services.tokens import token_create
import sys
action = action_create(actor="bench", name="bench", trigger_id="custom-phone-provider",
    code=sys.argv[1], secrets={"GATEWAY_URL": sys.argv[2], "GATEWAY_TOKEN": "bench-token"})
action_deploy(action, actor="bench")
provider_save(actor="bench", name="custom", delivery_methods=["text"])
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


AREA_CODES = ("212", "213", "312", "415", "617", "646", "718", "202", "305", "404")


def number(i: int) -> str:
    """Distinct valid US numbers, spread over 8,000 eight-character prefixes (the default
    prefix limit allows 30 per prefix per minute)."""
    return f"+1{AREA_CODES[i % 10]}{200 + (i // 10) % 800}{i // 8000:04d}"


async def post_all(client, token, numbers, concurrency):
    """One request per message; returns message id → status for the accepted ones."""
    accepted: dict[str, str] = {}
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
            body = r.json()
            accepted[body["id"]] = body["status"]

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return accepted


async def post_batches(client, token, numbers, size, concurrency):
    """``size`` messages per request to the batch API; returns message id → status."""
    accepted: dict[str, str] = {}
    chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
    queue: asyncio.Queue = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def sender():
        while not queue.empty():
            chunk = queue.get_nowait()
            r = await client.post(
                "/api/v2/phone/messages/batch",
                json={"messages": [{"to": to, "code": "123456"} for to in chunk]},
                headers={"Authorization": f"Bearer {token}"},
            )
            if r.status_code != 202:
                raise RuntimeError(f"API answered {r.status_code}: {r.text[:200]}")
            for item in r.json()["messages"]:
                if "id" in item:
                    accepted[item["id"]] = item["status"]

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return accepted


async def post_paced(client, token, rate, seconds, offset):
    """message id → the wall-clock time the client sent it (for the ones the API took)."""
    sent: dict[str, float] = {}
    tasks = []

    async def one(to):
        at = time.time()
        try:
            r = await client.post(
                "/api/v2/phone/messages",
                json={"to": to, "code": "123456"},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError:  # counted as not sent: the rate was more than the API took
            return
        if r.status_code == 202:
            sent[r.json()["id"]] = at

    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number(offset + i))))
    await asyncio.gather(*tasks)
    return sent


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command name, CPU seconds the process itself used)."""
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
        # Fields 14-15 of stat(5), utime and stime (here offset by the two before). Not the
        # children's: a reaped sandbox's CPU would move from "runtime" into its parent's.
        cpu = sum(int(v) for v in fields[11:13]) / tick
        table[int(entry.name)] = (int(fields[1]), name, cpu)
    return table


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds of `bin/serve`'s processes by part — web, worker, runtime (the sandbox
    processes), beat — plus the PostgreSQL and Redis servers, over a stretch of time.

    Sampled every 0.2 s in a thread, per process: sandboxes and pool children come and go
    during a burst, and a process that ends takes its CPU with it, so a before/after difference
    of the process tree undercounts (it once printed negative runtime CPU). A process first
    seen after the start counts from zero; what one used after the last sample before it ended
    (under 0.2 s) is missed.
    """

    PARTS = ("web", "worker", "runtime", "beat", "postgres", "redis")

    def __init__(self, serve_pid: int):
        self.serve_pid = serve_pid
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.part: dict[int, str | None] = {}
        self._sample(initial=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _classify(self, pid: int, table) -> str | None:
        name = table[pid][1]
        if name == "deno":
            return "runtime"
        if name == "postgres":
            return "postgres"
        if name == "redis-server":
            return "redis"
        current = pid
        while current in table and table[current][0] != self.serve_pid:
            current = table[current][0]
        if current not in table:
            return None  # not one of bin/serve's
        command = _cmdline(current)
        return "web" if "gunicorn" in command else "beat" if " beat" in command else "worker"

    def _sample(self, initial: bool = False) -> None:
        table = _process_table()
        for pid, (_, _, cpu) in table.items():
            if pid not in self.part:
                self.part[pid] = self._classify(pid, table)
                self.first[pid] = cpu if initial else 0.0
            self.last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._sample()
        totals = dict.fromkeys(self.PARTS, 0.0)
        for pid, part in self.part.items():
            if part is not None:
                totals[part] += self.last[pid] - self.first[pid]
        return totals


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def gateway_stats(gateway_url: str) -> dict[str, float]:
    return httpx.get(gateway_url + "/stats", timeout=30).json()


def wait_for_gateway(gateway_url, ids, deadline) -> dict[str, float]:
    """First-byte times of ``ids`` once all arrived (or at the deadline, as far as they came)."""
    while True:
        stats = gateway_stats(gateway_url)
        arrived = {i: stats[i] for i in ids if i in stats}
        if len(arrived) == len(ids) or time.monotonic() > deadline:
            return arrived
        time.sleep(0.5)


def burst(name, send, serve_pid, gateway_url, count, deadline_seconds) -> None:
    meter = CpuMeter(serve_pid)
    t0 = time.time()
    accepted = asyncio.run(send())
    t_accept = time.time() - t0
    queued = [i for i, status in accepted.items() if status == "queued"]
    blocked = len(accepted) - len(queued)
    arrived = wait_for_gateway(gateway_url, queued, time.monotonic() + deadline_seconds)
    t_last = (max(arrived.values()) - t0) if arrived else float("nan")
    cpu = meter.stop()
    print(
        f"{name}: {len(accepted)}/{count} accepted in {t_accept:.1f} s "
        f"({len(accepted) / t_accept:.0f}/s through the API), {blocked} blocked by limits; "
        f"{len(arrived)}/{len(queued)} reached the gateway, the last {t_last:.1f} s after the "
        f"first request: {len(arrived) / t_last:.0f} msg/s end to end"
    )
    per_message = {part: seconds * 1000 / max(1, len(arrived)) for part, seconds in cpu.items()}
    total = sum(per_message.values())
    print(
        f"{name} CPU per message: "
        + ", ".join(f"{part} {ms:.1f} ms" for part, ms in per_message.items())
        + f"; total {total:.1f} ms → at most {os.cpu_count() * 1000 / total:.0f} msg/s "
        f"on {os.cpu_count()} cores"
    )


def node_figure(gateway_url: str, count: int) -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    from runtime_bench import run_node

    try:
        result = run_node(gateway_url + "/node", count, 10.0, 64)
    except Exception as error:  # node missing or failing: the other figures still stand
        return f"node: not measured ({error})"
    concurrent = result["concurrent"]
    return (
        f"node, same handler, same gateway, 64 at once: {concurrent['per_second']:.0f} msg/s "
        f"({concurrent['count']} in {concurrent['seconds']:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rates", default="50,200", help="paced rates, msg/s")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=900, help="seconds per burst")
    args = parser.parse_args()

    env = bench_environment()
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    port = free_port()
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(args.web_workers),
        WORKER_CONCURRENCY=str(args.worker_concurrency),
    )
    print(f"load before: {uptime()}")
    gateway = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "recording_gateway.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    serve = None
    try:
        gateway_url = f"http://127.0.0.1:{gateway.stdout.readline().strip()}"
        _database.reset_database(env)
        token = configure(env, gateway_url + "/sms")
        log = open(Path(env["VAR_DIR"]) / "serve.log", "w")  # noqa: SIM115 - closed below
        serve = subprocess.Popen(
            [sys.executable, str(ROOT / "bin" / "serve")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if serve.poll() is not None:
                raise SystemExit(f"bin/serve exited; see {log.name}")
            try:
                httpx.get(base + "/api/v2/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        time.sleep(5)  # let the worker connect and warm its sandboxes

        print(
            f"make serve (bin/serve) on PostgreSQL + Redis: web workers {args.web_workers}, "
            f"worker concurrency {args.worker_concurrency}, runtime Deno, "
            f"cores {os.cpu_count()}, "
            "abuse limits at their defaults"
        )
        http_limits = httpx.Limits(max_connections=64)

        async def single():
            async with httpx.AsyncClient(base_url=base, limits=http_limits, timeout=60) as c:
                return await post_all(c, token, [number(i) for i in range(args.burst)], 32)

        async def batched():
            numbers = [number(args.burst + i) for i in range(args.burst)]
            async with httpx.AsyncClient(base_url=base, limits=http_limits, timeout=120) as c:
                return await post_batches(c, token, numbers, 100, 4)

        burst("burst, single API", single, serve.pid, gateway_url, args.burst, args.deadline)
        burst("burst, batch API", batched, serve.pid, gateway_url, args.burst, args.deadline)

        offset = 2 * args.burst
        for rate in [float(r) for r in args.rates.split(",") if r]:

            async def paced(rate=rate, offset=offset):
                async with httpx.AsyncClient(base_url=base, limits=http_limits, timeout=60) as c:
                    return await post_paced(c, token, rate, args.seconds, offset)

            sent = asyncio.run(paced())
            offset += int(rate * args.seconds)
            arrived = wait_for_gateway(gateway_url, list(sent), time.monotonic() + 60)
            latencies = [(arrived[i] - sent[i]) * 1000 for i in arrived]
            figures = (
                f"client send → first byte p50 {statistics.median(latencies):.1f} ms, "
                f"p99 {percentile(latencies, 99):.1f} ms"
                if latencies
                else "no latency to report"
            )
            print(
                f"paced {rate:.0f} msg/s for {args.seconds:.0f} s: "
                f"{len(sent)}/{int(rate * args.seconds)} accepted, "
                f"{len(latencies)} reached the gateway; {figures}"
            )
        print(node_figure(gateway_url, args.burst))
        print(f"load after: {uptime()}")
    finally:
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        gateway.stdin.close()
        gateway.terminate()
        gateway.wait(timeout=20)


if __name__ == "__main__":
    main()
