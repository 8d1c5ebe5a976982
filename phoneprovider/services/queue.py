"""Hand work to the Celery workers by task name.

Services enqueue through here rather than importing ``tasks.py``, which sits a floor above them
and imports the services (``../shared/ARCHITECTURE.md``: no arrow back up, not even lazily).
"""

import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DELIVER_DUE = "phoneprovider.deliver_due"
SWEEP_MESSAGES = "phoneprovider.sweep_messages"
RUN_EXECUTION = "phoneprovider.run_execution"
PURGE_EXPIRED = "phoneprovider.purge_expired"


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    current_app.send_task(task_name, args=args, countdown=countdown)


def message_enqueue(message_pk: int, countdown: float | None = None) -> None:
    """Tell the workers a committed outbox row is due, now or after ``countdown`` seconds.

    A worker's delivery task claims every due message in batches, so wake-ups are coalesced:
    with Redis, one flag (``SET NX``) stands for "a delivery task is on its way"; the task clears
    it before it claims, so a message committed after the claim raises the flag and sends a new
    task, and one committed before is in the claim (no lost wake-up). Without Redis every call
    sends a task. A broker failure is logged, never raised: the row is committed and the
    sweeper enqueues it later.
    """
    try:
        if countdown is None and not _wake_flag_raised():
            return  # a delivery task is already on its way and will claim this row
        enqueue(DELIVER_DUE, countdown=countdown)
    except Exception:  # the broker can fail in many ways; the outbox row is what matters
        _wake_flag_clear()
        logger.warning(
            "Could not enqueue message %s; the sweeper will retry.", message_pk, exc_info=True
        )


def deliveries_wake() -> None:
    """Wake a worker now, whatever the flag says: a full batch was claimed (more may be due) or
    the sweeper found lost work (whose flag may be stale: its task was purged or lost)."""
    try:
        enqueue(DELIVER_DUE)
    except Exception:
        logger.warning("Could not wake another delivery worker.", exc_info=True)


def deliveries_awake() -> None:
    """Called by the delivery task before it claims: later arrivals must send a new task."""
    _wake_flag_clear()


# Expires in case a raised flag's task is lost, so wake-ups resume without waiting for a change.
_WAKE_FLAG = "phoneprovider:deliveries-wake"
_WAKE_FLAG_SECONDS = 30


def _wake_flag_raised() -> bool:
    """True when this call raised the flag (so it must send the task)."""
    if not settings.REDIS_URL:
        return True  # the file cache can't do an atomic SET NX: every message sends a task
    return cache.add(_WAKE_FLAG, 1, _WAKE_FLAG_SECONDS)


def _wake_flag_clear() -> None:
    if settings.REDIS_URL:
        try:
            cache.delete(_WAKE_FLAG)
        except Exception:
            logger.warning("Could not clear the delivery wake flag.", exc_info=True)
