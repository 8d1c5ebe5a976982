"""The pool of sandbox processes (``_process.py``) each calling process keeps.

Each calling process (a Celery worker child, a test process, the bench) keeps a small pool of
sandbox processes, started lazily on first use and after every fork. A sandbox serves up to
``max_in_flight`` executions at once (each in a Web Worker of its own); a calling thread checks
one out, preferring an idle one that already holds a warm context for the execution's
``context_key``, then starting another process while under ``max_processes``, then sharing the
least busy one. The caller enforces the wall-clock deadline from outside (``timeout_s`` +
``GRACE_S``) and the sandbox's reader watches its resident size: on overrun the process is
killed (``_process.py`` says which execution gets which outcome). The next execution gets a fresh
sandbox, and the calling process never runs handler code itself.
"""

from __future__ import annotations

import collections
import os
import threading

from phoneprovider.runtime import _deno
from phoneprovider.runtime._process import Sandbox, SandboxDied

__all__ = ["GRACE_S", "Pool", "Sandbox", "SandboxDied", "get_pool", "spec_for"]

GRACE_S = 3.0
MAX_CONTEXTS_PER_SANDBOX = 8
# Executions one sandbox process may run at once (each in its own Worker, ~11 MB more). One by
# default: on this 2-core machine, 8 at once per process measured no faster at concurrency 32
# (bench/runtime_bench.py, same load: 0.55x Node with 8, 0.70x with 1) and held 1.1 GB of
# sandboxes instead of 0.7 GB. Raise it where executions mostly wait on slow gateways.
MAX_IN_FLIGHT = int(os.environ.get("PHONEPROVIDER_SANDBOX_IN_FLIGHT", "0")) or 1


_SPAWN = object()


class Pool:
    """Sandboxes of one calling process. Threads that find none to use wait in FIFO order and
    are handed a sandbox directly when one has room again (no thundering herd, no starvation),
    preferring a waiter whose context is warm in it. ``_idle`` holds the sandboxes with nothing
    in flight; ``_all`` every one counted against ``max_processes``."""

    def __init__(self, max_processes: int, max_in_flight: int | None = None):
        self.max_processes = max_processes
        self.max_in_flight = max_in_flight or MAX_IN_FLIGHT
        self._lock = threading.Lock()
        self._idle: list[Sandbox] = []
        self._waiters: collections.deque[list] = collections.deque()
        self._count = 0
        self._all: set[Sandbox] = set()
        self._generations: dict[str, int] = {}

    def checkout(self, key: str, memory_mb: int, spec: tuple) -> Sandbox:
        """A sandbox with room for one more execution (counted in its ``in_flight``); give it
        back with ``checkin``."""
        while True:
            waiter = None
            with self._lock:
                got = self._pick(key, memory_mb, spec) if not self._waiters else None
                if got is None:
                    waiter = [key, memory_mb, threading.Event(), None, spec]
                    self._waiters.append(waiter)
            if waiter is not None:
                waiter[2].wait()
                got = waiter[3]
            if got is _SPAWN:
                return self._spawn(memory_mb, spec)
            if got.alive and not got.draining and got.proc.poll() is None:
                return got
            self.checkin(got, key, False)

    def _fits(self, s: Sandbox, memory_mb: int, spec: tuple) -> bool:
        return s.memory_mb >= memory_mb and s.spec == spec

    def _pick(self, key: str, memory_mb: int, spec: tuple):
        pick = None
        for s in reversed(self._idle):
            if self._fits(s, memory_mb, spec):
                if key in s.warm_keys:
                    pick = s
                    break
                pick = pick or s
        if pick is not None:
            self._idle.remove(pick)
        elif self._count < self.max_processes:
            self._count += 1
            return _SPAWN
        else:
            shared = [
                s
                for s in self._all
                if s.in_flight < self.max_in_flight
                and s.alive
                and not s.draining
                and self._fits(s, memory_mb, spec)
            ]
            if shared:
                pick = min(shared, key=lambda s: (s.in_flight, key not in s.warm_keys))
            elif self._idle:
                # Only sandboxes started for another memory limit, network allowance or
                # package cache are idle: replace one.
                other = self._idle[0]
                self._retire(other)
                other.kill()
                self._count += 1
                return _SPAWN
            else:
                return None
        pick.in_flight += 1
        return pick

    def _spawn(self, memory_mb: int, spec: tuple) -> Sandbox:
        try:
            sandbox = Sandbox(memory_mb, spec, self.max_in_flight)
            sandbox.wait_ready()
        except BaseException:
            with self._lock:
                self._count -= 1
                self._wake_for_spawn()
            raise
        with self._lock:
            sandbox.in_flight = 1
            self._all.add(sandbox)
            self._feed(sandbox)
        return sandbox

    def _feed(self, sandbox: Sandbox) -> bool:
        """Hand ``sandbox`` to the waiters that can use it while it has room (a waiter whose
        context is warm in it first); whether any got it."""
        fed = False
        while self._waiters and sandbox.in_flight < self.max_in_flight:
            fits = [w for w in self._waiters if self._fits(sandbox, w[1], w[4])]
            if not fits:
                break
            waiter = next((w for w in fits if w[0] in sandbox.warm_keys), fits[0])
            self._waiters.remove(waiter)
            sandbox.in_flight += 1
            waiter[3] = sandbox
            waiter[2].set()
            fed = True
        return fed

    def _retire(self, sandbox: Sandbox) -> None:
        """Take it out of the pool (its executions in flight go on)."""
        if sandbox in self._idle:
            self._idle.remove(sandbox)
        if sandbox in self._all:
            self._all.discard(sandbox)
            self._count -= 1
        self._wake_for_spawn()

    def _wake_for_spawn(self) -> None:
        if self._waiters and self._count < self.max_processes:
            waiter = self._waiters.popleft()
            self._count += 1
            waiter[3] = _SPAWN
            waiter[2].set()

    def checkin(self, sandbox: Sandbox, key: str, keep_key: bool) -> None:
        stop = False
        with self._lock:
            sandbox.in_flight -= 1
            if keep_key:
                sandbox.warm_keys.pop(key, None)
                sandbox.warm_keys[key] = None
                while len(sandbox.warm_keys) > MAX_CONTEXTS_PER_SANDBOX:
                    del sandbox.warm_keys[next(iter(sandbox.warm_keys))]
            else:
                sandbox.warm_keys.pop(key, None)
            if not sandbox.alive or sandbox.draining:
                # Gone, or asked to be recycled: it leaves the pool now, and stops once the
                # last execution in it has answered.
                stop = sandbox.in_flight == 0 and sandbox.alive
                self._retire(sandbox)
            elif not self._feed(sandbox) and sandbox.in_flight == 0:
                if self._waiters:
                    # Idle, and nobody waiting can use it: make room for what they need.
                    self._retire(sandbox)
                    sandbox.kill()
                else:
                    self._idle.append(sandbox)
        if stop:
            sandbox.stop()

    def context_id(self, key: str) -> str:
        """The key a sandbox keeps the context under: a new one after ``retire``, so a context
        that failed is never reused, even one kept warm in another sandbox."""
        generation = self._generations.get(key)
        return f"{key}#{generation}" if generation else key

    def retire(self, key: str) -> None:
        with self._lock:
            if len(self._generations) > 10_000:
                self._generations.clear()
            self._generations[key] = self._generations.get(key, 0) + 1

    def close(self) -> None:
        with self._lock:
            sandboxes = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._count = 0
        for s in sandboxes:
            s.close()

    def forget(self) -> None:
        for s in list(self._all):
            s.forget()
        self._all.clear()
        self._idle.clear()
        self._count = 0


