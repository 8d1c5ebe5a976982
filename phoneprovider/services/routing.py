"""Writes of routing rules: the ordered list that picks a message's connections.

Every write is validated whole before anything is stored, audited, and announced to every
process's configuration copy (positions are renumbered in bulk, which sends no signals).
"""

import re

from django.db import transaction
from django.db.models import Max

from phoneprovider.config_cache import config_changed
from phoneprovider.errors import ValidationError
from phoneprovider.models import Connection, DeliveryMethod, MessageType, Route, RouteConnection
from phoneprovider.phone import countries_clean
from phoneprovider.services.audit import audit_record, audit_update
from phoneprovider.services.connections import name_clean

MAX_ROUTES = 200
MAX_ROUTE_CONNECTIONS = 10
MAX_MATCH_VALUES = 100

_PREFIX = re.compile(r"^\+[0-9]{1,15}$")

ROUTE_MATCH_FIELDS = (
    "countries",
    "prefixes",
    "message_types",
    "delivery_methods",
    "client_ids",
    "organization_ids",
)


def _clean_list(value, *, field: str, label: str, clean_one) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError(f"{label} must be a list.", field=field)
    if len(value) > MAX_MATCH_VALUES:
        raise ValidationError(f"{label}: at most {MAX_MATCH_VALUES} values.", field=field)
    cleaned = []
    for item in value:
        one = clean_one(item.strip() if isinstance(item, str) else item)
        if one not in cleaned:
            cleaned.append(one)
    return cleaned


def _one_of(allowed: list[str], *, field: str, label: str):
    def clean(item):
        if item not in allowed:
            raise ValidationError(
                f"{label}: {item!r} is not one of {', '.join(allowed)}.", field=field
            )
        return item

    return clean


def _prefix(item) -> str:
    if not isinstance(item, str) or not _PREFIX.match(item):
        raise ValidationError(
            f"Number prefixes: {item!r} is not a prefix; use + and digits, such as +4478.",
            field="prefixes",
        )
    return item


def _identifier(field: str, label: str):
    def clean(item):
        if not isinstance(item, str) or not item or len(item) > 255:
            raise ValidationError(f"{label}: each is a non-empty id string.", field=field)
        return item

    return clean


def _match_cleaned(field: str, value) -> list[str]:
    """One match condition, cleaned (an unknown value is an error naming it)."""
    if field == "countries":
        if value is not None and not isinstance(value, list | tuple | str):
            raise ValidationError("Countries must be a list of country codes.", field=field)
        return countries_clean(value or [], field=field, label="Countries")
    cleaners = {
        "prefixes": ("Number prefixes", _prefix),
        "message_types": (
            "Message types",
            _one_of(MessageType.values, field=field, label="Message types"),
        ),
        "delivery_methods": (
            "Delivery methods",
            _one_of(DeliveryMethod.values, field=field, label="Delivery methods"),
        ),
        "client_ids": ("Applications", _identifier(field, "Applications")),
        "organization_ids": ("Organizations", _identifier(field, "Organizations")),
    }
    label, clean_one = cleaners[field]
    return _clean_list(value, field=field, label=label, clean_one=clean_one)


