"""Benchmark: one gateway-forwarding handler through our runtime and through Node.js.

Starts a loopback gateway (Node's http server on 127.0.0.1), then runs the same handler (a JSON
POST with a bearer token, like Auth0's own example) sequentially and at concurrency 32:

- through ``phoneprovider.runtime.execute`` (sandbox processes, warm contexts), and
- through ``node`` with its native ``fetch`` (no sandbox at all), the baseline.

Prints executions per second for both, the ratio, and the sandbox's own overhead per execution
(``total_ms - fetch_ms`` as seen by the caller, p50/p99). Bounded: each phase stops after
``--count`` executions or ``--seconds``, whichever comes first; rounds alternate Node and ours
and the best round of each is reported (this machine is shared, so single runs are noisy).
Traffic goes only to 127.0.0.1.

    .venv/bin/python bench/runtime_bench.py [--count 2000] [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phoneprovider import runtime  # noqa: E402

HANDLER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${event.secrets.GATEWAY_TOKEN}`,
    },
    body: JSON.stringify({
      to: event.notification.recipient,
      text: event.notification.as_text,
      channel: event.notification.delivery_method,
      correlation_id: event.transaction.correlation_id,
    }),
  });
  if (!response.ok) {
    api.notification.retry(`gateway answered ${response.status}`);
    return;
  }
  await response.json();
};
"""

EVENT = {
    "notification": {
        "message_type": "otp_verify",
        "delivery_method": "text",
        "recipient": "+15555550123",
        "as_text": "Your verification code is 123456",
        "as_voice": "Your code is 1 2 3 4 5 6",
        "code": "123456",
        "from": "+15555550100",
        "locale": "en-US",
    },
    "client": {"client_id": "cl_bench", "name": "Bench", "metadata": {}},
    "tenant": {"id": "bench"},
    "request": {"ip": "203.0.113.7", "method": "POST", "geoip": {"countryCode": "US"}},
    "user": {
        "user_id": "auth0|bench",
        "email_verified": True,
        "app_metadata": {},
        "user_metadata": {},
    },
    "transaction": {"correlation_id": "msg_bench"},
    "secrets": {"GATEWAY_TOKEN": "bench-token-123"},
    "configuration": {},
}


def start_gateway() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        ["node", str(ROOT / "bench" / "gateway.js")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}/messages"


