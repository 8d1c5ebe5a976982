"""Connections and routing rules → the API's JSON. Credentials never leave through here."""

from phoneprovider import routing
from phoneprovider.api.serializers import timestamp
from phoneprovider.models import Connection, Route
from phoneprovider.services.routing import ROUTE_MATCH_FIELDS


def connection_configuration(connection: Connection) -> dict:
    """The kind's non-secret settings, empty ones left out (as Auth0 writes a provider's)."""
    if connection.kind == Connection.Kind.CUSTOM:
        return dict(connection.configuration or {})
    if connection.kind == Connection.Kind.TWILIO_VERIFY:
        pairs = [
            ("sid", connection.twilio_sid),
            ("service_sid", connection.verify_service_sid),
            ("api_host", connection.api_host),
        ]
    else:
        pairs = [
            ("sid", connection.twilio_sid),
            ("default_from", connection.twilio_default_from),
            ("mssid", connection.twilio_mssid),
            ("api_host", connection.api_host),
        ]
    return {key: value for key, value in pairs if value}


def connection_json(connection: Connection) -> dict:
    return {
        "id": connection.public_id,
        "name": connection.name,
        "kind": connection.kind,
        "configuration": connection_configuration(connection),
        "created_at": timestamp(connection.created_at),
        "updated_at": timestamp(connection.updated_at),
    }


def connection_brief(connection: Connection) -> dict:
    return {"id": connection.public_id, "name": connection.name, "kind": connection.kind}


def _steps(route: Route):
    prefetched = getattr(route, "_prefetched_objects_cache", {})
    if "steps" in prefetched:
        return prefetched["steps"]
    return route.steps.select_related("connection").order_by("position")


def route_json(route: Route) -> dict:
    return {
        "id": route.public_id,
        "name": route.name,
        "enabled": route.enabled,
        "position": route.position,
        "match": {field: list(getattr(route, field)) for field in ROUTE_MATCH_FIELDS},
        "connections": [step.connection.public_id for step in _steps(route)],
        "created_at": timestamp(route.created_at),
        "updated_at": timestamp(route.updated_at),
    }


def explanation_json(explanation: routing.Explanation, route: Route | None) -> dict:
    """What ``routing.explain`` decided; ``route`` is the matching rule's row, for its JSON."""
    rule = explanation.rule
    return {
        "route": route_json(route) if route is not None else None,
        "connections": [connection_brief(c) for c in rule.connections] if rule else [],
        "default_provider": rule is None,
        "country": explanation.subject.country,
        "explanation": explanation.summary,
        "skipped": [
            {"id": skipped.public_id, "name": skipped.name, "reason": reason}
            for skipped, reason in explanation.skipped
        ],
    }
