"""Parsing of the Routing page's forms: POST data in, the arguments of one routing service call
out (and back: what a form shows for a stored rule or connection). The services validate; a
value that does not parse here is passed on as typed so the service names it with the rest."""

from phoneprovider.errors import ValidationError
from phoneprovider.models import Connection, Route
from phoneprovider.services.routing import MAX_ROUTE_CONNECTIONS, ROUTE_MATCH_FIELDS

# Where each error of a form is shown (an error of another field goes to "form").
RULE_SLOTS = ("form", "name", *ROUTE_MATCH_FIELDS, "connections")
CONNECTION_SLOTS = (
    "form",
    "name",
    "kind",
    "sid",
    "auth_token",
    "default_from",
    "mssid",
    "service_sid",
    "api_host",
    "configuration",
)
_LIST_FIELDS = ("countries", "prefixes", "client_ids", "organization_ids")


def split_values(raw: str) -> list[str]:
    """``"GB, FR  IE"`` → ``["GB", "FR", "IE"]``: commas or spaces between values."""
    return [value for value in (raw or "").replace(",", " ").split() if value]


# ---- rules -------------------------------------------------------------------------------


def rule_changes(post) -> dict:
    """Arguments of ``route_create`` / ``route_update`` (every field: the form shows them all).
    Connections come from one select per step, first step first; empty steps are left out."""
    changes = {"name": post.get("name", "")}
    for field in _LIST_FIELDS:
        changes[field] = split_values(post.get(field, ""))
    changes["message_types"] = post.getlist("message_types")
    changes["delivery_methods"] = post.getlist("delivery_methods")
    changes["connections"] = [value for value in post.getlist("connections") if value]
    return changes


def rule_posted_values(post) -> dict:
    """What the rule form shows again after a refused save: exactly what was typed."""
    values = {field: post.get(field, "") for field in ("name", *_LIST_FIELDS)}
    values["message_types"] = post.getlist("message_types")
    values["delivery_methods"] = post.getlist("delivery_methods")
    values["connections"] = [value for value in post.getlist("connections") if value]
    return values


def rule_values(route: Route | None) -> dict:
    """What the rule form shows for a stored rule (or an empty new one)."""
    if route is None:
        return {
            "name": "",
            **dict.fromkeys(_LIST_FIELDS, ""),
            "message_types": [],
            "delivery_methods": [],
            "connections": [],
        }
    values = {field: ", ".join(getattr(route, field)) for field in _LIST_FIELDS}
    values.update(
        name=route.name,
        message_types=list(route.message_types),
        delivery_methods=list(route.delivery_methods),
        connections=[step.connection.public_id for step in route.steps.all()],
    )
    return values


def step_slots(values: dict, connections: list[Connection]) -> list[str]:
    """One select per failover step: the chosen connections, then empty ones to pick more
    (at least three, at most as many as there are connections to pick)."""
    chosen = list(values.get("connections") or [])
    count = max(len(chosen) + 1, 3)
    count = min(count, max(len(connections), len(chosen)), MAX_ROUTE_CONNECTIONS)
    return (chosen + [""] * count)[: max(count, len(chosen))]


# ---- connections -------------------------------------------------------------------------


def configuration_parse(text: str) -> dict[str, str]:
    """``key=value`` lines (blank lines and ``#`` comments skipped) → a dict; a line without
    ``=`` or a key given twice is an error naming the line."""
    configuration: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValidationError(
                f"Configuration line {number} is not key=value.", field="configuration"
            )
        if key in configuration:
            raise ValidationError(
                f"Configuration line {number}: {key!r} is given twice.", field="configuration"
            )
        configuration[key] = value.strip()
    return configuration


def configuration_text(configuration: dict) -> str:
    return "\n".join(f"{key}={value}" for key, value in (configuration or {}).items())


def connection_changes(post, *, kind: str) -> dict:
    """Arguments of ``connection_create`` / ``connection_update`` for ``kind``: only the fields
    that kind has, so what the page hides for another kind is never stored. An empty auth token
    keeps the stored one (write-only)."""
    changes: dict = {"name": post.get("name", "")}
    if kind == Connection.Kind.CUSTOM:
        changes["configuration"] = configuration_parse(post.get("configuration", ""))
        return changes
    changes.update(
        twilio_sid=post.get("sid", ""),
        api_host=post.get("api_host", ""),
    )
    token = post.get("auth_token", "").strip()
    if token:
        changes["twilio_auth_token"] = token
    if kind == Connection.Kind.TWILIO_VERIFY:
        changes["verify_service_sid"] = post.get("service_sid", "")
    else:
        changes["twilio_default_from"] = post.get("default_from", "")
        changes["twilio_mssid"] = post.get("mssid", "")
    return changes


def connection_posted_values(post) -> dict:
    """What the connection form shows again after a refused save (never the auth token)."""
    fields = ("name", "kind", "sid", "default_from", "mssid", "service_sid", "api_host")
    values = {field: post.get(field, "") for field in fields}
    values["configuration"] = post.get("configuration", "")
    return values


def connection_values(connection: Connection | None) -> dict:
    if connection is None:
        return {"kind": Connection.Kind.TWILIO}
    return {
        "name": connection.name,
        "kind": connection.kind,
        "sid": connection.twilio_sid,
        "default_from": connection.twilio_default_from,
        "mssid": connection.twilio_mssid,
        "service_sid": connection.verify_service_sid,
        "api_host": connection.api_host,
        "configuration": configuration_text(connection.configuration),
    }
