"""Value types of the runtime's public interface (no Django, no engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


class CodeValidationError(Exception):
    """Handler code cannot be deployed. ``message`` is fit to show under the code editor;
    ``line`` and ``column`` (1-based) point at the problem when there is one place to point at."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is not None:
            where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
            return f"{self.message} ({where})"
        return self.message


@dataclass(frozen=True)
class Limits:
    """Per-execution limits. Defaults follow Auth0 where Auth0 has a number."""

    timeout_s: float = 20.0
    memory_mb: int = 128
    max_fetches: int = 50
    max_response_bytes: int = 1024 * 1024
    max_log_bytes: int = 64 * 1024
    fetch_timeout_s: float = 10.0


@dataclass(frozen=True)
class FetchRequest:
    """What handler code asked ``fetch`` to send (handed to a host ``FetchFn``)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    redirect: str = "follow"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class FetchResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    status_text: str = ""
    url: str = ""
    redirected: bool = False


FetchFn = Callable[[FetchRequest], FetchResponse]
"""A host ``fetch`` capability. Raise an exception to make the handler's ``fetch`` reject with
its message."""


@dataclass
class Outcome:
    """The result of one execution. ``execute`` always returns one; it never raises for anything
    the handler does."""

    status: str  # "delivered" | "drop" | "retry" | "error"
    reason: str = ""
    error: dict | None = None
    error_kind: str | None = None
    logs: list[dict] = field(default_factory=list)
    logs_truncated: bool = False
    fetches: list[dict] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "delivered"

    def to_dict(self) -> dict:
        return asdict(self)
