"""The sandbox process: runs handler code in V8 isolates, one execution at a time.

Started by ``_pool.Sandbox`` as ``python -I _child.py CONFIG_JSON`` (a script, not a module of the
``phoneprovider`` package, so nothing of the project - Django, Celery - is imported here; the
outbound HTTP module is loaded by path). It talks JSON lines over stdin/stdout:

    parent -> child  {"op": "exec", ...}          one execution
                     {"op": "fetch_result", ...}  answer to a host-fetch request
    child -> parent  {"op": "ready"}              once, after start
                     {"op": "fetch", ...}         only when the parent owns fetch (a FetchFn)
                     {"op": "result", ...}        the execution's result; "recycle": true means
                                                  this process exits right after

Each context (one per ``context_key``) is its own V8 isolate holding the runtime prelude and the
handler's module; it is reused for the next execution of the same key and dropped after any
error. After a timeout, a memory limit hit or a crash of the engine, the whole process exits and
the parent starts a fresh one: an isolate that ran away cannot be trusted, and some runaways
(microtask and timer loops) cannot be stopped from inside.

Every call into an isolate after the handler started goes through ``eval_cancelable``: it
queues a task that only runs when the isolate is idle, so a runaway isolate shows up as a task
that does not finish by the deadline, and never blocks this process's event loop. Data moves
through a SharedArrayBuffer the prelude hands out once (outbox: fetch requests and the result,
read here without calling into the isolate; inbox: run/deliver payloads, read by constant
scripts that V8 compiles once), plus an argument-less notification when the outbox fills.
Per execution with one fetch that is two evaluations and one notification.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hashlib
import json
import os
import re
import resource
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXIT_MEMORY = 86
EXIT_STUCK = 87  # left-over code kept an isolate busy; exited before taking the next request
IDLE_CHECK_S = 1.0
CH_HEADER, CH_OUT, CH_IN = 64, 512 * 1024, 512 * 1024  # as in prelude.js

CONFIG = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
MEMORY_MB = int(CONFIG.get("memory_mb", 128))
MAX_CONTEXTS = int(CONFIG.get("max_contexts", 8))
MAX_EXECUTIONS = int(CONFIG.get("max_executions", 5000))

from py_mini_racer import init_mini_racer  # noqa: E402

# V8 aborts on some out-of-memory paths; the parent reports that, a core file helps nobody.
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

# V8 flags are process-wide: bound the old generation so a runaway heap meets mini-racer's
# per-isolate hard limit (a clean error) before the process-wide one (a fatal abort).
init_mini_racer(flags=("--single-threaded", f"--max-old-space-size={MEMORY_MB + 32}"))

from py_mini_racer import JSOOMException, JSParseException, mini_racer  # noqa: E402
from py_mini_racer._exc import JSEvalException, JSTerminatedException  # noqa: E402

# The outbound HTTP layer imports nothing else of the project (no Django), so the sandbox can
# import it from the source tree even under ``python -I``.
sys.path.insert(0, str(HERE.parents[1]))
from phoneprovider import net as http  # noqa: E402

PRELUDE = (HERE / "js" / "prelude.js").read_text()
OUT_FD = sys.stdout.fileno()
_write_lock = threading.Lock()


def send(msg: dict) -> None:
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    with _write_lock:
        view = memoryview(data)
        while view:
            n = os.write(OUT_FD, view)
            view = view[n:]


def vm_data_bytes() -> int:
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def set_data_limit(extra_bytes: int) -> None:
    """Cap this process's private writable memory at its current use plus ``extra_bytes``.

    ArrayBuffers live outside the V8 heap (mini-racer's heap limit does not see them); with the
    cap their allocation fails inside JavaScript (a RangeError) instead of growing the process.
    """
    soft = vm_data_bytes() + extra_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


class MemoryWatch(threading.Thread):
    """Exits the process when it grows past the execution's budget.

    V8 can spend seconds in last-resort garbage collections before it gives up on one huge
    array, and memory outside the V8 heap is not seen by its limit; the resident size is. The
    parent reads the exit status as "memory". Polls only while an execution runs.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.active = threading.Event()
        self.limit_pages = 0
        self._fd = os.open("/proc/self/statm", os.O_RDONLY)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def rss_pages(self) -> int:
        return int(os.pread(self._fd, 64, 0).split()[1])

    def arm(self, budget_bytes: int) -> None:
        self.limit_pages = self.rss_pages() + budget_bytes // self._page
        self.active.set()

    def disarm(self) -> None:
        self.active.clear()

    def run(self) -> None:
        while True:
            self.active.wait()
            time.sleep(0.01)
            if self.active.is_set() and self.rss_pages() > self.limit_pages:
                os._exit(EXIT_MEMORY)


WATCH = MemoryWatch()


class Stuck(Exception):
    """The isolate did not answer in time."""


class Context:
    """One isolate with the prelude and one handler module."""

    def __init__(self, key: str, source_hash: str):
        self.key = key
        self.source_hash = source_hash
        self.host = "__pp_" + os.urandom(8).hex()
        self._cm = None
        self.mr = None
        self.notified = asyncio.Event()
        self._n_host_cm = None
        self.executions = 0
        self.chan = None  # memoryview over the prelude's shared channel buffer
        self.hdr = None
        self.inbox_lock = asyncio.Lock()

    async def boot(self, loop, source: str) -> None:
        self._cm = mini_racer(loop)
        self.mr = self._cm.__enter__()
        ctx = self.mr._ctx
        # Argument-less notifications: JS tells us "something changed"; we then ask with a
        # cancelable eval. Reading arguments would need a call into a possibly busy isolate.
        self._n_host_cm = ctx._register_js_notification(lambda _h: self.notified.set())
        n_host = self._n_host_cm.__enter__()
        setter = self.mr.eval("(a) => { globalThis.__pp_n_host = a; }")
        setter(n_host)
        prelude = PRELUDE.replace("__PP_HOST_NAME__", json.dumps(self.host))
        self.mr.eval(prelude + "\n//# sourceURL=pp-runtime.js")
        self.chan = self.mr.eval(f"{self.host}.channel()")
        self.hdr = self.chan[:CH_HEADER].cast("i")
        wrapped = (
            f"{self.host}.define(function (exports, require, module, __filename, __dirname) {{\n"
            f"{source}\n}});\n//# sourceURL=handler.js"
        )
        await self.mr.eval_cancelable(wrapped)

    async def eval(self, code: str, deadline: float):
        # One deadline for the whole call: asyncio.timeout_at cancels the evaluation, which
        # cancels the V8 task (mini-racer terminates the script). loop.time() is monotonic.
        try:
            async with asyncio.timeout_at(deadline):
                return await self.mr.eval_cancelable(code)
        except TimeoutError:
            raise Stuck() from None

    def take_outbox(self) -> dict | None:
        """The message the isolate posted, if any (reading needs no call into the isolate)."""
        n = self.hdr[0]
        if n <= 0:
            return None
        if n > CH_OUT:
            raise ValueError("corrupt channel")
        data = bytes(self.chan[CH_HEADER : CH_HEADER + n])
        self.hdr[0] = 0
        return json.loads(data)

    async def call(self, method: str, payload: dict, deadline: float):
        """``HOST.method(payload)`` through the inbox (a constant script: no compilation)."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        if len(data) > CH_IN:
            literal = json.dumps(data.decode())
            if method == "deliver":
                return await self.eval(
                    f"{self.host}.deliver({payload['ex']},{payload['id']},"
                    f"{json.dumps(json.dumps(payload['resp']))})",
                    deadline,
                )
            return await self.eval(f"{self.host}.{method}({literal})", deadline)
        async with self.inbox_lock:
            start = CH_HEADER + CH_OUT
            self.chan[start : start + len(data)] = data
            self.hdr[2] = len(data)
            return await self.eval(f"{self.host}.{method}()", deadline)

    def close(self) -> None:
        self.hdr = None
        if self.chan is not None:
            self.chan.release()
            self.chan = None
        for cm in (self._n_host_cm, self._cm):
            if cm is not None:
                with contextlib.suppress(Exception):  # teardown of a discarded isolate
                    cm.__exit__(None, None, None)
        self.mr = None


def syntax_error(exc: Exception) -> dict:
    text = str(exc)
    first = text.split("\n", 1)[0]
    m = re.match(r"^[^\n]*?:(\d+): (\w*Error): (.*)$", first)
    line = column = None
    name, message = "SyntaxError", first
    if m:
        line = max(1, int(m.group(1)) - 1)
        name, message = m.group(2), m.group(3)
        parts = text.split("\n")
        if len(parts) > 2 and "^" in parts[2]:
            column = parts[2].index("^") + 1
    where = (
        f" (line {line}, column {column})"
        if line and column
        else (f" (line {line})" if line else "")
    )
    return {
        "name": name,
        "message": f"{message}{where}",
        "stack": f"{name}: {message}\n    at handler.js:{line}:{column or 1}" if line else "",
        "line": line,
        "column": column,
    }


class Executor:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.contexts: collections.OrderedDict[str, Context] = collections.OrderedDict()
        self.clients: dict[tuple, object] = {}
        self.host_fetch_waiters: dict[tuple[int, int], asyncio.Future] = {}
        self.executions = 0
        self._limit_mb = 0

    def client(self, allowed: tuple):
        c = self.clients.get(allowed)
        if c is None:
            c = self.clients[allowed] = http.OutboundClient(allowed)
        return c

    def _data_limit(self, memory_mb: int, booting: bool) -> None:
        # Reading /proc costs more than the rest of a warm execution's bookkeeping: refresh the
        # cap when a context is created (the process grows) and every 100 executions.
        if booting or memory_mb != self._limit_mb or self.executions % 100 == 0:
            set_data_limit(memory_mb * 3 * 1024 * 1024 + 256 * 1024 * 1024)
            self._limit_mb = memory_mb

    def drop_context(self, key: str) -> None:
        ctx = self.contexts.pop(key, None)
        if ctx is not None:
            ctx.close()

    async def run(self, req: dict) -> dict:
        started = time.monotonic()
        limits = req["limits"]
        deadline = started + float(limits["timeout_s"])
        key = req["key"]
        source_hash = hashlib.sha256(req["source"].encode()).hexdigest()
        ctx = self.contexts.get(key)
        if ctx is not None and ctx.source_hash != source_hash:
            self.drop_context(key)
            ctx = None
        warm = ctx is not None
        boot_ms = 0.0
        exec_ms = 0.0
        state = {"fetches": [], "fetch_ms": 0.0, "count": 0, "limit": None, "tasks": {}}
        res: dict = {
            "op": "result",
            "id": req["id"],
            "stats": {},
            "_max_fetches": limits["max_fetches"],
            "_memory_mb": limits["memory_mb"],
        }
        try:
            self._data_limit(int(limits["memory_mb"]), ctx is None)
            WATCH.arm((int(limits["memory_mb"]) + 64) * 1024 * 1024)
            if ctx is None:
                t = time.perf_counter()
                ctx = Context(key, source_hash)
                try:
                    async with asyncio.timeout_at(deadline):
                        await ctx.boot(self.loop, req["source"])
                except JSParseException as exc:
                    ctx.close()
                    err = syntax_error(exc)
                    res.update(
                        status="error",
                        error_kind="syntax",
                        reason=err["message"],
                        error={k: err[k] for k in ("name", "message", "stack")},
                    )
                    return res
                except TimeoutError:
                    raise Stuck() from None
                boot_ms = (time.perf_counter() - t) * 1000
                self.contexts[key] = ctx
                while len(self.contexts) > MAX_CONTEXTS:
                    _, old = self.contexts.popitem(last=False)
                    old.close()  # mini-racer terminates a busy isolate on close
            else:
                self.contexts.move_to_end(key)
            ctx.mr.set_hard_memory_limit(int(limits["memory_mb"]) * 1024 * 1024)
            t_exec = time.perf_counter()
            result = await self._execute(ctx, req, deadline, state)
            load_ms = float(result.get("loadMs") or 0)
            exec_ms = (time.perf_counter() - t_exec) * 1000 - load_ms
            boot_ms += load_ms
            ctx.executions += 1
            self._fill(res, result, state)
            if res["status"] == "error":
                self.drop_context(key)
        except Stuck:
            res.update(
                status="error",
                error_kind="timeout",
                reason=f"The handler did not finish within {limits['timeout_s']:g} s "
                "and was stopped.",
                recycle=True,
            )
            exec_ms = (time.monotonic() - started) * 1000
            await self._salvage(ctx, res)
        except (JSOOMException, MemoryError):
            res.update(
                status="error", error_kind="memory", reason=memory_message(limits), recycle=True
            )
            exec_ms = (time.monotonic() - started) * 1000
        except (JSTerminatedException, JSEvalException) as exc:
            if ctx is not None and ctx.mr is not None and ctx.mr.was_hard_memory_limit_reached():
                res.update(
                    status="error", error_kind="memory", reason=memory_message(limits), recycle=True
                )
            else:
                res.update(
                    status="error",
                    error_kind="crashed",
                    recycle=True,
                    reason=f"The sandbox stopped the handler: {str(exc).splitlines()[0][:300]}",
                )
            exec_ms = (time.monotonic() - started) * 1000
        finally:
            WATCH.disarm()
            for task in list(state["tasks"].values()):
                task.cancel()
        if res.get("recycle"):
            self.drop_context(key)
            if res.get("error") is None:
                res["error"] = {"name": "Error", "message": res["reason"], "stack": ""}
        if res["status"] == "error" and res.get("error_kind") == "memory":
            res["error"] = {"name": "RangeError", "message": res["reason"], "stack": ""}
        res.setdefault("fetches", state["fetches"])
        res["stats"] = {
            "boot_ms": round(boot_ms, 3),
            "execution_ms": round(max(0.0, exec_ms), 3),
            "fetch_ms": round(state["fetch_ms"], 3),
            "warm": warm,
        }
        self.executions += 1
        if self.executions >= MAX_EXECUTIONS:
            res["recycle"] = True
        return res

    async def _salvage(self, ctx: Context | None, res: dict) -> None:
        """Keep the console output of a timed-out execution when the isolate still answers
        (a never-settling promise); a busy one (a loop) gives nothing back, which is fine."""
        if ctx is None or ctx.mr is None:
            return
        try:
            async with asyncio.timeout(0.3):
                snap = json.loads(await ctx.mr.eval_cancelable(f"{ctx.host}.snapshot()"))
        except Exception:
            return
        if snap:
            res["logs"] = snap.get("logs") or []
            res["logs_truncated"] = bool(snap.get("logsTruncated"))
            res["cache_changes"] = snap.get("cacheChanges") or {}

    def _fill(self, res: dict, result: dict, state: dict) -> None:
        error = result.get("error")
        outcome = result.get("outcome") or {"status": "delivered", "reason": ""}
        limit = state["limit"] or result.get("limitHit")
        res["logs"] = result.get("logs") or []
        res["logs_truncated"] = bool(result.get("logsTruncated"))
        res["cache_changes"] = result.get("cacheChanges") or {}
        res["fetches"] = state["fetches"]
        if limit == "fetch_limit":
            res.update(
                status="error",
                error_kind="fetch_limit",
                reason=f"The handler made more than {res['_max_fetches']} fetch requests; "
                f"an execution may make at most {res['_max_fetches']}.",
            )
            res["error"] = {"name": "Error", "message": res["reason"], "stack": ""}
            return
        if error:
            kind = {"missing": "load", "not_async": "load", "throw": "load"}.get(
                result.get("loadError"), "runtime"
            )
            if error.get("name") == "RangeError" and "allocation failed" in error.get(
                "message", ""
            ):
                kind = "memory"
                error = dict(
                    error,
                    message=f"{memory_message({'memory_mb': res['_memory_mb']})} "
                    f"({error['message']})",
                )
                res.update(status="error", error_kind=kind, error=error, reason=error["message"])
                return
            elif error.get("nonError"):
                kind = "runtime"
            error.pop("nonError", None)
            res.update(
                status="error",
                error_kind=kind,
                error=error,
                reason=f"{error['name']}: {error['message']}"
                if kind != "load"
                else error["message"],
            )
            return
        res.update(status=outcome.get("status", "delivered"), reason=outcome.get("reason", ""))

    async def _execute(self, ctx: Context, req: dict, deadline: float, state: dict) -> dict:
        limits = req["limits"]
        payload = {
            "id": req["id"],
            "trigger": req["trigger"],
            "event": req["event"],
            "cache": req.get("cache") or {},
            "seed": os.urandom(32).hex(),
            "limits": {
                "max_fetches": int(limits["max_fetches"]),
                "max_log_bytes": int(limits["max_log_bytes"]),
            },
        }
        ctx.notified.clear()
        ctx.hdr[0] = 0
        ctx.hdr[1] = 0
        await self._start(ctx, payload, deadline)
        while True:
            out = ctx.take_outbox()
            if out is None and ctx.hdr[1]:
                ctx.hdr[1] = 0
                out = json.loads(await ctx.eval(f"{ctx.host}.poll()", deadline))
            if out is None:
                try:
                    async with asyncio.timeout_at(deadline):
                        await ctx.notified.wait()
                except TimeoutError:
                    raise Stuck() from None
                ctx.notified.clear()
                continue
            for item in out["q"]:
                if "cancel" in item:
                    task = state["tasks"].pop(item["cancel"], None)
                    if task:
                        task.cancel()
                    continue
                task = self.loop.create_task(self._fetch(ctx, req, item, deadline, state))
                state["tasks"][item["id"]] = task
            if out.get("done"):
                return out["result"] or {}

    async def _start(self, ctx: Context, payload: dict, deadline: float) -> None:
        """Call ``run()``, noticing an isolate that is still busy with an earlier execution.

        A handler can resolve and leave a loop running (an un-awaited async loop, a microtask
        chain). Its result went out already; the isolate then never gets to this ``run()``.
        ``run()`` first copies a token into the channel header, so a call that has not started
        after ``IDLE_CHECK_S`` means the isolate is stuck: this process exits before running
        anything of this request, and the parent replays it on a fresh sandbox.
        """
        token = int.from_bytes(os.urandom(3), "little") + 1
        ctx.hdr[3] = 0
        ctx.hdr[4] = token

        def check_started() -> None:
            if ctx.hdr is not None and ctx.hdr[3] != token:
                os._exit(EXIT_STUCK)

        timer = self.loop.call_later(IDLE_CHECK_S, check_started)
        try:
            await ctx.call("run", payload, deadline)
        finally:
            timer.cancel()

    async def _fetch(
        self, ctx: Context, req: dict, item: dict, deadline: float, state: dict
    ) -> None:
        limits = req["limits"]
        policy_cfg = req.get("policy") or {}
        state["count"] += 1
        started = time.perf_counter()
        record = {
            "method": item["method"],
            "url": item["url"],
            "status": None,
            "duration_ms": 0.0,
            "error": None,
        }
        body = item.get("body")
        content = (
            body.encode()
            if body is not None
            else (base64.b64decode(item["body_b64"]) if "body_b64" in item else None)
        )
        if req.get("dry_run"):
            record["headers"] = item["headers"]
            record["body"] = (
                body if body is not None else (item.get("body_b64") and f"<{len(content)} bytes>")
            )
        state["fetches"].append(record)
        resp_msg: dict
        if state["count"] > int(limits["max_fetches"]):
            state["limit"] = "fetch_limit"
            record["error"] = "fetch limit reached"
            resp_msg = {
                "error": f"fetch limit reached: at most {limits['max_fetches']} requests",
                "limit": "fetch_limit",
            }
        elif req.get("dry_run"):
            record["status"] = 200
            resp_msg = {
                "status": 200,
                "status_text": "OK",
                "headers": [["content-type", "application/json"]],
                "url": item["url"],
                "body": "{}",
            }
        else:
            timeout = min(
                float(limits["fetch_timeout_s"]),
                float(policy_cfg.get("timeout_s", 1e9)),
                max(0.001, deadline - time.monotonic()),
            )
            max_bytes = min(
                int(limits["max_response_bytes"]),
                int(policy_cfg.get("max_response_bytes", 1 << 62)),
            )
            try:
                if req.get("host_fetch"):
                    resp = await self._host_fetch(req["id"], item, timeout)
                    if "error" in resp:
                        raise http.OutboundError(resp["error"])
                    raw = base64.b64decode(resp.get("body_b64", ""))
                    if len(raw) > max_bytes:
                        raise http.ResponseTooLargeError(
                            f"The response is larger than {max_bytes} bytes"
                        )
                    status, status_text, headers = (
                        resp["status"],
                        resp.get("status_text", ""),
                        resp.get("headers", []),
                    )
                    url, redirected = resp.get("url") or item["url"], bool(resp.get("redirected"))
                else:
                    policy = http.HttpPolicy(
                        allowed_networks=tuple(policy_cfg.get("allowed_networks", ())),
                        connect_timeout_s=min(
                            float(policy_cfg.get("connect_timeout_s", 5.0)), timeout
                        ),
                        timeout_s=timeout,
                        max_response_bytes=max_bytes,
                        max_redirects=int(policy_cfg.get("max_redirects", 5)),
                    )
                    client = self.client(policy.allowed_networks)
                    r = await client.request(
                        item["method"],
                        item["url"],
                        headers=item["headers"],
                        content=content,
                        policy=policy,
                        redirect=item.get("redirect", "follow"),
                    )
                    raw, status, status_text = r.content, r.status_code, r.reason
                    headers, url, redirected = r.headers, r.url, r.redirected
                record["status"] = status
                resp_msg = {
                    "status": status,
                    "status_text": status_text,
                    "headers": headers,
                    "url": url,
                    "redirected": redirected,
                }
                try:
                    resp_msg["body"] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    resp_msg["body_b64"] = base64.b64encode(raw).decode()
            except http.OutboundError as exc:
                record["error"] = exc.message
                # "timeout" / "connect" (refused, reset, DNS): the host retries the message
                # when such a rejection escapes the handler (providers/custom.py).
                record["error_kind"] = exc.kind
                resp_msg = {"error": exc.message}
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
                resp_msg = {"error": record["error"]}
        elapsed = (time.perf_counter() - started) * 1000
        record["duration_ms"] = round(elapsed, 3)
        state["fetch_ms"] += elapsed
        state["tasks"].pop(item["id"], None)
        try:
            await ctx.call(
                "deliver", {"ex": req["id"], "id": item["id"], "resp": resp_msg}, deadline
            )
            ctx.notified.set()  # deliver() may have posted without notifying
        except Stuck:
            # The main loop notices the same deadline.
            pass
        except JSEvalException:
            pass

    async def _host_fetch(self, exec_id: int, item: dict, timeout: float) -> dict:
        fut = self.loop.create_future()
        self.host_fetch_waiters[(exec_id, item["id"])] = fut
        msg = {
            "op": "fetch",
            "id": exec_id,
            "fid": item["id"],
            "timeout_s": timeout,
            "req": {k: item[k] for k in ("method", "url", "headers", "redirect") if k in item},
        }
        if "body" in item:
            msg["req"]["body_b64"] = base64.b64encode(item["body"].encode()).decode()
        elif "body_b64" in item:
            msg["req"]["body_b64"] = item["body_b64"]
        send(msg)
        try:
            return await asyncio.wait_for(fut, timeout + 1)
        except TimeoutError:
            return {"error": f"The request did not complete within {timeout:g} s"}
        finally:
            self.host_fetch_waiters.pop((exec_id, item["id"]), None)


def memory_message(limits: dict) -> str:
    return f"The handler used more memory than allowed ({limits['memory_mb']} MB) and was stopped."


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=256 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    executor = Executor(loop)
    # Warm the engine (and pay V8's one-time start-up) before saying ready.
    warm = Context("__warmup__", "")
    await warm.boot(loop, "exports.onExecuteCustomPhoneProvider = async () => {};")
    warm.close()
    parent = os.getppid()

    def watch_parent() -> None:
        # Exit with the parent, even while an isolate is busy (stdin EOF is not enough then).
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    WATCH.start()
    send({"op": "ready", "pid": os.getpid()})
    tasks: set[asyncio.Task] = set()

    async def run_one(req: dict) -> None:
        req["limits"].setdefault("fetch_timeout_s", 10.0)
        try:
            res = await executor.run(req)
        except Exception as exc:
            res = {
                "op": "result",
                "id": req["id"],
                "status": "error",
                "error_kind": "crashed",
                "reason": f"The sandbox failed: {type(exc).__name__}: {exc}",
                "recycle": True,
                "stats": {},
            }
        res.pop("_max_fetches", None)
        res.pop("_memory_mb", None)
        send(res)
        if res.get("recycle"):
            os._exit(0)

    while True:
        line = await reader.readline()
        if not line:
            os._exit(0)
        if not line.strip():
            continue
        msg = json.loads(line)
        op = msg.get("op")
        if op == "exec":
            task = loop.create_task(run_one(msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif op == "fetch_result":
            fut = executor.host_fetch_waiters.get((msg["id"], msg["fid"]))
            if fut is not None and not fut.done():
                fut.set_result(msg["resp"])
        elif op == "exit":
            os._exit(0)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        # Never run interpreter teardown with isolates alive (it can deadlock); just go.
        os._exit(1)
