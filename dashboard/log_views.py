"""Live logs: handler executions as they happen (htmx polling), search, download, clear.

Clear hides what is on screen for this browser session (a cursor kept in the session); nothing
is deleted, so the audit trail of deliveries and tests stays whole.
"""

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.views import staff_required
from phoneprovider import selectors
from phoneprovider.errors import NotFound

CLEARED_KEY = "dashboard.logs.cleared_after"
PAGE_SIZE = 50
DOWNLOAD_MAX = 1000


def _cleared_after(request: HttpRequest) -> int:
    return int(request.session.get(CLEARED_KEY, 0))


def _search(request: HttpRequest) -> str:
    return (request.GET.get("q") or "").strip()


@require_GET
@staff_required
def logs_page(request: HttpRequest) -> HttpResponse:
    cleared = _cleared_after(request)
    search = _search(request)
    rows = selectors.execution_page(after_pk=cleared, search=search, limit=PAGE_SIZE)
    return render(
        request,
        "dashboard/logs.html",
        {
            "rows": rows,
            "search": search,
            "cleared": cleared > 0,
            "last_pk": max(
                [r.pk for r in rows], default=max(cleared, selectors.execution_last_pk())
            ),
            "nav": "logs",
        },
    )


@require_GET
@staff_required
def logs_rows(request: HttpRequest) -> HttpResponse:
    """Rows newer than ``after`` (the newest the page has), for the page's poll."""
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    after = max(after, _cleared_after(request))
    search = _search(request)
    rows = selectors.execution_page(after_pk=after, search=search, limit=PAGE_SIZE)
    return render(
        request,
        "dashboard/partials/log_rows.html",
        {"rows": rows, "search": search, "last_pk": max([r.pk for r in rows], default=after)},
    )


@require_GET
@staff_required
def logs_row(request: HttpRequest, public_id: str) -> HttpResponse:
    """One row again (a pending test run polls this until it has finished)."""
    try:
        execution = selectors.execution_get(public_id)
    except NotFound:
        raise Http404("No such execution.") from None
    return render(request, "dashboard/partials/log_row.html", {"e": execution, "initial": True})


def _execution_json(execution) -> dict:
    attempt = getattr(execution, "attempt", None)
    return {
        "id": execution.public_id,
        "kind": execution.kind,
        "dry_run": execution.dry_run,
        "status": execution.status,
        "reason": execution.reason,
        "error": execution.error,
        "logs": execution.logs,
        "fetches": execution.fetches,
        "stats": execution.stats,
        "message_id": attempt.message.public_id if attempt else None,
        "attempt": attempt.number if attempt else None,
        "created_at": execution.created_at.isoformat(),
        "finished_at": execution.finished_at.isoformat() if execution.finished_at else None,
    }


@require_GET
@staff_required
def logs_download(request: HttpRequest) -> HttpResponse:
    """What the view shows (search and clear applied), newest first, as a JSON file."""
    rows = selectors.execution_page(
        after_pk=_cleared_after(request), search=_search(request), limit=DOWNLOAD_MAX
    )
    body = json.dumps({"executions": [_execution_json(r) for r in rows]}, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="phoneprovider-logs.json"'
    return response


@require_POST
@staff_required
def logs_clear(request: HttpRequest) -> HttpResponse:
    """Hide everything up to now in this session's view; ``show_all`` brings it back."""
    if request.POST.get("show_all"):
        request.session.pop(CLEARED_KEY, None)
    else:
        request.session[CLEARED_KEY] = selectors.execution_last_pk()
    return redirect("dashboard:logs")
