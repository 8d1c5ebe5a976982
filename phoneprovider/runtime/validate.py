"""Validate handler code without running it (safe in the web process).

The code is handed as a string to acorn (vendored under ``js/``), running in a V8 isolate of this
process; the syntax tree is then checked for the export the trigger needs. Nothing in the code
is ever evaluated: acorn only reads it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from phoneprovider.runtime._types import CodeValidationError

JS = Path(__file__).resolve().parent / "js"
MAX_SOURCE_BYTES = 100 * 1024
EXPORTS = {
    "custom-phone-provider": ("onExecuteCustomPhoneProvider", "onExecuteSendPhoneMessage"),
    "send-phone-message": ("onExecuteSendPhoneMessage", "onExecuteCustomPhoneProvider"),
}

_lock = threading.Lock()
_state: dict = {"mr": None, "v8_inherited": False}
_abandoned: list = []


def _after_fork() -> None:
    # V8 is not fork-safe: a process forked after V8 started here must not use it (it aborts).
    # Such a process validates in a fresh interpreter instead.
    from py_mini_racer import _dll

    _state["v8_inherited"] = _dll._dll_handle is not None
    if _state["v8_inherited"]:
        # Never tear an inherited isolate down here: that waits forever on threads that did
        # not survive the fork (also when garbage collection or interpreter exit does it).
        # This process never runs V8 itself, so freeing becomes a no-op.
        _dll._dll_handle.mr_free_context = lambda *args: None
        _dll._dll_handle.mr_free_value = lambda *args: None
    _abandoned.append(_state["mr"])
    _state["mr"] = None


def _close_at_exit() -> None:
    # Free the isolate while the interpreter is fully alive: left to garbage collection during
    # interpreter shutdown, freeing it can deadlock (its thread calls back into Python, which
    # no longer hands out the GIL), and the process would never exit.
    mr = _state["mr"]
    _state["mr"] = None
    if mr is not None:
        mr.close()


atexit.register(_close_at_exit)


os.register_at_fork(after_in_child=_after_fork)

# Used when this process cannot run V8 itself: the same check in a fresh interpreter.
_SUBPROCESS = """
import json, os, sys
from py_mini_racer import MiniRacer
js, export_name, other = sys.argv[1], sys.argv[2], sys.argv[3]
mr = MiniRacer()
mr.eval(open(js + "/acorn-8.19.0.js").read())
mr.eval(open(js + "/validate.js").read())
source = sys.stdin.read()
sys.stdout.write(mr.call("__pp_validate", source, export_name, other, timeout_sec=10))
sys.stdout.flush()
os._exit(0)  # skip interpreter teardown: freeing an isolate there can deadlock
"""


def _parser():
    if _state["mr"] is None:
        from py_mini_racer import MiniRacer

        mr = MiniRacer()
        mr.eval((JS / "acorn-8.19.0.js").read_text())
        mr.eval((JS / "validate.js").read_text())
        _state["mr"] = mr
    return _state["mr"]


def _check(source: str, export_name: str, other: str) -> str:
    if _state["v8_inherited"]:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _SUBPROCESS, str(JS), export_name, other],
            input=source,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout
    with _lock:
        mr = _parser()
        try:
            return mr.call(
                "__pp_validate",
                source,
                export_name,
                other,
                timeout_sec=10,
                max_memory=512 * 1024 * 1024,
            )
        except Exception:
            _state["mr"] = None
            raise


def validate_source(source: str, trigger: str = "custom-phone-provider") -> None:
    """Raise ``CodeValidationError`` unless ``source`` parses and exports the trigger's handler.

    Where the export cannot be judged statically (built by a helper, ``Object.assign``...), the
    code is accepted; the worker checks again when it loads the module.
    """
    if trigger not in EXPORTS:
        raise CodeValidationError(f"Unknown trigger {trigger!r}")
    if not isinstance(source, str) or not source.strip():
        name = EXPORTS[trigger][0]
        raise CodeValidationError(
            f"The code is empty. It must export {name}: "
            f"exports.{name} = async (event, api) => {{ ... }}"
        )
    size = len(source.encode("utf-8"))
    if size > MAX_SOURCE_BYTES:
        raise CodeValidationError(
            f"The code is {size / 1024:.1f} kB; handlers may be at most 100 kB."
        )
    export_name, other = EXPORTS[trigger]
    result = json.loads(_check(source, export_name, other))
    if not result.get("ok"):
        raise CodeValidationError(result["message"], result.get("line"), result.get("column"))


# Appended to the code for the load check: once the module has loaded, the handler is replaced
# by one that does nothing, so only the module's top level runs (never the handler itself).
_LOAD_ONLY = (
    "\n;(function (m, name) {"
    " var f = m.exports && m.exports[name];"
    " if (typeof f === 'function') m.exports[name] = async function () {};"
    " })(module, {name});\n"
)
_HANDLER_FRAME = re.compile(r"handler\.js:(\d+):(\d+)")
LOAD_TIMEOUT_S = 5.0


def load_check(
    source: str, trigger: str = "custom-phone-provider", packages: list | None = None
) -> None:
    """Load ``source`` once in a sandbox process of the configured engine, as a worker would,
    without calling its handler; raise ``CodeValidationError`` (with the line, when the error's
    stack names one) if the module throws, hangs or exhausts memory while it loads.

    Run it after ``validate_source``: it is what catches code that parses but throws at its top
    level. ``fetch`` is a dry run here (answered locally); no secrets are given.
    """
    from phoneprovider.runtime._pool import execute
    from phoneprovider.runtime._types import Limits

    export_name = EXPORTS[trigger][0]
    outcome = execute(
        source + _LOAD_ONLY.replace("{name}", json.dumps(export_name)),
        {},
        trigger=trigger,
        context_key="load-check",
        secrets={},
        dry_run=True,
        limits=Limits(timeout_s=LOAD_TIMEOUT_S, max_fetches=5),
        packages=packages,
    )
    if outcome.status != "error":
        return
    error = outcome.error or {}
    message = error.get("message") or outcome.reason or "The code failed to load."
    if outcome.error_kind == "timeout":
        raise CodeValidationError(f"The code did not finish loading within {LOAD_TIMEOUT_S:g} s.")
    if message.startswith("The code must export"):
        raise CodeValidationError(message)
    if error.get("name") and error["name"] != "Error":
        message = f"{error['name']}: {message}"
    match = _HANDLER_FRAME.search(error.get("stack") or "")
    line = column = None
    if match and int(match.group(1)) <= source.count("\n") + 1:
        line, column = int(match.group(1)), int(match.group(2))
    raise CodeValidationError(f"The code throws while it loads: {message}", line, column)
