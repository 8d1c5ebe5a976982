"""The routing sections of the configuration document: ``phone_connections`` and
``phone_routes``.

Connections are keyed by name; a Twilio one's auth token is an ``${ENV_NAME}`` reference (the
export names ``CONNECTION_<NAME>_AUTH_TOKEN``), never a value. Rules are a list, first tried
first, and name their connections by name, so a file applies to another installation whose ids
differ. Each section, when present, is the whole list: applying creates and updates by name and
deletes what the file leaves out, as ``templates`` and ``send_phone_message`` do.
"""

import re

from phoneprovider import selectors
from phoneprovider.models import Connection, Route
from phoneprovider.services import connections as connection_services
from phoneprovider.services import routing as routing_services
from phoneprovider.services.config_document import (
    ConfigError,
    check_keys,
    check_type,
    section_errors,
    token_apply,
)

CONNECTIONS = "phone_connections"
ROUTES = "phone_routes"
MATCH_FIELDS = routing_services.ROUTE_MATCH_FIELDS
# A rule's conditions are written under its ``match`` key (where an error about one points).
_IN_MATCH = dict.fromkeys(MATCH_FIELDS, "match")

# The file's keys of each kind → the model's fields.
KIND_FIELDS = {
    Connection.Kind.TWILIO: {
        "sid": "twilio_sid",
        "default_from": "twilio_default_from",
        "mssid": "twilio_mssid",
        "api_host": "api_host",
    },
    Connection.Kind.TWILIO_VERIFY: {
        "sid": "twilio_sid",
        "service_sid": "verify_service_sid",
        "api_host": "api_host",
    },
    Connection.Kind.CUSTOM: {"configuration": "configuration"},
}
ROUTE_KEYS = {"name", "enabled", "match", "connections"}


def token_env(name: str, taken: set[str]) -> str:
    """The variable an export names for a connection's token: ``uk-twilio`` →
    ``CONNECTION_UK_TWILIO_AUTH_TOKEN`` (a suffix when two names spell the same)."""
    slug = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "UNNAMED"
    env, n = f"CONNECTION_{slug}_AUTH_TOKEN", 1
    while env in taken:
        n += 1
        env = f"CONNECTION_{slug}_{n}_AUTH_TOKEN"
    taken.add(env)
    return env


# --- Export -------------------------------------------------------------------------------------


def connections_export() -> dict:
    exported: dict = {}
    taken: set[str] = set()
    for connection in selectors.connections_list():
        section: dict = {"kind": str(connection.kind)}
        for key, field in KIND_FIELDS[connection.kind].items():
            value = getattr(connection, field)
            if value:
                section[key] = dict(value) if isinstance(value, dict) else value
        if connection.twilio_auth_token and connection.kind != Connection.Kind.CUSTOM:
            section["auth_token"] = f"${{{token_env(connection.name, taken)}}}"
        exported[connection.name] = section
    return exported


def routes_export() -> list:
    exported = []
    for route in selectors.routes_list():
        item: dict = {"name": route.name, "enabled": route.enabled}
        match = {field: list(getattr(route, field)) for field in MATCH_FIELDS}
        match = {field: values for field, values in match.items() if values}
        if match:
            item["match"] = match
        item["connections"] = [step.connection.name for step in route.steps.all()]
        exported.append(item)
    return exported


def routes_comparable(doc: dict) -> dict:
    """``doc`` with its rules keyed by name (and their place), so that a diff names the rule
    that changed instead of printing the whole list."""
    if not isinstance(doc.get(ROUTES), list):
        return doc
    keyed: dict = {}
    for position, item in enumerate(doc[ROUTES]):
        name, n = str(item.get("name")), 1
        while (key := name if n == 1 else f"{name} ({n})") in keyed:
            n += 1
        keyed[key] = {"position": position, **{k: v for k, v in item.items() if k != "name"}}
    return {**doc, ROUTES: keyed}


# --- Apply --------------------------------------------------------------------------------------


def routing_apply(doc: dict, actor: str, lines: dict, env) -> list[str]:
    """Apply the routing sections present in ``doc``; return the tokens that changed (paths).

    Connections are created and updated first (rules name them), rules next, and connections
    the file leaves out are deleted last, once no rule of the file uses them."""
    changed: list[str] = []
    if CONNECTIONS in doc:
        changed += _connections_apply(doc[CONNECTIONS], actor, lines, env)
    if ROUTES in doc:
        _routes_apply(doc[ROUTES], actor, lines)
    if CONNECTIONS in doc:
        wanted = {str(name) for name in doc[CONNECTIONS] or {}}
        for connection in Connection.objects.exclude(name__in=wanted).order_by("name"):
            # A rule the file keeps that still names it: the service names the rule.
            with section_errors(CONNECTIONS, lines):
                connection_services.connection_delete(connection, actor=actor)
    return changed


