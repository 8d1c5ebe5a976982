"""JSON Schemas of phone routing (ours; Auth0 has no equivalent): connections, rules, their order
and the "which route?" question. ``schemas.COMPONENTS`` includes them.

Rules the services word better than a schema error (an empty connection list, an unknown
country, a bad SID) are stated with ``not`` / ``pattern`` / descriptions, which the document
carries and ``validation.check`` leaves to the services.
"""

import phonenumbers

from phoneprovider.api.schema_parts import (
    ALPHANUMERIC_SENDER,
    BOOLEAN,
    DATE_TIME,
    DELIVERY_METHOD,
    MESSAGE_TYPES,
    NOT_BLANK,
    PHONE_NUMBER,
    STRING,
    array,
    obj,
    ref,
)
from phoneprovider.services.connections import ROUTE_CONFIGURATION_KEYS

CONNECTION_KINDS = ["twilio", "twilio_verify", "custom"]
_SHORT = {"type": "string", "maxLength": 64}
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": NOT_BLANK,
    "description": "Unique among connections; a second one with the name answers 409.",
}
_ROUTE_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NOT_BLANK}
_API_HOST = {
    "type": "string",
    "maxLength": 128,
    # region.twilio.com, api.us1.twilio.com or edge.region.twilio.com (Twilio retired the
    # other product.region hosts): what providers.twilio.api_host_problem lets through.
    "pattern": r"^L\.(us1\.|L\.L\.)?twilio\.com$".replace("L", "[a-z0-9][a-z0-9-]*"),
    "description": "A Twilio region / edge host such as api.dublin.ie1.twilio.com (twilio.com "
    "hosts only); left out, Twilio's default host.",
}
_ID_LIST = array(
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK}, maxItems=100
)
# Every region the numbering plans know: the pattern lets the document (and fuzzers) say which
# codes exist, while the service answers an unknown one by name.
_COUNTRY = {
    "type": "string",
    "maxLength": 2,
    "pattern": f"^({'|'.join(sorted(phonenumbers.SUPPORTED_REGIONS))})$",
}
_NOT_EMPTY = {"not": {"maxItems": 0}}

# Which configuration applies depends on ``kind`` (the body's, else the stored connection's);
# the view checks it against that one schema, so the error names the field that is wrong.
_BY_KIND_CONFIGURATION = {
    "type": "object",
    "description": "TwilioConnectionConfiguration for kind twilio, "
    "TwilioVerifyConnectionConfiguration for twilio_verify, CustomConnectionConfiguration for "
    "custom. Replaced as a whole.",
}


def _shapes_by_kind(*, create: bool) -> list[dict]:
    shapes = {
        "twilio": "TwilioConnectionConfiguration",
        "twilio_verify": "TwilioVerifyConnectionConfiguration",
        "custom": "CustomConnectionConfiguration",
    }
    out = []
    sender = [
        {"required": [field], "properties": {field: {"pattern": NOT_BLANK}}}
        for field in ("default_from", "mssid")
    ]
    for kind, schema in shapes.items():
        configuration = ref(schema)
        if kind == "twilio":
            configuration = {"allOf": [configuration, {"anyOf": sender}]}
        credentials = ref("CustomCredentials" if kind == "custom" else "ConnectionCredentials")
        if create and kind != "custom":
            credentials = {"allOf": [credentials, {"required": ["auth_token"]}]}
        then: dict = {"properties": {"configuration": configuration, "credentials": credentials}}
        if create and kind != "custom":
            then["required"] = ["configuration", "credentials"]
        out.append(
            {"if": {"required": ["kind"], "properties": {"kind": {"const": kind}}}, "then": then}
        )
    return out


_MATCH = {
    "countries": array(
        _COUNTRY,
        maxItems=100,
        description="ISO 3166 alpha-2 codes of the number's country (GB, US…).",
    ),
    "prefixes": array(
        {"type": "string", "maxLength": 16, "pattern": r"^\+[0-9]{1,15}$"},
        maxItems=100,
        description="Number prefixes such as +4478.",
    ),
    "message_types": array({"type": "string", "enum": MESSAGE_TYPES}, maxItems=100),
    "delivery_methods": array(DELIVERY_METHOD, maxItems=100),
    "client_ids": {**_ID_LIST, "description": "Applications (the context's client.client_id)."},
    "organization_ids": {**_ID_LIST, "description": "Organizations (organization.id)."},
}
_CONNECTION_IDS = array(
    {"type": "string", "maxLength": 64},
    maxItems=10,
    uniqueItems=True,
    **_NOT_EMPTY,
    description="Connection ids in order: the first sends, the next ones fail over in turn. At "
    "least one; each existing, once.",
)

