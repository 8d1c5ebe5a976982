"""The message log: charts of the last 24 hours or 7 days, every message with filters, a detail
view with its attempts, Resend, erasure of a number's data, and the last retention purge."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dashboard.views import _actor, staff_required
from phoneprovider import selectors
from phoneprovider import selectors_charts as charts
from phoneprovider.errors import ApplicationError, NotFound, ValidationError
from phoneprovider.models import DeliveryMethod, MessageType, PhoneMessage
from phoneprovider.services.erasure import number_erase
from phoneprovider.services.messages import RESENDABLE_STATUSES, message_resend

PAGE_SIZE = 50
CHART_WINDOWS = {"24h": "24 hours", "7d": "7 days"}
CHART_PARAMS = ("window", "route")


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *PhoneMessage.Status.choices], required=False
    )
    message_type = forms.ChoiceField(
        choices=[("", "Any type"), *MessageType.choices], required=False, label="Type"
    )
    delivery_method = forms.ChoiceField(
        choices=[("", "Any method"), *DeliveryMethod.choices], required=False, label="Method"
    )
    since = forms.DateField(required=False, label="From date")
    until = forms.DateField(required=False, label="To date")
    q = forms.CharField(required=False, label="Search", strip=True)
    before = forms.CharField(required=False)


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _chart_context(request: HttpRequest) -> dict:
    """The chart panel: the window and route asked for (else 24 h, all messages), the hourly
    figures as columns for the chart library, totals and the table that stands in without
    JavaScript. Two queries: the rules, the aggregate."""
    window = request.GET.get("window", "")
    window = window if window in CHART_WINDOWS else "24h"
    routes = charts.chart_routes()
    asked = request.GET.get("route", "")
    route = next((r for r in routes if r.public_id == asked), None)
    if route is None and asked not in (charts.ALL, charts.DEFAULT):
        asked = charts.ALL
    chart = charts.message_buckets(window, route or asked)
    route_label = (
        route.name if route else {charts.ALL: "All messages"}.get(asked, "Default provider")
    )
    slowest = max(
        (b for b in chart.buckets if b.p99_ms is not None), key=lambda b: b.p99_ms, default=None
    )
    return {
        "chart_window": window,
        "chart_windows": CHART_WINDOWS,
        "chart_window_label": CHART_WINDOWS[window],
        "chart_route": route.public_id if route else asked,
        "chart_route_label": route_label,
        "chart_routes": routes,
        "chart_totals": chart.totals(),
        "chart_slowest": slowest,
        "chart_rows": [b for b in reversed(chart.buckets) if b.total],
        "chart_series": {**chart.series(), "route": route_label},
        # The list's filters ride along when the chart's switches are submitted, and back.
        "chart_keep": [
            (k, v) for k, v in request.GET.items() if k not in (*CHART_PARAMS, "before")
        ],
        "list_keep": [(k, v) for k, v in request.GET.items() if k in CHART_PARAMS],
    }


@require_GET
@staff_required
def messages_page(request: HttpRequest) -> HttpResponse:
    chart = _chart_context(request)
    if request.htmx and request.htmx.target == "chart-panel":
        return render(request, "dashboard/partials/message_charts.html", chart)
    form = MessageFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    before_pk = None
    if data.get("before"):
        before_pk = selectors.message_pk_of(data["before"])
    rows = selectors.message_page(
        status=data.get("status", ""),
        message_type=data.get("message_type", ""),
        delivery_method=data.get("delivery_method", ""),
        since=_day_start(data["since"]) if data.get("since") else None,
        until=_day_start(data["until"] + timedelta(days=1)) if data.get("until") else None,
        search=(data.get("q") or "").replace(" ", ""),
        before_pk=before_pk,
        limit=PAGE_SIZE,
    )
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("before", None)
    filtered = any(
        query.get(k) for k in ("status", "message_type", "delivery_method", "since", "until", "q")
    )
    older = None
    if has_more:
        query["before"] = rows[-1].public_id
        older = query.urlencode()
        query.pop("before")
    return render(
        request,
        "dashboard/messages.html",
        {
            "form": form,
            "rows": rows,
            "older_query": older,
            "first_query": query.urlencode(),
            "paged": before_pk is not None,
            "filtered": filtered,
            "purge": selectors.purge_last_run(),
            "message_retention_days": settings.MESSAGE_RETENTION_DAYS,
            "nav": "messages",
            **chart,
        },
    )


def _sender_shown(message) -> str:
    """What From the message went out with: its own sender, else the Twilio setting it used
    (read now: a later change of the setting shows here too), else the handler's choice."""
    if message.sender:
        return message.sender
    if message.provider_name == "twilio" or message.failed_over:
        provider = selectors.provider_get()
        if provider is not None and provider.twilio_mssid and message.delivery_method == "text":
            return f"Messaging Service {provider.twilio_mssid}"
        if provider is not None and provider.twilio_default_from:
            return f"{provider.twilio_default_from} (the Twilio From setting)"
    return "none given: the handler chooses"


def _route_shown(message) -> str:
    """The rule the message took, by the name it had then; no rule: the default provider."""
    if message.route_name:
        return message.route_name if message.route_id else f"{message.route_name} (since deleted)"
    if message.pinned_connection_id:
        return "None: a connection's Test, sent through that connection only"
    return "Default provider"


@require_GET
@staff_required
def message_page(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        message = selectors.message_detail(public_id)
    except NotFound:
        raise Http404("No such message.") from None
    return render(
        request,
        "dashboard/message.html",
        {
            "message": message,
            "attempts": message.attempt_list,
            "can_resend": message.status in RESENDABLE_STATUSES,
            "sender_shown": _sender_shown(message),
            "route_shown": _route_shown(message),
            "nav": "messages",
        },
    )


@require_POST
@staff_required
def message_resend_view(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        message = selectors.message_get(public_id)
    except NotFound:
        raise Http404("No such message.") from None
    try:
        new = message_resend(message, actor=_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:message", public_id=message.public_id)
    messages.success(request, f"Queued {new.public_id}, a resend of {message.public_id}.")
    return redirect("dashboard:message", public_id=new.public_id)


@require_POST
@staff_required
def number_erase_view(request: HttpRequest) -> HttpResponse:
    """Erase a number's messages, logs and counts (the page's dialog asked first)."""
    try:
        result = number_erase(request.POST.get("number", ""), actor=_actor(request))
    except ValidationError as exc:
        messages.error(request, f"Nothing was erased: {exc.message}")
        return redirect("dashboard:messages")
    messages.success(
        request,
        f"Erased {result.number}: {result.messages_removed} messages, "
        f"{result.attempts_removed} attempts and {result.executions_removed} executions "
        f"removed, {result.audit_entries_masked} audit entries masked, its limit counts "
        "forgotten. The audit log records the erasure.",
    )
    return redirect("dashboard:messages")
