"""The Routing page: the ordered rules and the connections they send through (each with a Test
on the real delivery path), "Which route?" for a number, and each rule's last 24 hours.

Every write is one call of ``phoneprovider.services.routing`` (rules) or ``.connections``; its
errors are shown beside the field they name. htmx controls (switch, move, Which route?, Test)
are also plain forms."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard import routing_forms
from dashboard.send_test import send_test_respond
from dashboard.views import _actor, error_slots, staff_required
from phoneprovider import routing, selectors, selectors_charts
from phoneprovider.errors import ApplicationError, NotFound
from phoneprovider.models import Connection, DeliveryMethod, MessageType, Route
from phoneprovider.phone import normalize_e164
from phoneprovider.services.connections import (
    connection_create,
    connection_delete,
    connection_update,
)
from phoneprovider.services.routing import route_create, route_delete, route_update

WHICH_FIELDS = ("number", "client_id", "organization_id", "message_type", "delivery_method")


@dataclass
class RuleRow:
    route: Route
    conditions: list[str]
    connections: list[Connection]
    counts: selectors_charts.Counts | None  # the last 24 hours; None: no message


def conditions_in_words(route: Route) -> list[str]:
    """A rule's conditions as people say them (each matches any of its values; all must hold)."""
    words = []
    if route.countries:
        words.append("the number is in " + " or ".join(route.countries))
    if route.prefixes:
        words.append("the number starts with " + " or ".join(route.prefixes))
    if route.message_types:
        labels = [
            MessageType(t).label if t in MessageType.values else t for t in route.message_types
        ]
        words.append("the message is " + " or ".join(labels))
    if route.delivery_methods:
        labels = [
            DeliveryMethod(m).label.lower() if m in DeliveryMethod.values else m
            for m in route.delivery_methods
        ]
        words.append("it is sent as " + " or ".join(labels))
    if route.client_ids:
        words.append("the application is " + " or ".join(route.client_ids))
    if route.organization_ids:
        words.append("the organization is " + " or ".join(route.organization_ids))
    return words or ["any message"]


def _default_provider_label() -> str:
    provider = selectors.provider_get()
    if provider is None:
        return "none set up yet"
    label = provider.get_name_display()
    return f"{label} (disabled)" if provider.disabled else label


def _context(**extra) -> dict:
    """The whole page; ``extra`` replaces a form's values and errors, or the Which route? box."""
    routes = list(selectors.routes_list())
    connections = list(selectors.connections_list())
    # One query for every rule's counts; a rule since deleted keeps its own (not shown here).
    totals = selectors_charts.route_totals("24h")
    counts = {t.route_id: t for t in totals if t.route_id or not t.deleted_route_name}
    users: dict[int, list[str]] = {}
    rows = []
    for route in routes:
        steps = [step.connection for step in route.steps.all()]
        for connection in steps:
            users.setdefault(connection.pk, []).append(route.name)
        rows.append(RuleRow(route, conditions_in_words(route), steps, counts.get(route.pk)))
    rule_values = extra.pop("rule_values", None) or routing_forms.rule_values(None)
    context = {
        "rows": rows,
        "connections": connections,
        "connection_users": [(c, users.get(c.pk, [])) for c in connections],
        "default_provider": _default_provider_label(),
        "default_counts": counts.get(None),
        "rule_values": rule_values,
        "rule_errors": {},
        "rule_steps": routing_forms.step_slots(rule_values, connections),
        "conn_values": routing_forms.connection_values(None),
        "conn_errors": {},
        "which": _which({}),
        **_choices(),
        "nav": "routing",
    }
    context.update(extra)
    return context


def _choices() -> dict:
    return {
        "message_types": MessageType.choices,
        "delivery_methods": DeliveryMethod.choices,
        "kinds": Connection.Kind.choices,
    }


def _route_or_404(public_id: str) -> Route:
    try:
        return selectors.route_get_by_public_id(public_id)
    except NotFound:
        raise Http404("No such rule.") from None


def _connection_or_404(public_id: str) -> Connection:
    try:
        return selectors.connection_get_by_public_id(public_id)
    except NotFound:
        raise Http404("No such connection.") from None


def _rules_changed(request: HttpRequest) -> HttpResponse:
    """After a switch or a move: htmx gets the rule list again, a plain form the page."""
    if request.htmx:
        return render(request, "dashboard/partials/routing_rules.html", _context())
    return redirect(f"{reverse('dashboard:routing')}#rules")


@require_GET
@staff_required
def routing_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/routing.html", _context())


# ---- rules -------------------------------------------------------------------------------


@require_POST
@staff_required
def rule_create(request: HttpRequest) -> HttpResponse:
    try:
        route = route_create(actor=_actor(request), **routing_forms.rule_changes(request.POST))
    except ApplicationError as exc:
        context = _context(rule_values=routing_forms.rule_posted_values(request.POST))
        context["rule_errors"] = error_slots(exc, routing_forms.RULE_SLOTS)
        return render(request, "dashboard/routing.html", context)
    messages.success(request, f"Added the rule {route.name!r}.")
    return redirect(f"{reverse('dashboard:routing')}#rules")


@require_http_methods(["GET", "POST"])
@staff_required
def rule_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    route = _route_or_404(public_id)
    connections = list(selectors.connections_list())
    errors = {}
    if request.method == "POST":
        try:
            route = route_update(
                route, actor=_actor(request), **routing_forms.rule_changes(request.POST)
            )
        except ApplicationError as exc:
            errors = error_slots(exc, routing_forms.RULE_SLOTS)
            values = routing_forms.rule_posted_values(request.POST)
        else:
            messages.success(request, f"Saved the rule {route.name!r}.")
            return redirect(f"{reverse('dashboard:routing')}#rules")
    else:
        values = routing_forms.rule_values(route)
    return render(
        request,
        "dashboard/routing_edit.html",
        {
            "route": route,
            "rule_values": values,
            "rule_errors": errors,
            "rule_steps": routing_forms.step_slots(values, connections),
            "connections": connections,
            **_choices(),
            "nav": "routing",
        },
    )


