"""Deno's parser, for the checks on handler code: ``deno lint`` reads the code as a CommonJS
script (``handler.cjs``) with the plugin ``deno/check.js``, which reports what the code exports.
Nothing in the code is evaluated: it is only read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile

from phoneprovider.runtime import _deno

CHECK_CONFIG = _deno.HERE / "check.json"
CHECK_TIMEOUT_S = 30.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_AT = re.compile(r"at file://\S+?:(\d+):(\d+)\s*$", re.M)


def lint(source: str) -> dict:
    """``deno lint``'s JSON report for ``source`` (written to a private temporary file)."""
    with tempfile.TemporaryDirectory(prefix="pp-check-") as tmp:
        path = os.path.join(tmp, "handler.cjs")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        done = subprocess.run(
            [_deno.deno_bin(), "lint", f"--config={CHECK_CONFIG}", "--json", path],
            env=_deno.environment(),
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    stderr = _ANSI.sub("", done.stderr or "")
    try:
        report = json.loads(done.stdout)
    except ValueError:
        detail = stderr.strip().splitlines()[:1]
        raise RuntimeError(f"deno lint gave no report: {' '.join(detail)}") from None
    # Errors the parser recovers from (an unclosed brace at the end) still yield a syntax tree
    # and come out as warnings; they are syntax errors all the same (V8 refuses the code).
    warned = [w for w in _WARNING.split(stderr)[1:] if w.startswith("SyntaxError")]
    report["syntax_errors"] = [str(e.get("message") or "") for e in report.get("errors") or []]
    report["syntax_errors"] += warned
    return report


_WARNING = re.compile(r"^(?:warn|error): ", re.M)


def first_syntax_error(report: dict) -> tuple[str, int | None, int | None] | None:
    """The first parse error of a report: (message, line, column)."""
    for text in report["syntax_errors"]:
        text = _ANSI.sub("", text).strip()
        first = text.splitlines()[0] if text else "SyntaxError"
        at = _AT.search(text)
        return first, (int(at.group(1)) if at else None), (int(at.group(2)) if at else None)
    return None


def syntax_error(source: str) -> tuple[str, int | None, int | None]:
    """Where ``source`` stops parsing, as Deno says it: (message, line, column)."""
    found = first_syntax_error(lint(source))
    return found or ("SyntaxError", None, None)
