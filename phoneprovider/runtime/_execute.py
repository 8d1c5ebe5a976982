"""``execute``: one handler execution, from the caller's arguments to its ``Outcome``.

The execution is sent to a sandbox process from this process's pool (``_sandbox.py``); what
comes back is checked, capped and redacted here (``_redact.py``) before it leaves the runtime.
"""

from __future__ import annotations

import subprocess
import time

from phoneprovider.runtime import _npm
from phoneprovider.runtime._parse import syntax_error
from phoneprovider.runtime._redact import (
    Redactor,
    cap_logs,
    checked_cache_changes,
    mask_header,
    redactor_for,
)
from phoneprovider.runtime._sandbox import GRACE_S, SandboxDied, get_pool, spec_for
from phoneprovider.runtime._types import FetchFn, Limits, Outcome
from phoneprovider.runtime.cache import CacheStore

TRIGGERS = ("custom-phone-provider", "send-phone-message")


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
    redactor = redactor_for(secrets)
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
        if packages:
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
        spec = spec_for(
            http_policy.allowed_networks if http_policy is not None else (), int(limits.memory_mb)
        )
        spawned_ms = 0.0
        res: dict = {}
        for attempt in range(2):
            sandbox = pool.checkout(key, int(limits.memory_mb), spec)
            spawned_ms += sandbox.spawn_ms
            sandbox.spawn_ms = 0.0
            res = {}
            try:
                res = sandbox.run(
                    req,
                    fetch,
                    time.monotonic() + float(limits.timeout_s) + GRACE_S,
                    int(limits.memory_mb) + 32,
                )
                break
            except SandboxDied:
                # It died before the execution reached it: nothing ran yet, use a fresh one.
                sandbox.kill()
                if attempt:
                    raise
            finally:
                ok = res.get("status") in ("delivered", "drop", "retry")
                pool.checkin(sandbox, key, ok)
                if not ok:
                    pool.retire(context_key)
        if res.get("error_kind") == "syntax":
            _locate_syntax_error(res, source)
        outcome = _outcome_from(res, limits, redactor)
        stats.update({k: v for k, v in (res.get("stats") or {}).items() if k in stats})
        if spawned_ms:
            stats["spawn_ms"] = round(spawned_ms, 3)
        if cache is not None and res.get("cache_changes"):
            changes = checked_cache_changes(res["cache_changes"])
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


def _locate_syntax_error(res: dict, source: str) -> None:
    """Add where the code stops parsing (V8 does not say; Deno's parser does)."""
    try:
        _, line, column = syntax_error(source)
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return
    if line is None:
        return
    message = str((res.get("error") or {}).get("message") or "SyntaxError")
    where = f"line {line}" + (f", column {column}" if column else "")
    res["reason"] = f"{message} ({where})"
    res["error"] = {
        "name": "SyntaxError",
        "message": res["reason"],
        "stack": f"SyntaxError: {message}\n    at handler.js:{line}:{column or 1}",
    }


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
    logs, cut = cap_logs(res.get("logs"), limits.max_log_bytes)
    fetches = []
    for f in res.get("fetches") or []:
        keys = ("method", "url", "status", "duration_ms", "error", "error_kind")
        rec = {k: f.get(k) for k in keys}
        rec["url"] = redactor.url(rec["url"])
        if "headers" in f:
            rec["headers"] = [[k, mask_header(k, v)] for k, v in f["headers"]]
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
