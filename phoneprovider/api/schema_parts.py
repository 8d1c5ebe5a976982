"""Building blocks of the API's JSON Schemas (``schemas.py``): helpers, common types and the
rules on text that the services enforce.

``validation.check`` enforces types, lengths, enums and required properties, and ignores
``pattern``, ``not``, ``const`` and ``if``: those only the document carries, for rules the
services enforce with a friendlier message.
"""

from phoneprovider.models import Action, MessageType
from phoneprovider.services import actions as action_rules

MESSAGE_TYPES = list(MessageType.values)
TRIGGER_IDS = list(Action.Trigger.values)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, *, required=(), additional: bool = False, **extra) -> dict:
    schema = {"type": "object", "additionalProperties": additional, "properties": properties}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATE_TIME = {"type": "string", "format": "date-time"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}
DELIVERY_METHOD = {"type": "string", "enum": ["text", "voice"]}
# Our sending API's numbers: E.164 (+, country code, up to 15 digits) and valid in that country's
# numbering plan (libphonenumber), which no pattern can say: hence the "e164" format. Spaces and
# dashes between the digits are tolerated (removed). Auth0's own fields (a try's `to`, a template
# `from`) take any string, as Auth0 does, so they carry neither.
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
PHONE_NUMBER = {
    "type": "string",
    "pattern": E164_PATTERN,
    "format": "e164",
    "description": "A phone number in E.164 form, valid in its country's numbering plan.",
}
# What erasure takes: E.164's shape, valid in today's numbering plans or not.
E164_SHAPED = {
    "type": "string",
    "pattern": E164_PATTERN,
    "description": "E.164: + and 8-15 digits.",
}
# An alphanumeric sender ID: up to 11 letters, digits and spaces, at least one letter.
ALPHANUMERIC_SENDER = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*$",
    "minLength": 1,
    "maxLength": 11,
}

# Text with something besides white space (the services strip it), and no NUL.
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"

# Which shape applies depends on ``name`` (the body's, else the stored provider's); the view
# checks it against that one schema, so the error names the field that is wrong.
BY_NAME_CONFIGURATION = {
    "type": "object",
    "description": "TwilioConfiguration when name is twilio, CustomConfiguration when custom. "
    "Replaced as a whole.",
}
BY_NAME_CREDENTIALS = {
    "type": "object",
    "description": "TwilioCredentials ({auth_token}) when name is twilio, {} when custom. "
    "Stored encrypted, never returned.",
}


def shapes_by_name(*, create: bool) -> list[dict]:
    """The configuration and credentials each ``name`` takes, for the document (the view checks
    them). Twilio needs a From or a Messaging Service; a custom provider takes either shape, as
    Auth0's does. A PATCH without ``name`` is checked against the stored provider's."""
    sender = [
        {"required": [field], "properties": {field: {"pattern": NOT_BLANK}}}
        for field in ("default_from", "mssid")
    ]
    twilio = {
        "properties": {
            "configuration": {"allOf": [ref("TwilioConfiguration"), {"anyOf": sender}]},
            "credentials": ref("TwilioCredentials"),
        }
    }
    custom = {
        "properties": {
            "configuration": ref("PhoneProviderConfiguration"),
            "credentials": ref("PhoneProviderCredentials"),
        }
    }
    for shape in (twilio, custom):
        if create:
            shape["required"] = ["configuration"]
    return [
        {"if": {"required": ["name"], "properties": {"name": {"const": name}}}, "then": shape}
        for name, shape in (("twilio", twilio), ("custom", custom))
    ]


RUNTIME = {
    "type": "string",
    "pattern": f"^({'|'.join(action_rules.RUNTIMES)})?$",
    "description": "Left out or empty, node22.",
}
