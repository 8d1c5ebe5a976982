"""Finding the Deno binary when many threads start sandboxes at once."""

from __future__ import annotations

import threading
import time

import deno

from phoneprovider.runtime import _deno


def test_threads_starting_sandboxes_together_look_the_binary_up_once(monkeypatch):
    # The lookup reads sysconfig, whose first use is not thread-safe: threads that raced
    # into it got None and failed the execution ("can only concatenate str (not NoneType)").
    real = deno.find_deno_bin()
    calls = []

    def slow_lookup():
        calls.append(1)
        time.sleep(0.05)  # long enough for every other thread to arrive meanwhile
        return real

    monkeypatch.setattr(deno, "find_deno_bin", slow_lookup)
    monkeypatch.setattr(_deno, "_bin", None)
    start = threading.Barrier(16)
    found = []

    def look_up():
        start.wait()
        found.append(_deno.deno_bin())

    threads = [threading.Thread(target=look_up) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [real] * 16
    assert len(calls) == 1