ROUTING_COMPONENTS: dict[str, dict] = {
    # --- Connections ---------------------------------------------------------------------------
    "ConnectionKind": {"type": "string", "enum": CONNECTION_KINDS},
    "TwilioConnectionConfiguration": obj(
        {
            "sid": {**_SHORT, "pattern": "^AC[0-9a-fA-F]{32}$"},
            "default_from": {
                "anyOf": [{**PHONE_NUMBER, "maxLength": 32}, ALPHANUMERIC_SENDER],
                "description": "An E.164 number or an alphanumeric sender ID.",
            },
            "mssid": {**_SHORT, "pattern": "^(MG[0-9a-fA-F]{32})?$"},
            "api_host": _API_HOST,
        },
        required=("sid",),
        description="A From number (or alphanumeric sender) or a Messaging Service SID.",
    ),
    "TwilioVerifyConnectionConfiguration": obj(
        {
            "sid": {**_SHORT, "pattern": "^AC[0-9a-fA-F]{32}$"},
            "service_sid": {**_SHORT, "pattern": "^VA[0-9a-fA-F]{32}$"},
            "api_host": _API_HOST,
        },
        required=("sid", "service_sid"),
        description="Sends the message's code as Verify's custom code (SMS or call).",
    ),
    "CustomConnectionConfiguration": {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 1000},
        "propertyNames": {
            "pattern": r"^[^\u0000]*$",
            "not": {"enum": list(ROUTE_CONFIGURATION_KEYS)},
        },
        "maxProperties": 50,
        "description": "String values the deployed custom-phone-provider handler reads in "
        "event.configuration (route_id, route_name, connection_id and connection_name are set "
        "by the route).",
    },
    "ConnectionConfiguration": {
        "anyOf": [
            ref("TwilioConnectionConfiguration"),
            ref("TwilioVerifyConnectionConfiguration"),
            ref("CustomConnectionConfiguration"),
        ]
    },
    "ConnectionCredentials": obj(
        {"auth_token": {"type": "string", "minLength": 1, "maxLength": 255}},
        description="Stored encrypted, never returned. On update, left out keeps the token.",
    ),
    "CreateConnectionRequest": obj(
        {
            "name": _NAME,
            "kind": ref("ConnectionKind"),
            "configuration": _BY_KIND_CONFIGURATION,
            "credentials": ref("ConnectionCredentials"),
        },
        required=("name", "kind"),
        allOf=_shapes_by_kind(create=True),
    ),
    "UpdateConnectionRequest": obj(
        {
            "name": _NAME,
            "kind": {**ref("ConnectionKind"), "description": "Can't change (400)."},
            "configuration": _BY_KIND_CONFIGURATION,
            "credentials": ref("ConnectionCredentials"),
        },
        minProperties=1,
        allOf=_shapes_by_kind(create=False),
    ),
    "Connection": obj(
        {
            "id": {"type": "string", "description": "pcn_…"},
            "name": STRING,
            "kind": ref("ConnectionKind"),
            "configuration": ref("ConnectionConfiguration"),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
        required=("id", "name", "kind", "configuration"),
    ),
    "ConnectionList": obj({"connections": array(ref("Connection"))}, required=("connections",)),
    "ConnectionTryRequest": obj(
        {"to": {**PHONE_NUMBER, "maxLength": 32}, "delivery_method": DELIVERY_METHOD},
        required=("to",),
    ),
    "ConnectionTryResponse": obj(
        {
            "code": {"type": "number"},
            "message": STRING,
            "message_id": {"type": "string", "description": "msg_…; GET /phone/messages/{id}"},
        },
        required=("message_id",),
    ),
    # --- Routes --------------------------------------------------------------------------------
    "RouteMatch": obj(
        _MATCH,
        description="Conditions are all required; each list matches any of its values and an "
        "empty or missing list matches everything.",
    ),
    "CreateRouteRequest": obj(
        {
            "name": _ROUTE_NAME,
            "enabled": BOOLEAN,
            "position": {
                "type": "integer",
                "minimum": 0,
                "description": "0 is tried first; left out, the rule goes last.",
            },
            "match": ref("RouteMatch"),
            "connections": _CONNECTION_IDS,
        },
        required=("name", "connections"),
    ),
    "UpdateRouteRequest": obj(
        {
            "name": _ROUTE_NAME,
            "enabled": BOOLEAN,
            "position": {"type": "integer", "minimum": 0},
            "match": {
                **ref("RouteMatch"),
                "description": "Merged: each key given replaces that list, the others stay.",
            },
            "connections": _CONNECTION_IDS,
        },
        minProperties=1,
    ),
    "Route": obj(
        {
            "id": {"type": "string", "description": "prt_…"},
            "name": STRING,
            "enabled": BOOLEAN,
            "position": {"type": "integer"},
            "match": obj({name: array(STRING) for name in _MATCH}, required=tuple(_MATCH.keys())),
            "connections": array(STRING),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
        required=("id", "name", "enabled", "position", "match", "connections"),
    ),
    "RouteList": obj({"routes": array(ref("Route"))}, required=("routes",)),
    "ReorderRoutesRequest": obj(
        {
            "order": array(
                {"type": "string", "maxLength": 64},
                maxItems=200,
                uniqueItems=True,
                description="Every rule's id exactly once, first tried first.",
            )
        },
        required=("order",),
    ),
    "ResolveRouteRequest": obj(
        {
            "to": {**PHONE_NUMBER, "maxLength": 32},
            "message_type": {"type": "string", "enum": MESSAGE_TYPES},
            "delivery_method": DELIVERY_METHOD,
            "client_id": {"type": "string", "maxLength": 255},
            "organization_id": {"type": "string", "maxLength": 255},
        },
        required=("to",),
    ),
    "ResolvedRoute": obj(
        {
            "route": {
                "anyOf": [ref("Route"), {"type": "null"}],
                "description": "The first enabled rule that matches; null: the default provider.",
            },
            "connections": array(
                obj({"id": STRING, "name": STRING, "kind": ref("ConnectionKind")}),
                description="The rule's connections in failover order; [] for the default "
                "provider.",
            ),
            "default_provider": BOOLEAN,
            "country": {"type": "string", "description": "ISO 3166 region of the number."},
            "explanation": STRING,
            "skipped": array(
                obj({"id": STRING, "name": STRING, "reason": STRING}),
                description="Each rule tried before the one that matched, and why it did not.",
            ),
        },
        required=(
            "route",
            "connections",
            "default_provider",
            "country",
            "explanation",
            "skipped",
        ),
    ),
}
