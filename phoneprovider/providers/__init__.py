"""Delivery: hand one rendered message to the configured provider and classify the result.

Failures are classified once, here, where they happen: ``retry`` for transient ones (timeouts,
429, 5xx, ``api.notification.retry``), ``failed`` or ``dropped`` for permanent ones.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["sent", "delivered", "retry", "failed", "dropped"]


@dataclass
class SendResult:
    outcome: Outcome
    reason: str = ""
    provider_message_id: str = ""
    # For custom handlers: the runtime's outcome as a dict (logs, fetches, stats, error), and
    # the ActionVersion that ran.
    execution: dict | None = field(default=None)
    version: Any = None