_pool: Pool | None = None
_pool_lock = threading.Lock()
# More than a few processes per CPU only adds context switches; past that, calling threads share
# them (a Celery prefork worker's child runs its batch's executions on its sender threads).
_max_processes = int(os.environ.get("PHONEPROVIDER_SANDBOX_PROCESSES", "0")) or max(
    4, 4 * (os.cpu_count() or 1)
)


def get_pool() -> Pool:
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = Pool(_max_processes)
            pool = _pool
    return pool


def spec_for(allowed_networks, memory_mb: int) -> tuple:
    """What a sandbox process must have been started with to serve an execution (its network
    permissions and heap limit are fixed at start, as are its package cache and registry)."""
    return (
        tuple(sorted(str(n) for n in allowed_networks or ())),
        memory_mb,
        _deno.deno_dir(),
        tuple(sorted(_deno.registry_settings().items())),
    )


def configure(
    *,
    max_processes: int | None = None,
    max_in_flight: int | None = None,
    deno_dir: str | None = None,
) -> None:
    """``deno_dir``: where npm packages are cached (the project's ``DENO_DIR`` setting);
    sandboxes started for another one are replaced as they come back to the pool.
    ``max_in_flight``: executions one sandbox process runs at once."""
    global _max_processes, MAX_IN_FLIGHT
    if max_in_flight is not None:
        MAX_IN_FLIGHT = max_in_flight
        if _pool is not None:
            _pool.max_in_flight = max_in_flight
    if deno_dir is not None:
        _deno.DENO_DIR = str(deno_dir)
    if max_processes is not None:
        _max_processes = max_processes
        if _pool is not None:
            _pool.max_processes = max_processes


def _after_fork_in_child() -> None:
    global _pool, _pool_lock
    _pool_lock = threading.Lock()
    if _pool is not None:
        _pool.forget()
    _pool = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def shutdown() -> None:
    """Stop this process's sandboxes (they also stop by themselves when it exits)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def warm_up(processes: int = 1, memory_mb: int = 128, allowed_networks=()) -> None:
    """Start sandbox processes ahead of the first execution (e.g. in worker_process_init)."""
    pool = get_pool()
    spec = spec_for(allowed_networks, memory_mb)
    started = [pool.checkout(f"__warm_up_{i}__", memory_mb, spec) for i in range(processes)]
    for s in started:
        pool.checkin(s, "", False)
