"""Progress pushed to the page by a long poll: the page asks for "the next change after the state
I show"; the server looks at the row every CHECK_SECONDS and answers as soon as it changed, or
after WAIT_SECONDS with what it has (and the page asks again).

Portable on purpose: it needs no extra server or channel layer, and runs the same under `make
run` (runserver, SQLite) and `make serve` (gunicorn with WEB_THREADS threads per process: an
open dialog holds one thread, not a process; the wait stays well under gunicorn's 30 s timeout).
"""

import time
from collections.abc import Callable
from typing import TypeVar

WAIT_SECONDS = 10.0
CHECK_SECONDS = 0.1

Row = TypeVar("Row")


def next_change(
    row: Row,
    seen: str,
    *,
    state: Callable[[Row], str],
    reload: Callable[[Row], Row],
    final: Callable[[Row], bool],
) -> Row:
    """``row`` once its ``state`` differs from ``seen`` (or it is final, or the wait is over)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while state(row) == seen and not final(row) and time.monotonic() < deadline:
        time.sleep(CHECK_SECONDS)
        row = reload(row)
    return row
