"""The calling side: sandbox processes, their pool, and ``execute``.

Each calling process (a Celery worker child, a test process, the bench) keeps a small pool of
sandbox processes (``_child.py``), started lazily on first use and after every fork. A sandbox
runs one execution at a time; a calling thread checks one out, preferring one that already holds
a warm context for the execution's ``context_key``. The caller enforces the wall-clock deadline
from outside (``timeout_s`` + ``GRACE_S``): on overrun it kills the sandbox with SIGKILL and
returns a timeout outcome; if the sandbox dies (V8 aborts on some out-of-memory paths) it reads
the exit status and the tail of the sandbox's stderr to say why. Either way the next execution
gets a fresh sandbox, and the calling process never runs handler code itself.
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
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from phoneprovider.runtime import _deno, _npm
from phoneprovider.runtime._types import FetchFn, FetchRequest, Limits, Outcome
from phoneprovider.runtime.cache import CacheStore

CHILD = Path(__file__).resolve().parent / "_child.py"
GRACE_S = 3.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT_S = 30.0
EXIT_MEMORY = 86
EXIT_STUCK = 87
TRIGGERS = ("custom-phone-provider", "send-phone-message")
MAX_CONTEXTS_PER_SANDBOX = 8


class SandboxDied(Exception):
    pass


class _Deadline(Exception):
    pass


class _MemoryExceeded(Exception):
    pass


class Sandbox:
    """One sandbox process and the pipe to it."""

    def __init__(self, memory_mb: int, flavor: tuple = ("miniracer",)):
        self.memory_mb = memory_mb
        self.flavor = flavor
        self.warm_keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._buf = bytearray()
        self.rss_limit_pages = 0
        # The sandbox's stderr (V8 writes fatal errors there) is kept to explain a crash.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the sandbox
        if flavor[0] == "deno":
            argv, env = _deno.command(memory_mb, flavor[1]), _deno.environment()
        else:
            config = json.dumps({"memory_mb": memory_mb, "max_contexts": MAX_CONTEXTS_PER_SANDBOX})
            argv = [sys.executable, "-I", str(CHILD), config]
            # Nothing of this process's environment (database URLs, keys) reaches the sandbox.
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
            cwd="/",
            env=env,
        )
        if flavor[0] == "deno":
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
        try:
            with open(f"/proc/{self.proc.pid}/statm", "rb") as f:
                return int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def arm_memory_watch(self, budget_mb: int) -> None:
        if self.flavor[0] == "deno":
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
        if code == EXIT_STUCK:
            return "stuck", "a previous execution left code running"
        if code == EXIT_MEMORY or re.search(
            r"out of memory|OOM|allocation failed|heap limit", tail, re.I
        ):
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
        received = False
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
                if kind == "stuck" and not received:
                    # It exited on purpose before starting this request: replay it elsewhere.
                    raise SandboxDied(detail)
                return {"status": "error", "error_kind": kind, "detail": detail, "killed": True}
            received = True
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

    def checkout(self, key: str, memory_mb: int, flavor: tuple = ("miniracer",)) -> Sandbox:
        while True:
            waiter = None
            with self._lock:
                got = self._take_idle(key, memory_mb, flavor) if not self._waiters else None
                if got is None:
                    if not self._waiters and self._count < self.max_processes:
                        self._count += 1
                        got = _SPAWN
                    else:
                        waiter = [key, memory_mb, threading.Event(), None, flavor]
                        self._waiters.append(waiter)
            if waiter is not None:
                waiter[2].wait()
                got = waiter[3]
            if got is _SPAWN:
                return self._spawn(memory_mb, flavor)
            if got.alive and got.proc.poll() is None:
                return got
            with self._lock:
                self._discard(got)

    def _take_idle(self, key: str, memory_mb: int, flavor: tuple) -> Sandbox | None:
        pick = None
        for s in reversed(self._idle):
            if s.memory_mb >= memory_mb and s.flavor == flavor:
                if key in s.warm_keys:
                    pick = s
                    break
                pick = pick or s
        if pick is None and self._idle and self._count >= self.max_processes:
            # Only sandboxes started for a smaller memory limit or another engine or network
            # allowance are idle: replace one.
            self._discard(self._idle.pop(0))
            self._count += 1
            return _SPAWN  # type: ignore[return-value]
        if pick is not None:
            self._idle.remove(pick)
        return pick

    def _spawn(self, memory_mb: int, flavor: tuple) -> Sandbox:
        try:
            # mini-racer's isolates get their own hard limit per execution; a Deno process's heap
            # limit follows the execution's memory limit.
            size = max(memory_mb, 128) if flavor[0] == "miniracer" else memory_mb
            sandbox = Sandbox(size, flavor)
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
                    w for w in self._waiters if w[1] <= sandbox.memory_mb and w[4] == sandbox.flavor
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


BACKENDS = ("miniracer", "deno")
_backend = os.environ.get("ACTION_RUNTIME", "deno")


def backend() -> str:
    return _backend


def flavor_for(allowed_networks, memory_mb: int) -> tuple:
    """What a sandbox process must have been started with to serve an execution: the engine and,
    for Deno (whose network permissions and heap limit are fixed at start), the allowed networks
    and the memory limit."""
    if _backend == "deno":
        return ("deno", tuple(sorted(str(n) for n in allowed_networks or ())), memory_mb)
    return ("miniracer",)


def configure(
    *, max_processes: int | None = None, backend: str | None = None, deno_dir: str | None = None
) -> None:
    """``backend``: "miniracer" or "deno" (the ``ACTION_RUNTIME`` environment variable sets the
    default); sandboxes of the other engine are stopped as they come back to the pool."""
    global _max_processes, _backend
    if deno_dir is not None:
        _deno.DENO_DIR = str(deno_dir)
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"Unknown action runtime {backend!r}; choose one of {BACKENDS}")
        _backend = backend
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
    flavor = flavor_for(allowed_networks, memory_mb)
    started = [pool.checkout(f"__warm_up_{i}__", memory_mb, flavor) for i in range(processes)]
    for s in started:
        pool.checkin(s, "", False)


# ------------------------------------------------------------------------------ execute


def _legacy_event(event: dict) -> dict:
    n = event.get("notification") or {}
    voice = n.get("delivery_method") == "voice"
    out = {k: v for k, v in event.items() if k != "notification"}
    out["message_options"] = {
        "action": "enrollment"
        if n.get("message_type") == "otp_enroll"
        else "second-factor-authentication",
        "code": n.get("code", ""),
        "message_type": "voice" if voice else "sms",
        "recipient": n.get("recipient", ""),
        "text": n.get("as_voice" if voice else "as_text", "") or "",
    }
    given = event.get("message_options")
    if isinstance(given, dict):  # a test run's payload in Auth0's legacy shape wins
        out["message_options"] = {**out["message_options"], **given}
    return out


_SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}


# Base64 of a secret inside a longer blob (an Authorization header's user:password) depends on
# where it starts; its alignment-independent middle is redacted when at least this long.
_BASE64_CORE_MIN = 8


def _json_escaped(v: str) -> set[str]:
    """The forms JSON.stringify (once, or twice for JSON inside JSON) and json.dumps write."""
    forms = set()
    for ascii_only in (False, True):
        once = json.dumps(v, ensure_ascii=ascii_only)[1:-1]
        forms.update({once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]})
    return forms


def _base64_forms(v: str) -> set[str]:
    """The secret's base64 (standard and URL-safe, padded or not) at each of the three byte
    alignments it can have inside a longer encoded text."""
    raw = v.encode("utf-8", "surrogatepass")
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = -(-offset * 8 // 6)  # characters that also carry the bytes before the secret
        end = (offset + len(raw)) * 8 // 6  # characters fully made of the secret's bits
        core = encoded[start:end]
        if offset == 0 and len(raw) >= 4:
            forms.add(encoded)
            forms.add(encoded.rstrip("="))
        if len(core) >= _BASE64_CORE_MIN:
            forms.add(core)
    return forms | {f.replace("+", "-").replace("/", "_") for f in forms}


class Redactor:
    """Replaces every secret value with ``[redacted]``, and the forms it takes on the way into a
    log or a URL: URL-encoded, JSON-escaped (once or twice) and base64."""

    def __init__(self, secrets: dict[str, str]):
        variants: set[str] = set()
        for v in secrets.values():
            if not isinstance(v, str) or not v:
                continue
            variants.update({v, urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v)})
            variants.update(_json_escaped(v))
            variants.update(_base64_forms(v))
        variants.discard("")
        ordered = sorted(variants, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def text(self, s):
        if self._re is None or not isinstance(s, str):
            return s
        return self._re.sub("[redacted]", s)

    def deep(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.deep(v) for v in value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value


def _mask_header(name: str, value: str) -> str:
    if name.lower() not in _SENSITIVE_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} [redacted]" if rest else "[redacted]"


_KEY_RE_MAX = 64
_VALUE_MAX = 4096


def _checked_cache_changes(changes) -> dict:
    """The host re-checks what the isolate says it wrote (the isolate is not trusted)."""
    if not isinstance(changes, dict):
        return {}
    now = time.time() * 1000
    out = {}
    for key, record in list(changes.items())[:20]:
        if not isinstance(key, str) or not key or len(key.encode()) > _KEY_RE_MAX:
            continue
        if record is None:
            out[key] = None
            continue
        if not isinstance(record, dict):
            continue
        value, expires = record.get("value"), record.get("expires_at")
        if not isinstance(value, str) or len(value.encode()) > _VALUE_MAX:
            continue
        if not isinstance(expires, int | float) or not now < expires <= now + 86_400_000 + 60_000:
            continue
        out[key] = {"value": value, "expires_at": int(expires)}
    return out


def _cap_logs(logs, max_bytes: int) -> tuple[list[dict], bool]:
    out, used, cut = [], 0, False
    for entry in logs if isinstance(logs, list) else []:
        if not isinstance(entry, dict):
            continue
        msg = str(entry.get("message", ""))
        cost = len(msg.encode()) + 32
        if used + cost > max_bytes:
            cut = True
            break
        used += cost
        out.append(
            {
                "level": str(entry.get("level", "log"))[:8],
                "message": msg,
                "t_ms": entry.get("t_ms", 0),
            }
        )
    return out, cut


def _message_for(kind: str, limits: Limits, detail: str = "") -> str:
    if kind == "timeout":
        return f"The handler did not finish within {limits.timeout_s:g} s and was stopped."
    if kind == "memory":
        return f"The handler used more memory than allowed ({limits.memory_mb} MB) and was stopped."
    return "The sandbox process stopped unexpectedly while running the handler" + (
        f" ({detail})." if detail else "."
    )


def execute(
    source: str,
    event: dict,
    *,
    trigger: str = "custom-phone-provider",
    context_key: str,
    secrets: dict[str, str],
    fetch: FetchFn | None = None,
    http_policy=None,
    cache: CacheStore | None = None,
    cache_namespace: str = "",
    dry_run: bool = False,
    limits: Limits | None = None,
    packages: list[dict] | None = None,
) -> Outcome:
    """Run ``source``'s handler for ``event`` in a sandbox process and return its outcome.

    ``packages``: the npm packages the handler may ``require``, pinned (``[{name, version}]``
    from ``npm.resolve`` at deploy); installed here first if this machine lacks them."""
    t0 = time.perf_counter()
    limits = limits or Limits()
    secrets = dict(secrets or {})
    redactor = Redactor(secrets)
    stats: dict = {
        "total_ms": 0.0,
        "boot_ms": 0.0,
        "execution_ms": 0.0,
        "fetch_ms": 0.0,
        "warm": False,
    }
    try:
        if trigger not in TRIGGERS:
            raise ValueError(f"Unknown trigger {trigger!r}")
        ev = dict(event or {})
        ev["secrets"] = {**(ev.get("secrets") or {}), **secrets}
        ev.setdefault("configuration", {})
        if trigger == "send-phone-message":
            ev = _legacy_event(ev)
        entries = {}
        if cache is not None:
            try:
                entries = cache.load(cache_namespace)
            except Exception:
                entries = {}
        policy = None
        if http_policy is not None:
            policy = {
                "allowed_networks": list(http_policy.allowed_networks),
                "connect_timeout_s": http_policy.connect_timeout_s,
                "timeout_s": http_policy.timeout_s,
                "max_response_bytes": http_policy.max_response_bytes,
                "max_redirects": http_policy.max_redirects,
            }
        if packages and _backend == "deno":
            try:
                packages = _npm.ensure(packages)
            except _npm.DependencyError as exc:
                return Outcome(
                    status="error",
                    reason=exc.message,
                    error_kind="load",
                    error={"name": "Error", "message": exc.message, "stack": ""},
                    stats={**stats, "total_ms": round((time.perf_counter() - t0) * 1000, 3)},
                )
        key = get_pool().context_id(context_key)
        req = {
            "op": "exec",
            "id": 0,
            "key": key,
            "source": source,
            "trigger": trigger,
            "event": ev,
            "cache": entries,
            "dry_run": bool(dry_run),
            "packages": list(packages or []),
            "host_fetch": fetch is not None and not dry_run,
            "policy": policy,
            "limits": {
                "timeout_s": float(limits.timeout_s),
                "memory_mb": int(limits.memory_mb),
                "max_fetches": int(limits.max_fetches),
                "max_response_bytes": int(limits.max_response_bytes),
                "max_log_bytes": int(limits.max_log_bytes),
                "fetch_timeout_s": float(limits.fetch_timeout_s),
            },
        }
        pool = get_pool()
        flavor = flavor_for(
            http_policy.allowed_networks if http_policy is not None else (), int(limits.memory_mb)
        )
        spawned_ms = 0.0
        res: dict = {}
        for attempt in range(2):
            sandbox = pool.checkout(key, int(limits.memory_mb), flavor)
            sandbox.arm_memory_watch(int(limits.memory_mb) + 32)
            spawned_ms += sandbox.spawn_ms
            sandbox.spawn_ms = 0.0
            res = {}
            try:
                res = sandbox.run(req, fetch, time.monotonic() + float(limits.timeout_s) + GRACE_S)
                sandbox.rss_limit_pages = 0
                break
            except SandboxDied:
                # It died while idle (killed from outside): nothing ran yet, use a fresh one.
                sandbox.kill()
                if attempt:
                    raise
            finally:
                ok = res.get("status") in ("delivered", "drop", "retry")
                pool.checkin(sandbox, key, ok)
                if not ok:
                    pool.retire(context_key)
        outcome = _outcome_from(res, limits, redactor)
        stats.update({k: v for k, v in (res.get("stats") or {}).items() if k in stats})
        if spawned_ms:
            stats["spawn_ms"] = round(spawned_ms, 3)
        if cache is not None and res.get("cache_changes"):
            changes = _checked_cache_changes(res["cache_changes"])
            if changes:
                try:
                    cache.save(cache_namespace, changes)
                except Exception as exc:
                    outcome.logs.append(
                        {
                            "level": "warn",
                            "t_ms": 0,
                            "message": f"api.cache changes were not saved: {exc}",
                        }
                    )
    except Exception as exc:
        message = f"The handler could not be run: {exc}"
        outcome = Outcome(
            status="error",
            reason=message,
            error_kind="crashed",
            error={"name": "Error", "message": message, "stack": ""},
        )
    stats["total_ms"] = round((time.perf_counter() - t0) * 1000, 3)
    outcome.stats = stats
    return outcome


def _outcome_from(res: dict, limits: Limits, redactor: Redactor) -> Outcome:
    status = res.get("status", "error")
    kind = res.get("error_kind")
    if res.get("killed"):
        message = _message_for(
            kind or "crashed", limits, "" if kind == "memory" else res.get("detail", "")
        )
        res.setdefault("reason", message)
        res.setdefault(
            "error",
            {
                "name": "Error" if kind != "memory" else "RangeError",
                "message": message,
                "stack": "",
            },
        )
    logs, cut = _cap_logs(res.get("logs"), limits.max_log_bytes)
    fetches = []
    for f in res.get("fetches") or []:
        keys = ("method", "url", "status", "duration_ms", "error", "error_kind")
        rec = {k: f.get(k) for k in keys}
        if "headers" in f:
            rec["headers"] = [[k, _mask_header(k, v)] for k, v in f["headers"]]
            rec["body"] = f.get("body")
        fetches.append(rec)
    reason = str(res.get("reason") or "")
    if status in ("drop", "retry"):
        reason = reason[:1024]
    error = res.get("error")
    if status != "error":
        error, kind = None, None
    elif isinstance(error, dict):
        error = {
            "name": str(error.get("name", "Error"))[:200],
            "message": str(error.get("message", ""))[:4096],
            "stack": str(error.get("stack", ""))[:16384],
        }
        reason = reason[:4096]
    return Outcome(
        status=status,
        reason=redactor.text(reason),
        error=redactor.deep(error) if error else None,
        error_kind=kind,
        logs=redactor.deep(logs),
        logs_truncated=bool(res.get("logs_truncated")) or cut,
        fetches=redactor.deep(fetches),
    )