def _connections_apply(section, actor: str, lines: dict, env) -> list[str]:
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(
            "must be a mapping of connection names to their settings",
            path=CONNECTIONS,
            line=lines.get(CONNECTIONS),
        )
    existing = {c.name: c for c in Connection.objects.all()}
    changed = []
    for name, body in section.items():
        path = f"{CONNECTIONS}.{name}"
        kinds = ", ".join(Connection.Kind.values)
        kind = (body or {}).get("kind") if isinstance(body, dict) else None
        if kind not in KIND_FIELDS:
            raise ConfigError(
                f"kind must be one of {kinds}", path=f"{path}.kind", line=lines.get(path)
            )
        body = check_keys(body, {"kind", "auth_token", *KIND_FIELDS[kind]}, path, lines)
        if kind == Connection.Kind.CUSTOM and "auth_token" in body:
            raise ConfigError(
                "a custom connection has no auth token (its handler's secrets are the Action's)",
                path=f"{path}.auth_token",
                line=lines.get(f"{path}.auth_token"),
            )
        fields: dict = {"name": str(name), "kind": kind}
        for key, field in KIND_FIELDS[kind].items():
            value = body.get(key, {} if key == "configuration" else "")
            label = "a mapping of text values" if key == "configuration" else "text"
            fields[field] = check_type(
                value, dict if key == "configuration" else str, f"{path}.{key}", lines, label
            )
        current = existing.get(str(name))
        token_apply(body, current, fields, changed, path, lines, env)
        with section_errors(path, lines):
            if current is None:
                connection_services.connection_create(actor=actor, **fields)
            elif any(getattr(current, f) != v for f, v in fields.items()):
                connection_services.connection_update(current, actor=actor, **fields)
    return changed


def _routes_apply(section, actor: str, lines: dict) -> None:
    if section is None:
        section = []
    if not isinstance(section, list):
        raise ConfigError(
            "must be a list of rules, the first tried first", path=ROUTES, line=lines.get(ROUTES)
        )
    connections = {c.name: c for c in Connection.objects.all()}
    unclaimed: dict[str, list[Route]] = {}
    for route in selectors.routes_list():
        unclaimed.setdefault(route.name, []).append(route)
    order = []
    for index, item in enumerate(section):
        path = f"{ROUTES}[{index}]"
        item = check_keys(item, ROUTE_KEYS, path, lines)
        name = check_type(item.get("name"), str, f"{path}.name", lines, "text (the rule's name)")
        match = check_keys(item.get("match"), set(MATCH_FIELDS), f"{path}.match", lines)
        names = item.get("connections") or []
        check_type(names, list, f"{path}.connections", lines, "a list of connection names")
        for name_ in names:
            if name_ not in connections:
                raise ConfigError(
                    f"no connection named {name_!r} (phone_connections lists them)",
                    path=f"{path}.connections",
                    line=lines.get(f"{path}.connections") or lines.get(path),
                )
        fields = {
            "name": name,
            "enabled": item.get("enabled", True),
            **{field: match.get(field) or [] for field in MATCH_FIELDS},
            "connections": [connections[n].public_id for n in names],
        }
        route = unclaimed[name].pop(0) if unclaimed.get(name) else None
        with section_errors(path, lines, under=_IN_MATCH):
            if route is None:
                route = routing_services.route_create(actor=actor, **fields)
            elif _differs(route, fields):
                route = routing_services.route_update(route, actor=actor, **fields)
        order.append(route.public_id)
    for leftovers in unclaimed.values():
        for route in leftovers:
            routing_services.route_delete(route, actor=actor)
    stored = list(Route.objects.order_by("position", "pk").values_list("public_id", flat=True))
    if stored != order:
        routing_services.routes_reorder(actor=actor, order=order)


def _differs(route: Route, fields: dict) -> bool:
    steps = [step.connection.public_id for step in route.steps.all()]
    return (
        route.enabled != fields["enabled"]
        or steps != fields["connections"]
        or any(list(getattr(route, f)) != fields[f] for f in MATCH_FIELDS)
    )
