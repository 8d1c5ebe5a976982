"""``/healthz``: for load balancers and compose healthchecks. JSON; 200 when everything needed to
deliver is alive, 503 otherwise.

- database: a ``SELECT 1``;
- broker: a connection to Celery's broker;
- worker: Celery workers answering a ping (``unknown`` on brokers without broadcast);
- sweeper: the last sweep (beat schedules it, a worker runs it) is at most three intervals old,
  so a dead beat, or no worker, turns this red;
- retention: the last purge run, reported (not judged: it runs daily).
"""

import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

LAST_SWEEP_KEY = "phoneprovider:last-sweep"
STALE_AFTER_INTERVALS = 3


def sweep_recorded() -> None:
    """Called at the end of every sweep."""
    try:
        cache.set(LAST_SWEEP_KEY, time.time(), timeout=None)
    except Exception:  # the cache being down must not fail the sweep
        logger.warning("Could not record the sweep in the cache", exc_info=True)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _broker() -> dict:
    from phoneprovider.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _worker() -> dict:
    from phoneprovider.celery import app

    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as exc:
        return {"ok": None, "workers": None, "note": f"not checked: {type(exc).__name__}"}
    return {"ok": bool(replies), "workers": len(replies)}


def _sweeper() -> dict:
    interval = float(settings.MESSAGE_SWEEP_INTERVAL)
    limit = STALE_AFTER_INTERVALS * interval
    try:
        last = cache.get(LAST_SWEEP_KEY)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    if last is None:
        return {
            "ok": False,
            "last_sweep": None,
            "interval_seconds": interval,
            "error": "no sweep recorded yet: is celery beat running?",
        }
    age = max(0.0, time.time() - float(last))
    report = {
        "ok": age <= limit,
        "last_sweep": datetime.fromtimestamp(float(last), tz=UTC).isoformat(),
        "age_seconds": round(age, 1),
        "interval_seconds": interval,
    }
    if not report["ok"]:
        report["error"] = (
            f"The last sweep is {age:.0f} s old (more than {STALE_AFTER_INTERVALS} intervals): "
            "is celery beat running?"
        )
    return report


def _retention() -> dict:
    from phoneprovider.models import PurgeRun

    try:
        run = PurgeRun.objects.order_by("-started_at").first()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}"}
    if run is None:
        return {"last_run": None}
    return {
        "last_run": run.started_at.isoformat(),
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "messages_removed": run.messages_removed,
    }


def healthz(request):
    checks = {
        "database": _database(),
        "broker": _broker(),
        "worker": _worker(),
        "sweeper": _sweeper(),
    }
    healthy = all(check["ok"] is not False for check in checks.values())
    body = {"status": "ok" if healthy else "unhealthy", **checks}
    if checks["database"]["ok"]:
        body["retention"] = _retention()
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