class Ours:
    """Our runtime, measured in this process (sandboxes started and warmed once)."""

    def __init__(self, url: str, concurrency: int):
        self.secrets = {"GATEWAY_URL": url, "GATEWAY_TOKEN": "bench-token-123"}
        self.policy = runtime.HttpPolicy(allowed_networks=["127.0.0.1/32"])
        # Warm-up (not measured): start the sandboxes in parallel and warm their contexts. A
        # sandbox runs several executions at once, each in a worker of its own, so it is sent
        # enough that every worker the measured phases will use has booted.
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: self.once(), range(concurrency * 8)))

    def once(self) -> runtime.Outcome:
        outcome = runtime.execute(
            HANDLER, EVENT, context_key="bench:v1", secrets=self.secrets, http_policy=self.policy
        )
        if outcome.status != "delivered":
            raise SystemExit(f"bench handler failed: {outcome.to_dict()}")
        return outcome

    def phase(self, workers: int, count: int, seconds: float) -> dict:
        overheads: list[float] = []
        parts: dict[str, list[float]] = {"isolate": [], "http": [], "hop": []}
        lock = threading.Lock()
        state = {"started": 0, "done": 0}
        deadline = time.monotonic() + seconds

        def worker() -> None:
            while True:
                with lock:
                    if state["started"] >= count or time.monotonic() > deadline:
                        return
                    state["started"] += 1
                outcome = self.once()
                s = outcome.stats
                with lock:
                    state["done"] += 1
                    overheads.append(s["total_ms"] - s["fetch_ms"])
                    parts["isolate"].append(s["execution_ms"] - s["fetch_ms"])
                    parts["http"].append(s["fetch_ms"])
                    parts["hop"].append(s["total_ms"] - s["execution_ms"])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        overheads.sort()
        return {
            "count": state["done"],
            "seconds": elapsed,
            "per_second": state["done"] / elapsed,
            "overhead_p50_ms": statistics.median(overheads),
            "overhead_p99_ms": overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))],
            "p50_ms": {k: statistics.median(v) for k, v in parts.items()},
        }


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def runtime_pids() -> list[int]:
    """This process's children: the runtime (sandbox) processes (the gateway is Node's, named)."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if int(fields[1]) == me and b"gateway.js" not in cmd:
            out.append(int(entry))
    return out


def memory_phase(ours: Ours, executions: int, concurrency: int) -> dict:
    """RSS of the worker side (this process) and of the runtime processes, before and after
    ``executions`` executions at ``concurrency``."""

    def snapshot() -> dict:
        pids = runtime_pids()
        return {
            "worker_mb": round(rss_mb(os.getpid()), 1),
            "runtime_mb": round(sum(rss_mb(p) for p in pids), 1),
            "runtime_processes": len(pids),
        }

    start = snapshot()
    phase = ours.phase(concurrency, executions, float("inf"))
    return {"start": start, "end": snapshot(), "executions": phase["count"]}


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run_node(url: str, count: int, seconds: float, concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        handler_file = Path(tmp) / "handler.js"
        handler_file.write_text(HANDLER)
        Path(str(handler_file) + ".event.json").write_text(json.dumps(EVENT))
        out = subprocess.run(
            [
                "node",
                str(ROOT / "bench" / "node_runner.js"),
                str(handler_file),
                url,
                str(count),
                str(seconds),
                str(concurrency),
            ],
            capture_output=True,
            text=True,
            timeout=seconds * 2 + 60,
            check=True,
        )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="max executions per phase")
    parser.add_argument("--seconds", type=float, default=4.0, help="max seconds per phase")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating node/ours rounds; the best round of each is reported",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--memory-executions", type=int, default=10_000, help="executions for the RSS check"
    )
    args = parser.parse_args()
    if not shutil.which("node"):
        raise SystemExit("node is not on PATH")
    gateway, url = start_gateway()
    started = time.monotonic()
    load_before = load()
    node_rounds: list[dict] = []
    our_rounds: list[dict] = []
    try:
        ours = Ours(url, args.concurrency)
        # Alternate the two so that load from elsewhere on the machine hits both alike.
        for _ in range(args.rounds):
            node_rounds.append(run_node(url, args.count, args.seconds, args.concurrency))
            our_rounds.append(
                {
                    "sequential": ours.phase(1, args.count, args.seconds),
                    "concurrent": ours.phase(args.concurrency, args.count, args.seconds),
                }
            )
        memory = memory_phase(ours, args.memory_executions, args.concurrency)
    finally:
        runtime.shutdown()
        gateway.stdin.close()
        gateway.wait(timeout=10)

    def best(rounds: list[dict], name: str) -> dict:
        return max((r[name] for r in rounds), key=lambda r: r["per_second"])

    print(
        f"engine Deno; machine shared: {load_before} before, {load()} after "
        "(uptime's 1/5/15-minute figures)"
    )
    print(
        f"runtime benchmark: {os.cpu_count()} CPUs, gateway {url}, {args.rounds} rounds of "
        f"<= {args.count} executions or {args.seconds:g} s per phase "
        f"({time.monotonic() - started:.0f} s); best round shown"
    )
    print(
        f"{'':16}{'ours exec/s':>12}{'node exec/s':>13}{'ours/node':>11}"
        f"{'sandbox overhead p50':>22}{'p99':>10}"
    )
    summary = {}
    for name, label in (
        ("sequential", "sequential"),
        ("concurrent", f"concurrency {args.concurrency}"),
    ):
        o, n = best(our_rounds, name), best(node_rounds, name)
        summary[name] = {"ours": o, "node": n, "ratio": o["per_second"] / n["per_second"]}
        print(
            f"{label:16}{o['per_second']:>12.0f}{n['per_second']:>13.0f}"
            f"{o['per_second'] / n['per_second']:>11.2f}"
            f"{o['overhead_p50_ms']:>19.2f} ms{o['overhead_p99_ms']:>7.2f} ms"
        )
    seq = summary["sequential"]["ours"]["p50_ms"]
    print(
        f"where an execution's time goes (ours, sequential, p50): isolate and bridge "
        f"{seq['isolate']:.2f} ms, HTTP {seq['http']:.2f} ms, process hop and host side "
        f"{seq['hop']:.2f} ms"
    )
    m = memory
    print(
        f"resident memory over {m['executions']} executions (concurrency {args.concurrency}): "
        f"worker side {m['start']['worker_mb']:.0f} -> {m['end']['worker_mb']:.0f} MB, "
        f"runtime processes {m['start']['runtime_mb']:.0f} -> {m['end']['runtime_mb']:.0f} MB "
        f"({m['start']['runtime_processes']} -> {m['end']['runtime_processes']} processes)"
    )
    summary["memory"] = m
    print(json.dumps({"summary": summary, "rounds": {"ours": our_rounds, "node": node_rounds}}))


if __name__ == "__main__":
    main()