@require_POST
@staff_required
def rule_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    route = _route_or_404(public_id)
    route_delete(route, actor=_actor(request))
    messages.success(request, f"Deleted the rule {route.name!r}.")
    return redirect(f"{reverse('dashboard:routing')}#rules")


@require_POST
@staff_required
def rule_enabled(request: HttpRequest, public_id: str) -> HttpResponse:
    route = _route_or_404(public_id)
    route_update(route, actor=_actor(request), enabled=request.POST.get("enabled") == "on")
    return _rules_changed(request)


@require_POST
@staff_required
def rule_move(request: HttpRequest, public_id: str) -> HttpResponse:
    """Up or down one place (the service renumbers the whole order)."""
    route = _route_or_404(public_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    route_update(route, actor=_actor(request), position=max(0, route.position + step))
    return _rules_changed(request)


# ---- connections -------------------------------------------------------------------------


def _connection_saved(request, connection: Connection | None) -> Connection:
    """Create (``connection`` None) or update from the posted form; raises what the service
    (or the configuration lines) refused."""
    kind = connection.kind if connection else request.POST.get("kind", "")
    changes = routing_forms.connection_changes(request.POST, kind=kind)
    if connection is None:
        return connection_create(actor=_actor(request), kind=kind, **changes)
    return connection_update(connection, actor=_actor(request), **changes)


@require_POST
@staff_required
def connection_add(request: HttpRequest) -> HttpResponse:
    try:
        connection = _connection_saved(request, None)
    except ApplicationError as exc:
        context = _context(
            conn_values=routing_forms.connection_posted_values(request.POST),
            conn_errors=error_slots(exc, routing_forms.CONNECTION_SLOTS),
        )
        return render(request, "dashboard/routing.html", context)
    messages.success(request, f"Added the connection {connection.name!r}.")
    return redirect(f"{reverse('dashboard:routing')}#connections")


@require_http_methods(["GET", "POST"])
@staff_required
def connection_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    connection = _connection_or_404(public_id)
    errors = {}
    if request.method == "POST":
        try:
            connection = _connection_saved(request, connection)
        except ApplicationError as exc:
            errors = error_slots(exc, routing_forms.CONNECTION_SLOTS)
            values = routing_forms.connection_posted_values(request.POST)
            values["kind"] = connection.kind
        else:
            messages.success(request, f"Saved the connection {connection.name!r}.")
            return redirect(f"{reverse('dashboard:routing')}#connections")
    else:
        values = routing_forms.connection_values(connection)
    return render(
        request,
        "dashboard/routing_edit.html",
        {
            "connection": connection,
            "conn_values": values,
            "conn_errors": errors,
            **_choices(),
            "nav": "routing",
        },
    )


@require_POST
@staff_required
def connection_remove(request: HttpRequest, public_id: str) -> HttpResponse:
    connection = _connection_or_404(public_id)
    try:
        connection_delete(connection, actor=_actor(request))
    except ApplicationError as exc:  # a rule uses it: the service names the rule
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the connection {connection.name!r}.")
    return redirect(f"{reverse('dashboard:routing')}#connections")


@require_http_methods(["GET", "POST"])
@staff_required
def connection_test(request: HttpRequest, public_id: str) -> HttpResponse:
    """Test: a one-time code through this connection only, whatever the rules say; its progress
    shows as Send Test's does."""
    connection = _connection_or_404(public_id)
    return send_test_respond(
        request,
        message_type=MessageType.OTP_VERIFY,
        form_context={
            "test_url": request.path,
            "test_intro": (
                f"Sends a one-time code (OTP verify) with a random 6-digit code through "
                f"{connection.name} only, whatever the rules say, on the path real messages take."
            ),
            "nav": "routing",
        },
        unavailable="",
        back_url=reverse("dashboard:routing"),
        connection=connection,
    )


# ---- Which route? ------------------------------------------------------------------------


def _which(params) -> dict:
    """The Which route? box: what was asked and, once a number is given, the matcher's answer
    (``routing.explain``: the one matcher delivery and the API use)."""
    values = {field: (params.get(field) or "").strip() for field in WHICH_FIELDS}
    # Every message has a type and a method: unasked, the sending API's defaults.
    values["message_type"] = values["message_type"] or MessageType.OTP_VERIFY
    values["delivery_method"] = values["delivery_method"] or DeliveryMethod.TEXT
    if not values["number"]:
        return {"values": values, "asked": False}
    try:
        number = normalize_e164(values["number"], field="number")
    except ApplicationError as exc:
        return {"values": values, "asked": True, "error": exc}
    subject = routing.Subject(
        recipient=number,
        message_type=values["message_type"],
        delivery_method=values["delivery_method"],
        client_id=values["client_id"],
        organization_id=values["organization_id"],
    )
    return {
        "values": values,
        "asked": True,
        "explanation": routing.explain(routing.rules_load(), subject),
    }


@require_http_methods(["GET", "POST"])
@staff_required
def routing_which(request: HttpRequest) -> HttpResponse:
    which = _which(request.POST if request.method == "POST" else request.GET)
    if request.htmx:
        return render(
            request, "dashboard/partials/routing_which.html", {"which": which, **_choices()}
        )
    return render(request, "dashboard/routing.html", _context(which=which))
