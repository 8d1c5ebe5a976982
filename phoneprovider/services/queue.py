"""Hand work to the Celery workers by task name.

Services enqueue through here rather than importing ``tasks.py``, which sits a floor above them
and imports the services (``../shared/ARCHITECTURE.md``: no arrow back up, not even lazily).
"""

from celery import current_app

DELIVER_MESSAGE = "phoneprovider.deliver_message"
SWEEP_MESSAGES = "phoneprovider.sweep_messages"
RUN_EXECUTION = "phoneprovider.run_execution"
PURGE_EXPIRED = "phoneprovider.purge_expired"


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    current_app.send_task(task_name, args=args, countdown=countdown)