def _connections_cleaned(value) -> list[Connection]:
    """The connections a rule names (public ids), in order: at least one, each existing once."""
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            "Name at least one connection: the first sends, the next ones fail over in order.",
            field="connections",
        )
    if len(value) > MAX_ROUTE_CONNECTIONS:
        raise ValidationError(
            f"At most {MAX_ROUTE_CONNECTIONS} connections per rule.", field="connections"
        )
    ids = [item for item in value if isinstance(item, str)]
    if len(ids) != len(value):
        raise ValidationError("Connections are named by their ids.", field="connections")
    if len(set(ids)) != len(ids):
        raise ValidationError("A connection is listed twice.", field="connections")
    found = {c.public_id: c for c in Connection.objects.filter(public_id__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(
            f"No connection {missing[0]!r} exists (deleted, or never created).",
            field="connections",
        )
    return [found[i] for i in ids]


def _route_errors(route: Route, changes: dict) -> tuple[list[ValidationError], list | None]:
    """Apply and check ``changes`` on ``route``; the connections when they are changed."""
    errors: list[ValidationError] = []
    allowed = {"name", "enabled", "position", "connections", *ROUTE_MATCH_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        return [ValidationError(f"Unknown route field {sorted(unknown)[0]!r}.")], None
    if "name" in changes or not route.pk:
        try:
            route.name = name_clean(changes.get("name", route.name))
        except ValidationError as exc:
            errors.append(exc)
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            errors.append(ValidationError("enabled is true or false.", field="enabled"))
        else:
            route.enabled = changes["enabled"]
    for field in ROUTE_MATCH_FIELDS:
        if field in changes:
            try:
                setattr(route, field, _match_cleaned(field, changes[field]))
            except ValidationError as exc:
                errors.append(exc)
    connections = None
    if "connections" in changes or not route.pk:
        try:
            connections = _connections_cleaned(changes.get("connections"))
        except ValidationError as exc:
            errors.append(exc)
    if "position" in changes:
        position = changes["position"]
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            errors.append(
                ValidationError("position is a whole number, 0 or more.", field="position")
            )
    return errors, connections


def _route_audit_view(route: Route, connections: list[Connection] | None = None) -> dict:
    if connections is None:
        connections = [step.connection for step in route.steps.select_related("connection")]
    view = {"name": route.name, "enabled": route.enabled, "position": route.position}
    view.update({field: getattr(route, field) for field in ROUTE_MATCH_FIELDS})
    view["connections"] = [c.public_id for c in connections]
    return view


def _steps_set(route: Route, connections: list[Connection]) -> None:
    RouteConnection.objects.filter(route=route).delete()
    RouteConnection.objects.bulk_create(
        RouteConnection(route=route, connection=c, position=i) for i, c in enumerate(connections)
    )


def _place(route: Route, position: int | None) -> None:
    """Put ``route`` at ``position`` (0 first; None or past the end: last) and renumber all
    rules 0, 1, 2… so the order stays a plain list."""
    others = list(Route.objects.exclude(pk=route.pk).order_by("position", "pk"))
    if position is None or position > len(others):
        position = len(others)
    others.insert(position, route)
    for index, rule in enumerate(others):
        rule.position = index
    Route.objects.bulk_update(others, ["position"])


@transaction.atomic
def route_create(*, actor: str, **fields) -> Route:
    """A new rule; placed last unless ``position`` says where."""
    # One writer of the rule order at a time: positions are renumbered as a whole.
    list(Route.objects.select_for_update().values_list("pk", flat=True))
    if Route.objects.count() >= MAX_ROUTES:
        raise ValidationError(f"At most {MAX_ROUTES} routing rules.")
    route = Route(position=(Route.objects.aggregate(m=Max("position"))["m"] or 0) + 1)
    errors, connections = _route_errors(route, fields)
    ValidationError.raise_all(errors)
    route.save()
    _steps_set(route, connections)
    _place(route, fields.get("position"))
    config_changed()  # bulk writes send no signals: announce the new order and steps
    audit_record(
        actor=actor,
        verb="create",
        object_type="phone_route",
        object_id=route.public_id,
        changes=_route_audit_view(route, connections),
    )
    return route


@transaction.atomic
def route_update(route: Route, *, actor: str, **changes) -> Route:
    list(Route.objects.select_for_update().values_list("pk", flat=True))
    route = Route.objects.get(pk=route.pk)
    before = _route_audit_view(route)
    errors, connections = _route_errors(route, changes)
    ValidationError.raise_all(errors)
    route.save()
    if connections is not None:
        _steps_set(route, connections)
    if "position" in changes:
        _place(route, changes["position"])
    config_changed()
    route.refresh_from_db()
    audit_update(
        actor=actor,
        object_type="phone_route",
        object_id=route.public_id,
        before=before,
        after=_route_audit_view(route),
    )
    return route


@transaction.atomic
def route_delete(route: Route, *, actor: str) -> None:
    list(Route.objects.select_for_update().values_list("pk", flat=True))
    audit_record(
        actor=actor,
        verb="delete",
        object_type="phone_route",
        object_id=route.public_id,
        changes=_route_audit_view(route),
    )
    route.delete()
    remaining = list(Route.objects.order_by("position", "pk"))
    for index, rule in enumerate(remaining):
        rule.position = index
    Route.objects.bulk_update(remaining, ["position"])
    config_changed()


@transaction.atomic
def routes_reorder(*, actor: str, order: list[str]) -> list[Route]:
    """Set the whole rule order at once: ``order`` lists every rule's id, first rule first."""
    routes = {r.public_id: r for r in Route.objects.select_for_update()}
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(routes):
        raise ValidationError(
            "List every rule's id exactly once, in the order they are to be tried.",
            field="order",
        )
    before = [r.public_id for r in sorted(routes.values(), key=lambda r: (r.position, r.pk))]
    ordered = [routes[i] for i in order]
    for index, route in enumerate(ordered):
        route.position = index
    Route.objects.bulk_update(ordered, ["position"])
    config_changed()
    audit_update(
        actor=actor, object_type="phone_routes", object_id="", before=before, after=list(order)
    )
    return ordered
