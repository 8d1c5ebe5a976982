"""`make run` as a new user runs it: web, worker and beat on this test's PostgreSQL and Redis.
Beat SIGKILLed is restarted by the recipe's loop, and the sweeper (so /healthz) comes back."""

import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, wait_for, worker_environment
from tests.integration.conftest import FAST_SWEEP, free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _group_members(pgid: int) -> dict[int, list[str]]:
    """Live processes of the process group ``pgid``, with their argv."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Fields after the command name: state, ppid, pgrp, ...
            state, _ppid, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if int(group) == pgid and state != "Z":
            members[int(entry.name)] = [arg.decode(errors="replace") for arg in argv if arg]
    return members


def _beat_pids(pgid: int) -> list[int]:
    # The restart loop's bash has "beat" inside its script; only celery has it as an argument.
    return [
        pid
        for pid, argv in _group_members(pgid).items()
        if "beat" in argv and any(arg.endswith("/celery") for arg in argv)
    ]


def _stop_group(pgid: int) -> list[int]:
    """SIGTERM the group, SIGKILL what is still there after 30 s; returns the stragglers."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return []
    deadline = time.monotonic() + 30
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    stragglers = list(_group_members(pgid))
    if stragglers:
        os.killpg(pgid, signal.SIGKILL)
    return stragglers


def test_make_run_restarts_a_killed_beat_and_the_sweeper_comes_back(tmp_path, private_redis):
    port = free_port()
    env = worker_environment(
        REDIS_URL=private_redis.url,
        VAR_DIR=tmp_path / "var",
        PORT=port,
        WORKER_CONCURRENCY=1,
        CONFIG_CACHE_SECONDS=0,
        **FAST_SWEEP,
    )
    env.pop("MAKEFLAGS", None)
    log_path = tmp_path / "make-run.log"
    with open(log_path, "w") as log_file:
        # -o: the installed virtualenv counts as up to date (a test must not run pip).
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    pgid = make.pid  # a new session: make leads its own process group

    def log() -> str:
        return log_path.read_text(errors="replace")

    def health() -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        except httpx.TransportError:
            return None

    def green_with_sweep_after(moment: float):
        """/healthz answers 200 with a sweep recorded after the moment"""
        assert make.poll() is None, log()
        answer = health()
        if answer is None or answer.status_code != 200:
            return None
        last = answer.json()["sweeper"]["last_sweep"]
        return answer if datetime.fromisoformat(last).timestamp() > moment else None

    stragglers = []
    try:
        wait_for(lambda: green_with_sweep_after(0), timeout=180, interval=0.5)
        (beat,) = _beat_pids(pgid)

        os.kill(beat, signal.SIGKILL)
        killed_at = time.time()

        wait_for(lambda: "beat exited (status 137); restarting it" in log(), timeout=30)
        restarted = wait_for(lambda: [pid for pid in _beat_pids(pgid) if pid != beat], timeout=30)
        answer = wait_for(lambda: green_with_sweep_after(killed_at), timeout=60, interval=0.5)
        body = answer.json()
        assert body["status"] == "ok" and body["sweeper"]["ok"] is True
        assert body["database"]["ok"] and body["broker"]["ok"]
        assert _beat_pids(pgid) == restarted
    finally:
        stragglers = _stop_group(pgid)
        make.wait(timeout=30)

    assert not stragglers, f"still running after SIGTERM: {stragglers}\n{log()}"
    assert not _group_members(pgid)
