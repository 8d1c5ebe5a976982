"""Validate handler code without running it (safe in the web process).

Deno parses the code (``deno lint`` on it as a CommonJS script) and the plugin
``deno/check.js`` checks its syntax tree for the export the trigger needs. Nothing in the code is
ever evaluated: it is only read. A syntax error comes back with Deno's message and its line and
column (``_parse.py``).
"""

from __future__ import annotations

import json
import re

from phoneprovider.runtime._parse import first_syntax_error, lint
from phoneprovider.runtime._types import CodeValidationError

MAX_SOURCE_BYTES = 100 * 1024
EXPORTS = {
    "custom-phone-provider": ("onExecuteCustomPhoneProvider", "onExecuteSendPhoneMessage"),
    "send-phone-message": ("onExecuteSendPhoneMessage", "onExecuteCustomPhoneProvider"),
}
_MODULE_SYNTAX = "cannot be used outside of module code"


def validate_source(source: str, trigger: str = "custom-phone-provider") -> None:
    """Raise ``CodeValidationError`` unless ``source`` parses and exports the trigger's handler.

    Where the export cannot be judged statically (built by a helper, ``Object.assign``...), the
    code is accepted; the worker checks again when it loads the module.
    """
    if trigger not in EXPORTS:
        raise CodeValidationError(f"Unknown trigger {trigger!r}")
    export_name, other = EXPORTS[trigger]
    signature = f"exports.{export_name} = async (event, api) => {{ ... }}"
    if not isinstance(source, str) or not source.strip():
        raise CodeValidationError(f"The code is empty. It must export {export_name}: {signature}")
    size = len(source.encode("utf-8"))
    if size > MAX_SOURCE_BYTES:
        raise CodeValidationError(
            f"The code is {size / 1024:.1f} kB; handlers may be at most 100 kB."
        )
    report = lint(source)
    syntax = first_syntax_error(report)
    if syntax is not None:
        message, line, column = syntax
        if _MODULE_SYNTAX in message:
            message = (
                "import/export statements are not supported: handlers are CommonJS modules "
                f"(use require() and {signature})"
            )
        raise CodeValidationError(message, line, column)
    facts = next(
        json.loads(d["message"])
        for d in report.get("diagnostics") or []
        if d.get("code") == "phoneprovider/exports"
    )
    result = facts["results"][export_name]
    if result["ok"] is False:
        raise CodeValidationError(result["message"], result.get("line"), result.get("column"))
    if result["ok"] is None and not facts["unjudgeable"]:
        message = f"The code must export {export_name}: {signature}"
        if facts["results"][other]["ok"] is not None:
            message = f"The code exports {other}, but this trigger runs {export_name}: {signature}"
        raise CodeValidationError(message)


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
    from phoneprovider.runtime._execute import execute
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
