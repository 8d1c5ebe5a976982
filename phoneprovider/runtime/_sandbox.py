"""Sandbox processes (Deno, ``deno/server.js``) and the pool each calling process keeps.

Each calling process (a Celery worker child, a test process, the bench) keeps a small pool of
sandbox processes, started lazily on first use and after every fork. A sandbox runs one
execution at a time; a calling thread checks one out, preferring one that already holds a warm
context for the execution's ``context_key``. The caller enforces the wall-clock deadline from
outside (``timeout_s`` + ``GRACE_S``) and watches the sandbox's resident size: on overrun it kills
the sandbox with SIGKILL and reports a timeout or memory outcome; if the sandbox dies (V8 aborts
when a heap reaches its limit) it reads the exit status and the tail of the sandbox's stderr to
say why. Either way the next execution gets a fresh sandbox, and the calling process never runs
handler code itself.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import tempfile
import threading
import time

from phoneprovider.runtime import _deno
from phoneprovider.runtime._types import FetchFn, FetchRequest

GRACE_S = 3.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT_S = 30.0
MAX_CONTEXTS_PER_SANDBOX = 8


class SandboxDied(Exception):
    pass


class _Deadline(Exception):
    pass


class _MemoryExceeded(Exception):
    pass


class Sandbox:
    """One sandbox process and the pipe to it."""

    def __init__(self, memory_mb: int, spec: tuple):
        self.memory_mb = memory_mb
        self.spec = spec
        self.warm_keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._buf = bytearray()
        self.rss_limit_pages = 0
        self._statm: int | None = None
        # The sandbox's stderr (V8 writes fatal errors there) is kept to explain a crash.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the sandbox
        self.proc = subprocess.Popen(
            _deno.command(memory_mb, spec[0]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
            cwd="/",
            # Nothing of this process's environment (database URLs, keys) reaches the sandbox.
            env=_deno.environment(),
        )
        self.proc.stdin.write(_deno.init_message())
        self._out = self.proc.stdout.fileno()
        self._in = self.proc.stdin.fileno()
        os.set_blocking(self._in, False)
        self._out_poll = select.poll()
        self._out_poll.register(self._in, select.POLLOUT | select.POLLERR)
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.alive = True
        self.started = time.perf_counter()
        self.spawn_ms = 0.0

    def wait_ready(self) -> None:
        msg = self._read(time.monotonic() + START_TIMEOUT_S)
        if msg is None or msg.get("op") != "ready":
            self.kill()
            raise SandboxDied(f"The sandbox process did not start: {self.death_reason()[1]}")
        self.spawn_ms = (time.perf_counter() - self.started) * 1000

    def _rss_pages(self) -> int:
        # Read at least twice per execution: the file stays open (a pread, not an open and a
        # close each time), and so keeps naming this process even once its pid is reused.
        try:
            if self._statm is None:
                self._statm = os.open(f"/proc/{self.proc.pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
            return int(os.pread(self._statm, 128, 0).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def _close_statm(self) -> None:
        if self._statm is not None:
            with contextlib.suppress(OSError):
                os.close(self._statm)
            self._statm = None

    def arm_memory_watch(self, budget_mb: int) -> None:
        self.rss_limit_pages = self._rss_pages() + budget_mb * 1024 * 1024 // _PAGE

    # ---------------------------------------------------------------- pipe
    def _send(self, msg: dict, deadline: float | None = None) -> None:
        """Write one message; a sandbox that stops reading cannot block us past ``deadline``."""
        data = memoryview((json.dumps(msg, separators=(",", ":"), default=str) + "\n").encode())
        deadline = deadline if deadline is not None else time.monotonic() + START_TIMEOUT_S
        while data:
            try:
                n = os.write(self._in, data)
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Deadline() from None
                self._out_poll.poll(remaining * 1000)
                continue
            except OSError:
                raise SandboxDied("The sandbox process is gone") from None
            data = data[n:]

    def _read(self, deadline: float) -> dict | None:
        """The next message, ``None`` on EOF; raises ``_Deadline``."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                return json.loads(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            if self.rss_limit_pages:
                # Memory outside the V8 heap (ArrayBuffers) is not seen by V8's limit; the
                # resident size is. Deno cannot watch itself without more permissions.
                ready = self._poll.poll(min(remaining, 0.02) * 1000)
                if self._rss_pages() > self.rss_limit_pages:
                    raise _MemoryExceeded()
                if not ready:
                    continue
            elif not self._poll.poll(min(remaining, 3600) * 1000):
                continue
            chunk = os.read(self._out, 1 << 20)
            if not chunk:
                return None
            self._buf += chunk

    # ---------------------------------------------------------------- life
    def kill(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.proc.kill()
        self._reap()

    def _reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._close_statm()
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                f.close()

    def close(self) -> None:
        if self.alive:
            with contextlib.suppress(SandboxDied):
                self._send({"op": "exit"})
        self.kill()

    def forget(self) -> None:
        """After fork: this process does not own the sandbox; drop the fds, leave it running."""
        self.alive = False
        self._close_statm()
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                f.close()

    def death_reason(self) -> tuple[str, str]:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        tail = ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 8192))
            tail = self._stderr.read().decode("utf-8", "replace")
        except OSError:
            pass
        if re.search(r"out of memory|OOM|allocation failed|heap limit", tail, re.I):
            return "memory", "memory"
        if code < 0:
            return "crashed", f"signal {signal.Signals(-code).name}"
        return "crashed", f"exit status {code}"

    # ---------------------------------------------------------------- one execution
    def run(self, req: dict, fetch: FetchFn | None, hard_deadline: float) -> dict:
        try:
            self._send(req, hard_deadline)
        except _Deadline:
            self.kill()
            return {"status": "error", "error_kind": "timeout", "killed": True}

        while True:
            try:
                msg = self._read(hard_deadline)
            except _Deadline:
                self.kill()
                return {"status": "error", "error_kind": "timeout", "killed": True}
            except _MemoryExceeded:
                self.kill()
                return {"status": "error", "error_kind": "memory", "killed": True}
            if msg is None:
                self.alive = False
                kind, detail = self.death_reason()
                self._reap()
                return {"status": "error", "error_kind": kind, "detail": detail, "killed": True}

            op = msg.get("op")
            if op == "fetch":
                answer = {
                    "op": "fetch_result",
                    "id": msg["id"],
                    "fid": msg["fid"],
                    "resp": _call_fetch(fetch, msg),
                }
                try:
                    self._send(answer, hard_deadline)
                except _Deadline:
                    self.kill()
                    return {"status": "error", "error_kind": "timeout", "killed": True}
            elif op == "result":
                if msg.get("recycle"):
                    self.alive = False
                    self._reap()
                return msg


