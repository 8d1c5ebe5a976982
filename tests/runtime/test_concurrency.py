"""Several executions in flight in one sandbox process: isolated from each other, and when the
process has to go, each one told what happened to it."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from phoneprovider.runtime import Limits, MemoryCacheStore, _sandbox
from tests.runtime.conftest import assert_healthy, handler, run


@pytest.fixture
def one_process(monkeypatch):
    """A pool of one sandbox process: every execution of the test shares it."""
    pool = _sandbox.Pool(1, max_in_flight=8)
    monkeypatch.setattr(_sandbox, "_pool", pool)
    yield pool
    pool.close()


def _only_sandbox(pool, limits: Limits | None = None) -> _sandbox.Sandbox:
    """The pool's one sandbox, started first (for ``limits``' memory) if need be."""
    if not pool._all:
        assert run(handler("return;"), limits=limits).status == "delivered"
    with pool._lock:
        [sandbox] = pool._all
    return sandbox


def _wait_until(check, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.01)


def _start(fn) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_concurrent_executions_in_one_process_keep_their_events_secrets_and_cache(one_process):
    store = MemoryCacheStore({})
    source = handler(
        """
      const mine = event.notification.recipient;
      const before = api.cache.get('who');
      api.cache.set('who', mine);
      await new Promise((r) => setTimeout(r, 300));
      console.log(mine, event.secrets.TOKEN, before === undefined, api.cache.get('who').value);
    """
    )

    def one(i: int):
        return run(
            source,
            {**_event(f"+1555000{i:04d}")},
            key="shared:v1",
            secrets={"TOKEN": f"token-{i}"},
            cache=store,
            cache_namespace=f"act_{i}",
        )

    sandbox = _only_sandbox(one_process)
    most, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            most[0] = max(most[0], len(sandbox._boxes))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(8) as threads:
        outcomes = list(threads.map(one, range(8)))
    done.set()
    watcher.join()
    for i, outcome in enumerate(outcomes):
        assert outcome.status == "delivered", outcome
        [log] = outcome.logs
        # Its own secret is in the log, redacted as its own; nobody else's value is there.
        assert log["message"] == f"+1555000{i:04d} [redacted] true +1555000{i:04d}"
    assert one_process._all == {sandbox}
    assert most[0] == 8, "the executions should all have been in flight in the one process"
    for i in range(8):
        assert store.load(f"act_{i}")["who"]["value"] == f"+1555000{i:04d}"


def test_a_timeout_kills_the_process_the_others_in_it_are_told_it_crashed(one_process):
    # The process stops answering (SIGSTOP): the execution whose deadline passes first kills it
    # and reports a timeout; the ones sharing it report a crash (transient: delivery retries).
    waiting = handler("await new Promise((r) => setTimeout(r, 60000));")
    short, long_ = Limits(timeout_s=0.5), Limits(timeout_s=30)
    sandbox = _only_sandbox(one_process)
    first = _start(lambda: run(waiting, key="k:short", limits=short))
    others = [_start(lambda: run(waiting, key="k:long", limits=long_)) for _ in range(2)]
    _wait_until(lambda: len(sandbox._boxes) == 3)
    time.sleep(0.2)  # the executions reach their workers
    os.kill(sandbox.proc.pid, signal.SIGSTOP)
    for thread, _ in [first, *others]:
        thread.join(30)
    [timed_out] = first[1]
    assert timed_out.error_kind == "timeout", timed_out
    assert timed_out.reason == "The handler did not finish within 0.5 s and was stopped."
    for _, [outcome] in others:
        assert outcome.status == "error"
        assert outcome.error_kind == "crashed", outcome
        assert "stopped unexpectedly" in outcome.reason
        assert "another execution" in outcome.reason
    assert sandbox.proc.wait(timeout=5) == -signal.SIGKILL
    assert_healthy()


def test_a_runaway_loop_times_out_alone_and_the_process_is_replaced_after_the_others(
    one_process,
):
    # The sandbox stops the loop itself at the deadline but cannot free its thread: the others
    # in flight finish normally, then the process is stopped (it exits cleanly) and replaced.
    slow = handler("await new Promise((r) => setTimeout(r, 2500)); api.notification.drop('fine');")
    sandbox = _only_sandbox(one_process)
    others = [_start(lambda: run(slow, key="k:slow")) for _ in range(2)]
    _wait_until(lambda: len(sandbox._boxes) == 2)
    loop = run(handler("for (;;) {}"), key="k:loop", limits=Limits(timeout_s=1))
    assert loop.error_kind == "timeout", loop
    assert sandbox.draining
    for thread, _ in others:
        thread.join(30)
    for _, [outcome] in others:
        assert outcome.status == "drop", outcome
        assert outcome.reason == "fine"
    assert sandbox.proc.wait(timeout=5) == 0
    assert sandbox not in one_process._all
    assert_healthy()
    assert _only_sandbox(one_process) is not sandbox


def test_a_memory_hog_is_blamed_the_others_in_its_process_are_told_it_crashed(one_process):
    # Outside the heap (ArrayBuffers), only the process's resident size shows the hog: the
    # process is killed, the longest-running execution gets `memory`, the others `crashed`.
    hog = handler(
        """
      await new Promise((r) => setTimeout(r, 500));
      const keep = [];
      for (;;) { keep.push(new Uint8Array(8 << 20).fill(1)); await null; }
    """
    )
    waiting = handler("await new Promise((r) => setTimeout(r, 60000));")
    limits = Limits(timeout_s=20, memory_mb=64)
    sandbox = _only_sandbox(one_process, limits)
    first = _start(lambda: run(hog, key="k:hog", limits=limits))
    _wait_until(lambda: len(sandbox._boxes) == 1)
    others = [_start(lambda: run(waiting, key="k:wait", limits=limits)) for _ in range(2)]
    for thread, _ in [first, *others]:
        thread.join(40)
    [blamed] = first[1]
    assert blamed.error_kind == "memory", blamed
    assert "64 MB" in blamed.reason
    for _, [outcome] in others:
        assert outcome.error_kind == "crashed", outcome
        assert "another execution" in outcome.reason
    assert_healthy()


def test_a_process_keeps_as_many_warm_contexts_as_it_may_run_at_once(monkeypatch):
    pool = _sandbox.Pool(1, max_in_flight=12)
    monkeypatch.setattr(_sandbox, "_pool", pool)
    source = handler("await new Promise((r) => setTimeout(r, 300));")
    try:
        for expect_warm in (False, True):
            with ThreadPoolExecutor(12) as threads:
                outcomes = list(threads.map(lambda _: run(source, key="many:v1"), range(12)))
            assert [o.status for o in outcomes] == ["delivered"] * 12
            if expect_warm:
                assert all(o.stats["warm"] for o in outcomes), [o.stats for o in outcomes]
    finally:
        pool.close()


def test_the_pool_shares_a_process_only_once_it_may_start_no_more(monkeypatch):
    pool = _sandbox.Pool(2, max_in_flight=2)
    monkeypatch.setattr(_sandbox, "_pool", pool)
    try:
        spec = _sandbox.spec_for((), 128)
        held = [pool.checkout("k", 128, spec) for _ in range(4)]
        assert len(set(held)) == 2
        assert sorted(s.in_flight for s in pool._all) == [2, 2]
        # Full: the next caller waits until one gives its place back.
        got: list = []
        waiter = threading.Thread(target=lambda: got.append(pool.checkout("k", 128, spec)))
        waiter.start()
        time.sleep(0.2)
        assert not got
        pool.checkin(held[0], "k", True)
        waiter.join(5)
        assert got == [held[0]]
        for s in [*held[1:], got[0]]:
            pool.checkin(s, "k", True)
        assert sorted(pool._idle, key=id) == sorted(set(held), key=id)
    finally:
        pool.close()


def _event(recipient: str) -> dict:
    from tests.runtime.conftest import sample_event

    return sample_event(recipient=recipient)
