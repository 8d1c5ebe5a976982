"""One sandbox process (Deno, ``deno/server.js``) and the pipe to it, serving several executions
at once.

Executions are JSON lines with an id; the sandbox answers each one in its own time (a result,
or a host ``fetch`` to do first) and every answer carries the id. One reader thread per sandbox
reads the pipe and hands each message to the thread waiting for that execution; writers take
turns on the pipe. The reader also watches the process's resident size while anything runs.

The process is the hard wall, and it is shared: when it must go, every execution in it ends.
- A caller whose deadline passes kills the process and reports ``timeout``; the other executions
  in it get ``crashed`` (transient: delivery retries them).
- The resident size over its budget kills the process too. Which execution was the hog cannot be
  told from outside, so the one that has run the longest gets ``memory`` and the others
  ``crashed``: a hog is usually the one that has been allocating longest, and blaming one keeps a
  permanent ``memory`` failure off the executions that merely shared the process with it. V8
  aborting the process at its heap limit is read the same way.
- A runaway the sandbox could not stop (a loop in a terminated worker) only makes it ask to be
  recycled: the executions in flight finish normally, it takes no new ones, and the pool stops it
  once the last one has answered.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import re
import select
import signal
import subprocess
import tempfile
import threading
import time

from phoneprovider.runtime import _deno
from phoneprovider.runtime._types import FetchFn, FetchRequest

try:  # about three times faster than json for the executions' messages both ways
    import orjson
except ImportError:  # pragma: no cover - declared in pyproject; json does the same job slower
    orjson = None

_PAGE = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT_S = 30.0
WATCH_INTERVAL_S = 0.02
WORKER_MB = 24
IDLE_SLEEP_S = 1.0


class SandboxDied(Exception):
    pass


class _Deadline(Exception):
    pass


def _dumps(msg: dict) -> bytes:
    if orjson is not None:
        try:
            # Datetimes and other odd values go through str(), as json's default=str does.
            return orjson.dumps(
                msg,
                default=str,
                option=orjson.OPT_APPEND_NEWLINE
                | orjson.OPT_NON_STR_KEYS
                | orjson.OPT_PASSTHROUGH_DATETIME,
            )
        except TypeError:  # integers beyond 64 bits and the like: json takes them
            pass
    return (json.dumps(msg, separators=(",", ":"), default=str) + "\n").encode()


_loads = orjson.loads if orjson is not None else json.loads


def _killed(kind: str, detail: str = "") -> dict:
    msg = {"op": "result", "status": "error", "error_kind": kind, "killed": True}
    if detail:
        msg["detail"] = detail
    return msg


class Sandbox:
    """One sandbox process. ``in_flight``, ``draining`` and ``warm_keys`` belong to the pool
    (changed under its lock)."""

    def __init__(self, memory_mb: int, spec: tuple, max_in_flight: int = 8):
        self.memory_mb = memory_mb
        self.spec = spec
        self.warm_keys: dict[str, None] = {}
        self.in_flight = 0
        self.draining = False  # it asked to be recycled: no new executions
        self.rss_limit_pages = 0
        self._statm: int | None = None
        self._ids = itertools.count(1)
        self._boxes: dict[int, queue.SimpleQueue] = {}
        self._started: dict[int, float] = {}
        self._budgets: dict[int, int] = {}
        self._causes: dict[int, str] = {}  # why this process killed the sandbox, per execution
        self._baseline = 0
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._watch_lock = threading.Lock()
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
        # It keeps as many warm contexts as it may have executions in flight, and at least 8.
        self.proc.stdin.write(_deno.init_message(max(8, max_in_flight)))
        self._out = self.proc.stdout.fileno()
        self._in = self.proc.stdin.fileno()
        os.set_blocking(self._in, False)
        self._out_poll = select.poll()
        self._out_poll.register(self._in, select.POLLOUT | select.POLLERR)
        # The reader sleeps without a timeout once nothing has run for a while; a new execution
        # wakes it to start watching the resident size.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._sleeping = False
        self.alive = True
        self.started = time.perf_counter()
        self.spawn_ms = 0.0
        self._reader = threading.Thread(target=self._read_loop, name="sandbox-reader", daemon=True)
        self._reader.start()

    def wait_ready(self) -> None:
        try:
            msg = self._ready.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            msg = None
        if msg is None or msg.get("op") != "ready":
            self.kill()
            raise SandboxDied(f"The sandbox process did not start: {self.death_reason()[1]}")
        self.spawn_ms = (time.perf_counter() - self.started) * 1000

    # ---------------------------------------------------------------- memory
    def _rss_pages(self) -> int:
        # The file stays open (a pread, not an open and a close each time), and so keeps naming
        # this process even once its pid is reused.
        if not self.alive:
            return 0
        try:
            if self._statm is None:
                self._statm = os.open(f"/proc/{self.proc.pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
            return int(os.pread(self._statm, 128, 0).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def _arm(self, eid: int, budget_mb: int) -> None:
        """Memory outside the V8 heap (ArrayBuffers) is not seen by V8's limit; the resident
        size is. The budget counts from the size when the process last had nothing to run, plus
        room for each further execution's worker (a fresh one is about 11 MB resident)."""
        with self._watch_lock:
            if not self._budgets:
                self._baseline = self._rss_pages()
            self._budgets[eid] = budget_mb
            self._set_limit()

    def _disarm(self, eid: int) -> None:
        with self._watch_lock:
            self._budgets.pop(eid, None)
            self._set_limit()

    def _set_limit(self) -> None:
        if not self._budgets:
            self.rss_limit_pages = 0
            return
        mb = max(self._budgets.values()) + WORKER_MB * (len(self._budgets) - 1)
        self.rss_limit_pages = self._baseline + mb * 1024 * 1024 // _PAGE

    def _memory_overrun(self) -> None:
        started = dict(self._started)
        if started:
            self._causes[min(started, key=started.__getitem__)] = "memory"
        self.kill()

    # ---------------------------------------------------------------- pipe
    def _send(self, msg: dict, deadline: float | None = None) -> None:
        """Write one message whole; a sandbox that stops reading cannot block us past
        ``deadline``."""
        data = memoryview(_dumps(msg))
        deadline = deadline if deadline is not None else time.monotonic() + START_TIMEOUT_S
        if not self._write_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _Deadline()
        try:
            if self.proc.stdin.closed:  # its fd number may already name another file
                raise SandboxDied("The sandbox process is gone")
            while data:
                try:
                    n = os.write(self._in, data)
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _Deadline() from None
                    self._out_poll.poll(min(remaining, 0.05) * 1000)
                    continue
                except (OSError, ValueError):
                    raise SandboxDied("The sandbox process is gone") from None
                data = data[n:]
        finally:
            self._write_lock.release()

    def _read_loop(self) -> None:
        poll = select.poll()
        poll.register(self._out, select.POLLIN | select.POLLHUP | select.POLLERR)
        poll.register(self._wake_r, select.POLLIN)
        buf = b""
        checked = busy = 0.0
        while True:
            if self._boxes:
                events = poll.poll(WATCH_INTERVAL_S * 1000)
                busy = now = time.monotonic()
                if now - checked >= WATCH_INTERVAL_S:
                    checked = now
                    if self.rss_limit_pages and self._rss_pages() > self.rss_limit_pages:
                        self._memory_overrun()
            elif time.monotonic() - busy < IDLE_SLEEP_S:
                # Between executions that follow each other closely: no wake-up needed.
                events = poll.poll(WATCH_INTERVAL_S * 1000)
            else:
                self._sleeping = True
                events = [] if self._boxes else poll.poll()
                self._sleeping = False
            data = None
            for fd, _ in events:
                if fd == self._wake_r:
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 4096)
                else:
                    data = os.read(self._out, 1 << 20)
                    if not data:
                        self._on_exit()
                        return
            if not data:
                continue
            buf += data
            if b"\n" not in data:
                continue
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self._dispatch(_loads(line))

    def _dispatch(self, msg: dict) -> None:
        if msg.get("op") == "ready":
            self._ready.put(msg)
            return
        if msg.get("recycle"):
            self.draining = True
        box = self._boxes.get(msg.get("id"))
        if box is not None:
            box.put(msg)

    def _on_exit(self) -> None:
        self.alive = False
        kind, detail = self.death_reason()
        boxes = dict(self._boxes)
        causes = dict(self._causes)
        if not causes and kind == "memory" and boxes:
            started = {i: t for i, t in self._started.items() if i in boxes}
            causes[min(started or boxes, key=(started or boxes).__getitem__)] = "memory"
            detail = ""
        if causes:
            detail = "another execution in the same sandbox process ran over its limits"
        for eid, box in boxes.items():
            cause = causes.get(eid)
            box.put(_killed(cause) if cause else _killed("crashed", detail))
        self._ready.put(None)
        self._close_fds()

    # ---------------------------------------------------------------- life
    def kill(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.proc.kill()

    def stop(self, wait_s: float = 2.0) -> None:
        """Ask the process to exit, then make sure it has."""
        if self.alive:
            with contextlib.suppress(SandboxDied, _Deadline):
                self._send({"op": "exit"}, time.monotonic() + wait_s)
        self.alive = False
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)

    def close(self) -> None:
        self.stop(wait_s=0.5)

    def _close_fds(self) -> None:
        with self._write_lock, contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        for fd in (self._wake_r, self._wake_w, self._statm):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._statm = None

    def forget(self) -> None:
        """After fork: this process does not own the sandbox (nor its reader thread, which does
        not exist here): drop the fds, leave it running."""
        self.alive = False
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                f.close()
        for fd in (self._wake_r, self._wake_w, self._statm):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._statm = None

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
        except (OSError, ValueError):
            pass
        if re.search(r"out of memory|OOM|allocation failed|heap limit", tail, re.I):
            return "memory", "memory"
        if code < 0:
            return "crashed", f"signal {signal.Signals(-code).name}"
        return "crashed", f"exit status {code}"

    # ---------------------------------------------------------------- one execution
    def run(
        self, req: dict, fetch: FetchFn | None, hard_deadline: float, memory_budget_mb: int
    ) -> dict:
        """Run one execution (others may be running in this process too) and return its
        result; raises ``SandboxDied`` if the process was gone before it could be sent."""
        eid = next(self._ids)
        box: queue.SimpleQueue = queue.SimpleQueue()
        self._boxes[eid] = box
        self._started[eid] = time.monotonic()
        self._arm(eid, memory_budget_mb)
        try:
            if not self.alive:
                raise SandboxDied("The sandbox process is gone")
            if self._sleeping:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"x")
            try:
                self._send({**req, "id": eid}, hard_deadline)
            except _Deadline:
                return self._stop_for(eid, "timeout")
            while True:
                try:
                    msg = box.get(timeout=max(0.0, hard_deadline - time.monotonic()))
                except queue.Empty:
                    return self._stop_for(eid, "timeout")
                op = msg.get("op")
                if op == "fetch":
                    answer = {
                        "op": "fetch_result",
                        "id": eid,
                        "fid": msg["fid"],
                        "resp": _call_fetch(fetch, msg),
                    }
                    try:
                        self._send(answer, hard_deadline)
                    except _Deadline:
                        return self._stop_for(eid, "timeout")
                    except SandboxDied:
                        continue  # the reader hands us its death
                elif op == "result":
                    return msg
        finally:
            self._boxes.pop(eid, None)
            self._started.pop(eid, None)
            self._disarm(eid)

    def _stop_for(self, eid: int, cause: str) -> dict:
        self._causes[eid] = cause
        self.kill()
        return _killed(cause)


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
