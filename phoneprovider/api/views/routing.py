"""Phone routing (our extension): provider connections, the ordered rules that choose them, and
which rule a number takes. Writes go through ``services.routing``, which validates, audits and
names the rule that keeps a connection from being deleted."""

import secrets

from phoneprovider import routing, selectors
from phoneprovider.api import serializers_routing as out
from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.schemas import COMPONENTS, ref
from phoneprovider.api.validation import check
from phoneprovider.config_cache import Snapshot
from phoneprovider.models import Connection, DeliveryMethod, MessageType
from phoneprovider.phone import normalize_e164
from phoneprovider.services import connections as connection_services
from phoneprovider.services import messages as message_services
from phoneprovider.services import routing as routing_services

ROUTING = "Phone routing (phoneprovider extension)"
READ = "read:phone_routes"
UPDATE = "update:phone_routes"

_CONFIGURATION_SCHEMA = {
    Connection.Kind.TWILIO: "TwilioConnectionConfiguration",
    Connection.Kind.TWILIO_VERIFY: "TwilioVerifyConnectionConfiguration",
    Connection.Kind.CUSTOM: "CustomConnectionConfiguration",
}


def _connection_fields(kind: str, body: dict) -> dict:
    """The wire body → the service's fields, ``configuration`` checked against ``kind``'s shape
    and replaced as a whole. An empty or missing auth token keeps the stored one."""
    fields = {key: body[key] for key in ("name", "kind") if key in body}
    if "configuration" in body:
        config = check(
            body["configuration"],
            ref(_CONFIGURATION_SCHEMA[kind]),
            COMPONENTS,
            path="configuration",
        )
        if kind == Connection.Kind.CUSTOM:
            fields["configuration"] = config
        else:
            fields["twilio_sid"] = config.get("sid", "")
            fields["api_host"] = config.get("api_host", "")
            if kind == Connection.Kind.TWILIO_VERIFY:
                fields["verify_service_sid"] = config.get("service_sid", "")
            else:
                fields["twilio_default_from"] = config.get("default_from", "")
                fields["twilio_mssid"] = config.get("mssid", "")
    if "credentials" in body:
        # A custom connection's handler keeps its secrets on the Action: no credentials here.
        schema = "CustomCredentials" if kind == Connection.Kind.CUSTOM else "ConnectionCredentials"
        credentials = check(body["credentials"], ref(schema), COMPONENTS, path="credentials")
        if credentials.get("auth_token"):
            fields["twilio_auth_token"] = credentials["auth_token"]
    return fields


class ConnectionsView(ApiView):
    @operation(READ, "List routing connections", tag=ROUTING, response="ConnectionList")
    def get(self, request, *, body, query):
        connections = selectors.connections_list()
        return respond({"connections": [out.connection_json(c) for c in connections]})

    @operation(
        UPDATE,
        "Add a routing connection",
        tag=ROUTING,
        body="CreateConnectionRequest",
        status=201,
        response="Connection",
        description="A named way to send besides the phone provider: Twilio Programmable "
        "Messaging, Twilio Verify (the code goes as Verify's custom code) or the deployed custom "
        "handler. credentials.auth_token is stored encrypted and never returned. A second "
        "connection with the same name answers 409.",
    )
    def post(self, request, *, body, query):
        connection = connection_services.connection_create(
            actor=self.actor, **_connection_fields(body["kind"], body)
        )
        return respond(out.connection_json(connection), 201)


class ConnectionView(ApiView):
    @operation(READ, "Get a routing connection", tag=ROUTING, response="Connection")
    def get(self, request, *, body, query, id):
        return respond(out.connection_json(selectors.connection_get_by_public_id(id)))

    @operation(
        UPDATE,
        "Update a routing connection",
        tag=ROUTING,
        body="UpdateConnectionRequest",
        response="Connection",
        description="Any subset of fields; configuration is replaced as a whole; credentials "
        "left out keep the stored token. The kind can't change.",
    )
    def patch(self, request, *, body, query, id):
        connection = selectors.connection_get_by_public_id(id)
        fields = _connection_fields(connection.kind, body)
        connection = connection_services.connection_update(connection, actor=self.actor, **fields)
        return respond(out.connection_json(connection))

    @operation(
        UPDATE,
        "Delete a routing connection",
        tag=ROUTING,
        status=204,
        description="A connection a rule uses is refused (409, naming the rule).",
    )
    def delete(self, request, *, body, query, id):
        connection = selectors.connection_get_by_public_id(id)
        connection_services.connection_delete(connection, actor=self.actor)
        return respond(None, 204)


