"""Hand work to the Celery workers by task name.

Services enqueue through here rather than importing ``tasks.py``, which sits a floor above them
and imports the services (``../shared/ARCHITECTURE.md``: no arrow back up, not even lazily).
"""

import logging

from celery import current_app

logger = logging.getLogger(__name__)

DELIVER_MESSAGE = "phoneprovider.deliver_message"
SWEEP_MESSAGES = "phoneprovider.sweep_messages"
RUN_EXECUTION = "phoneprovider.run_execution"
PURGE_EXPIRED = "phoneprovider.purge_expired"


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    current_app.send_task(task_name, args=args, countdown=countdown)


def message_enqueue(message_pk: int, countdown: float | None = None) -> None:
    """Hand a committed outbox row to a worker; a broker failure is logged, never raised."""
    # The row is already committed; if the broker is down the sweeper enqueues it later.
    try:
        enqueue(DELIVER_MESSAGE, message_pk, countdown=countdown)
    except Exception:  # the broker can fail in many ways; the outbox row is what matters
        logger.warning(
            "Could not enqueue message %s; the sweeper will retry.", message_pk, exc_info=True
        )