def _call_fetch(fetch: FetchFn | None, msg: dict) -> dict:
    r = msg["req"]
    request = FetchRequest(
        method=r["method"],
        url=r["url"],
        headers=[(k, v) for k, v in r.get("headers", [])],
        body=base64.b64decode(r["body_b64"]) if r.get("body_b64") else None,
        redirect=r.get("redirect", "follow"),
        timeout_s=float(msg.get("timeout_s", 10.0)),
    )
    try:
        resp = fetch(request)  # type: ignore[misc]
    except Exception as exc:
        return {"error": str(exc) or type(exc).__name__}
    return {
        "status": int(resp.status),
        "status_text": resp.status_text,
        "headers": [[k, v] for k, v in resp.headers],
        "body_b64": base64.b64encode(resp.body or b"").decode(),
        "url": resp.url or request.url,
        "redirected": resp.redirected,
    }


_SPAWN = object()


class Pool:
    """Sandboxes of one calling process. Threads that find none free wait in FIFO order and
    are handed a sandbox directly when one is checked in (no thundering herd, no starvation),
    preferring a waiter whose context is warm in it."""

    def __init__(self, max_processes: int):
        self.max_processes = max_processes
        self._lock = threading.Lock()
        self._idle: list[Sandbox] = []
        self._waiters: collections.deque[list] = collections.deque()
        self._count = 0
        self._all: set[Sandbox] = set()
        self._generations: dict[str, int] = {}

    def checkout(self, key: str, memory_mb: int, spec: tuple) -> Sandbox:
        while True:
            waiter = None
            with self._lock:
                got = self._take_idle(key, memory_mb, spec) if not self._waiters else None
                if got is None:
                    if not self._waiters and self._count < self.max_processes:
                        self._count += 1
                        got = _SPAWN
                    else:
                        waiter = [key, memory_mb, threading.Event(), None, spec]
                        self._waiters.append(waiter)
            if waiter is not None:
                waiter[2].wait()
                got = waiter[3]
            if got is _SPAWN:
                return self._spawn(memory_mb, spec)
            if got.alive and got.proc.poll() is None:
                return got
            with self._lock:
                self._discard(got)

    def _take_idle(self, key: str, memory_mb: int, spec: tuple) -> Sandbox | None:
        pick = None
        for s in reversed(self._idle):
            if s.memory_mb >= memory_mb and s.spec == spec:
                if key in s.warm_keys:
                    pick = s
                    break
                pick = pick or s
        if pick is None and self._idle and self._count >= self.max_processes:
            # Only sandboxes started for another memory limit, network allowance or package
            # cache are idle: replace one.
            self._discard(self._idle.pop(0))
            self._count += 1
            return _SPAWN  # type: ignore[return-value]
        if pick is not None:
            self._idle.remove(pick)
        return pick

    def _spawn(self, memory_mb: int, spec: tuple) -> Sandbox:
        try:
            sandbox = Sandbox(memory_mb, spec)
            sandbox.wait_ready()
        except BaseException:
            with self._lock:
                self._count -= 1
                self._wake_for_spawn()
            raise
        with self._lock:
            self._all.add(sandbox)
        return sandbox

    def _discard(self, sandbox: Sandbox) -> None:
        if sandbox.alive:
            sandbox.kill()
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
        with self._lock:
            if not sandbox.alive:
                self._discard(sandbox)
                return
            if keep_key:
                sandbox.warm_keys[key] = None
                sandbox.warm_keys.move_to_end(key)
                while len(sandbox.warm_keys) > MAX_CONTEXTS_PER_SANDBOX:
                    sandbox.warm_keys.popitem(last=False)
            else:
                sandbox.warm_keys.pop(key, None)
            if self._waiters:
                fits = [
                    w for w in self._waiters if w[1] <= sandbox.memory_mb and w[4] == sandbox.spec
                ]
                waiter = next((w for w in fits if w[0] in sandbox.warm_keys), None)
                waiter = waiter or (fits[0] if fits else None)
                if waiter is not None:
                    self._waiters.remove(waiter)
                    waiter[3] = sandbox
                    waiter[2].set()
                    return
            self._idle.append(sandbox)

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
            for s in list(self._all):
                s.close()
            self._all.clear()
            self._idle.clear()
            self._count = 0

    def forget(self) -> None:
        for s in list(self._all):
            s.forget()
        self._all.clear()
        self._idle.clear()
        self._count = 0


_pool: Pool | None = None
_pool_lock = threading.Lock()
# One sandbox per calling thread at most; more than a few per CPU only adds context switches
# (a Celery prefork worker uses one at a time anyway).
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


def configure(*, max_processes: int | None = None, deno_dir: str | None = None) -> None:
    """``deno_dir``: where npm packages are cached (the project's ``DENO_DIR`` setting);
    sandboxes started for another one are replaced as they come back to the pool."""
    global _max_processes
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