class ConnectionTryView(ApiView):
    @operation(
        UPDATE,
        "Send a test message through one connection",
        tag=ROUTING,
        body="ConnectionTryRequest",
        status=202,
        response="ConnectionTryResponse",
        description="Queues a real otp_verify test message with a random 6-digit code, pinned "
        "to this connection whatever the rules say (no default provider needed). Follow it with "
        "GET /phone/messages/{message_id}. `to` must be an E.164 number (400 otherwise).",
    )
    def post(self, request, *, body, query, id):
        connection = selectors.connection_get_by_public_id(id)
        message = message_services.message_queue(
            to=body["to"],
            message_type=MessageType.OTP_VERIFY,
            delivery_method=body.get("delivery_method") or DeliveryMethod.TEXT,
            code=f"{secrets.randbelow(1_000_000):06d}",
            is_test=True,
            connection=connection,
        )
        if message.status == message.Status.QUEUED:
            outcome = f"Test message {message.public_id} queued for delivery."
        else:  # blocked by an abuse limit
            outcome = f"Test message {message.public_id} {message.status}: {message.reason}"
        return respond({"code": 202, "message": outcome, "message_id": message.public_id}, 202)


def _route_fields(body: dict) -> dict:
    """The wire body → the service's fields; each ``match`` key given replaces that list."""
    fields = {
        key: body[key] for key in ("name", "enabled", "position", "connections") if key in body
    }
    fields.update(body.get("match") or {})
    return fields


def _route_reloaded(route) -> dict:
    return out.route_json(selectors.routes_list().get(pk=route.pk))


def _routes_json() -> dict:
    return {"routes": [out.route_json(r) for r in selectors.routes_list()]}


class RoutesView(ApiView):
    @operation(
        READ,
        "List routing rules in the order they are tried",
        tag=ROUTING,
        response="RouteList",
    )
    def get(self, request, *, body, query):
        return respond(_routes_json())

    @operation(
        UPDATE,
        "Add a routing rule",
        tag=ROUTING,
        body="CreateRouteRequest",
        status=201,
        response="Route",
        description="The first enabled rule that matches a message sends it through its first "
        "connection; the next ones fail over in order. No rule matches: the phone provider "
        "sends. Placed last unless position says where.",
    )
    def post(self, request, *, body, query):
        route = routing_services.route_create(actor=self.actor, **_route_fields(body))
        return respond(_route_reloaded(route), 201)


class RouteView(ApiView):
    @operation(READ, "Get a routing rule", tag=ROUTING, response="Route")
    def get(self, request, *, body, query, id):
        route = selectors.route_get_by_public_id(id)
        return respond(out.route_json(route))

    @operation(
        UPDATE,
        "Update a routing rule",
        tag=ROUTING,
        body="UpdateRouteRequest",
        response="Route",
        description="Any subset of fields. match is merged: each key given replaces that list, "
        "the others stay; connections replaces the whole list.",
    )
    def patch(self, request, *, body, query, id):
        route = selectors.route_get_by_public_id(id)
        route = routing_services.route_update(route, actor=self.actor, **_route_fields(body))
        return respond(_route_reloaded(route))

    @operation(UPDATE, "Delete a routing rule", tag=ROUTING, status=204)
    def delete(self, request, *, body, query, id):
        route = selectors.route_get_by_public_id(id)
        routing_services.route_delete(route, actor=self.actor)
        return respond(None, 204)


class RoutesOrderView(ApiView):
    @operation(
        UPDATE,
        "Set the order of the routing rules",
        tag=ROUTING,
        body="ReorderRoutesRequest",
        response="RouteList",
        description="order lists every rule's id exactly once, the first tried first.",
    )
    def put(self, request, *, body, query):
        routing_services.routes_reorder(actor=self.actor, order=body["order"])
        return respond(_routes_json())


class RouteResolveView(ApiView):
    # A question, not a change: a read-only token may ask it.
    @operation(
        READ,
        "Which rule a number takes",
        tag=ROUTING,
        body="ResolveRouteRequest",
        response="ResolvedRoute",
        description="Runs the matcher delivery runs, on the rules delivery reads, and says why "
        "each earlier rule did not match, as the dashboard's Which route? box does. Left out, "
        "message_type and delivery_method are the sending API's defaults (otp_verify, text) "
        "and client_id and organization_id are none: a rule that asks for one does not match. "
        "Sends nothing.",
    )
    def post(self, request, *, body, query):
        subject = routing.Subject(
            recipient=normalize_e164(body["to"], field="to"),
            message_type=body.get("message_type", MessageType.OTP_VERIFY),
            delivery_method=body.get("delivery_method", DeliveryMethod.TEXT),
            client_id=body.get("client_id", ""),
            organization_id=body.get("organization_id", ""),
        )
        explanation = routing.explain(Snapshot().routes(), subject)
        route = None
        if explanation.rule is not None:
            route = selectors.routes_list().filter(pk=explanation.rule.pk).first()
        return respond(out.explanation_json(explanation, route))
