"""The Celery app. ``celery -A phoneprovider worker`` serves every queue the product uses."""

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneprovider.settings")

logger = logging.getLogger(__name__)

app = Celery("phoneprovider")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["phoneprovider"])


@worker_process_init.connect
def start_a_sandbox(**_) -> None:
    """Start this pool child's first sandbox now, so the first message does not wait for V8.

    In a thread: Celery gives a child a few seconds to report ready, and a busy machine can take
    longer than that to start a sandbox process.
    """
    from django.conf import settings

    from phoneprovider import runtime

    def warm_up() -> None:
        try:
            runtime.warm_up(
                1, settings.ACTIONS_MEMORY_LIMIT_MB, list(settings.OUTBOUND_ALLOWED_NETWORKS)
            )
        except Exception:  # the first execution will start one (and report what goes wrong)
            logger.warning("Could not start a sandbox ahead of time.", exc_info=True)

    threading.Thread(target=warm_up, name="sandbox-warm-up", daemon=True).start()
