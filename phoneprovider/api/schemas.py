"""JSON Schemas of the API's requests and responses, in Auth0's wire shapes.

The OpenAPI document publishes them and ``validation.check`` enforces the request ones.
"""

from phoneprovider.models import MessageType

MESSAGE_TYPES = list(MessageType.values)
TRIGGER_IDS = ["custom-phone-provider", "send-phone-message"]


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
# An alphanumeric sender ID: up to 11 letters, digits and spaces, at least one letter.
ALPHANUMERIC_SENDER = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*$",
    "minLength": 1,
    "maxLength": 11,
}

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

_PAGING = {
    "total": {"type": "integer"},
    "page": {"type": "integer"},
    "per_page": {"type": "integer"},
}

COMPONENTS: dict[str, dict] = {
    "Error": obj(
        {
            "statusCode": {"type": "integer"},
            "error": STRING,
            "message": STRING,
            "errorCode": STRING,
        },
        required=("statusCode", "error", "message"),
    ),
    # --- Phone providers -----------------------------------------------------------------------
    "PhoneProviderName": {"type": "string", "enum": ["twilio", "custom"]},
    "TwilioConfiguration": obj(
        {
            "sid": {"type": "string", "minLength": 1, "maxLength": 64},
            "default_from": {"type": "string", "maxLength": 32},
            "mssid": {"type": "string", "maxLength": 64},
            "delivery_methods": array(DELIVERY_METHOD, minItems=1),
        },
        required=("sid", "delivery_methods"),
    ),
    "CustomConfiguration": obj(
        {"delivery_methods": array(DELIVERY_METHOD, minItems=1)}, required=("delivery_methods",)
    ),
    "PhoneProviderConfiguration": {
        "anyOf": [ref("TwilioConfiguration"), ref("CustomConfiguration")]
    },
    "TwilioCredentials": obj(
        {"auth_token": {"type": "string", "minLength": 1, "maxLength": 255}},
        required=("auth_token",),
    ),
    "CustomCredentials": obj({}),
    "PhoneProviderCredentials": {"anyOf": [ref("TwilioCredentials"), ref("CustomCredentials")]},
    "CreatePhoneProviderRequest": obj(
        {
            "name": ref("PhoneProviderName"),
            "disabled": BOOLEAN,
            "configuration": BY_NAME_CONFIGURATION,
            "credentials": BY_NAME_CREDENTIALS,
        },
        required=("name", "credentials"),
        additional=True,
    ),
    "UpdatePhoneProviderRequest": obj(
        {
            "name": ref("PhoneProviderName"),
            "disabled": BOOLEAN,
            "configuration": BY_NAME_CONFIGURATION,
            "credentials": BY_NAME_CREDENTIALS,
        },
        minProperties=1,
    ),
    "PhoneProvider": obj(
        {
            "id": STRING,
            "tenant": STRING,
            "name": ref("PhoneProviderName"),
            "channel": {"type": "string", "enum": ["phone"]},
            "disabled": BOOLEAN,
            "configuration": ref("PhoneProviderConfiguration"),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
        required=("id", "tenant", "name", "channel", "disabled", "configuration"),
    ),
    "PhoneProviderList": obj({"providers": array(ref("PhoneProvider"))}, required=("providers",)),
    "SendTestRequest": obj(
        {
            "to": {"type": "string", "minLength": 1, "maxLength": 16},
            "delivery_method": DELIVERY_METHOD,
        },
        required=("to",),
    ),
    "SendTestResponse": obj({"code": {"type": "number"}, "message": STRING}),
    # --- Configuration as code (ours; Auth0 has no equivalent) ----------------------------------
    "PhoneConfig": obj(
        {
            "version": {"type": "integer"},
            "provider": ANY_OBJECT,
            "templates": ANY_OBJECT,
            "action": ANY_OBJECT,
            "send_phone_message": ANY_OBJECT,
            "limits": ANY_OBJECT,
        },
        description="The document export_config prints. Secret values are ${ENV_NAME} "
        "references, resolved from the server's environment when applied.",
    ),
    "PhoneConfigApplyResult": obj(
        {"changes": array(STRING), "dry_run": BOOLEAN}, required=("changes", "dry_run")
    ),
    # --- Phone templates -----------------------------------------------------------------------
    "PhoneTemplateBody": obj(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 20000},
            "voice": {"type": "string", "minLength": 1, "maxLength": 20000},
        },
        minProperties=1,
    ),
    "PhoneTemplateContent": obj(
        {
            "syntax": {"type": "string", "enum": ["liquid"]},
            "from": {"type": "string", "minLength": 1, "maxLength": 16},
            "body": ref("PhoneTemplateBody"),
        },
        minProperties=1,
    ),
    "PartialPhoneTemplateContent": obj(
        {
            "from": {"type": "string", "minLength": 1, "maxLength": 16},
            "body": ref("PhoneTemplateBody"),
        },
        minProperties=1,
    ),
    "CreatePhoneTemplateRequest": obj(
        {
            "type": {"type": "string", "enum": MESSAGE_TYPES},
            "disabled": BOOLEAN,
            "content": ref("PhoneTemplateContent"),
        },
        required=("type",),
    ),
    # Unlike the provider's, Auth0's template patch has no minProperties: {} changes nothing.
    "UpdatePhoneTemplateRequest": obj(
        {"content": ref("PartialPhoneTemplateContent"), "disabled": BOOLEAN}
    ),
    # Auth0's reset body is the empty schema: whatever is sent is ignored.
    "ResetPhoneTemplateRequest": obj({}, additional=True),
    "PhoneTemplate": obj(
        {
            "id": STRING,
            "channel": {"type": "string", "enum": ["phone"]},
            "customizable": BOOLEAN,
            "tenant": STRING,
            "type": {"type": "string", "enum": MESSAGE_TYPES},
            "disabled": BOOLEAN,
            "content": ref("PhoneTemplateContent"),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
        required=("content", "disabled", "type"),
    ),
    "PhoneTemplateList": obj({"templates": array(ref("PhoneTemplate"))}, required=("templates",)),
    "TemplateTryRequest": obj(
        {
            "to": {"type": "string", "minLength": 1, "maxLength": 16},
            "delivery_method": DELIVERY_METHOD,
        },
        required=("to",),
        additional=True,
    ),
    "TemplateTryResponse": obj({"message": STRING}, required=("message",), additional=True),
    # --- Actions -------------------------------------------------------------------------------
    "ActionTriggerRef": obj(
        {"id": {"type": "string", "enum": TRIGGER_IDS}, "version": STRING}, required=("id",)
    ),
    "ActionTrigger": obj(
        {
            "id": {"type": "string", "enum": TRIGGER_IDS},
            "version": STRING,
            "status": STRING,
            "runtimes": array(STRING),
            "default_runtime": STRING,
            "compatible_triggers": array(ANY_OBJECT),
            "binding_policy": {"type": "string", "enum": ["trigger-bound", "entity-bound"]},
        },
        required=("id",),
    ),
    "Dependency": obj(
        {"name": {"type": "string", "minLength": 1}, "version": STRING, "registry_url": STRING},
        required=("name",),
    ),
    "SecretRequest": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "value": {"type": "string", "maxLength": 4096},
        },
        required=("name",),
        additional=True,
    ),
    "SecretResponse": obj({"name": STRING, "updated_at": DATE_TIME}),
    "CreateActionRequest": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "supported_triggers": array(ref("ActionTriggerRef"), minItems=1, maxItems=1),
            "code": {"type": "string", "maxLength": 100 * 1024},
            "runtime": STRING,
            "dependencies": array(ref("Dependency")),
            "secrets": array(ref("SecretRequest"), maxItems=30),
            "modules": array(ANY_OBJECT, maxItems=0),
            "deploy": BOOLEAN,
        },
        required=("name", "supported_triggers"),
    ),
    "UpdateActionRequest": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "supported_triggers": array(ref("ActionTriggerRef"), minItems=1, maxItems=1),
            "code": {"type": "string", "maxLength": 100 * 1024},
            "runtime": STRING,
            "dependencies": array(ref("Dependency")),
            "secrets": array(ref("SecretRequest"), maxItems=30),
            "modules": array(ANY_OBJECT, maxItems=0),
        },
        minProperties=1,
    ),
    "ActionVersion": obj(
        {
            "id": STRING,
            "action_id": STRING,
            "code": STRING,
            "dependencies": array(ref("Dependency")),
            "deployed": BOOLEAN,
            "runtime": STRING,
            "secrets": array(ref("SecretResponse")),
            "status": STRING,
            "number": {"type": "number"},
            "errors": array(ANY_OBJECT),
            "action": ANY_OBJECT,
            "built_at": DATE_TIME,
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "supported_triggers": array(ref("ActionTrigger")),
        }
    ),
    "Action": obj(
        {
            "id": STRING,
            "name": STRING,
            "supported_triggers": array(ref("ActionTrigger")),
            "all_changes_deployed": BOOLEAN,
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "code": STRING,
            "dependencies": array(ref("Dependency")),
            "runtime": STRING,
            "secrets": array(ref("SecretResponse")),
            "deployed_version": ref("ActionVersion"),
            "current_version": obj(
                {
                    "id": STRING,
                    "code": STRING,
                    "runtime": STRING,
                    "status": STRING,
                    "number": {"type": "number"},
                    "build_time": DATE_TIME,
                    "created_at": DATE_TIME,
                    "updated_at": DATE_TIME,
                }
            ),
            "status": {
                "type": "string",
                "enum": ["pending", "building", "packaged", "built", "retrying", "failed"],
            },
            "built_at": DATE_TIME,
        }
    ),
    "ActionList": obj({**_PAGING, "actions": array(ref("Action"))}),
    "ActionVersionList": obj({**_PAGING, "versions": array(ref("ActionVersion"))}),
    "DeployVersionRequest": obj({"update_draft": BOOLEAN}),
    "TestActionRequest": obj({"payload": ANY_OBJECT}, required=("payload",)),
    "TestActionResponse": obj(
        {
            "payload": obj(
                {
                    "error": ANY_OBJECT,
                    "logs": STRING,
                    "stats": ANY_OBJECT,
                    "status": STRING,
                    "reason": STRING,
                },
                additional=True,
            )
        }
    ),
    "TriggerList": obj({"triggers": array(ref("ActionTrigger"))}),
    "ActionBinding": obj(
        {
            "id": STRING,
            "trigger_id": STRING,
            "display_name": STRING,
            "action": ref("Action"),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        }
    ),
    "ActionBindingList": obj({**_PAGING, "bindings": array(ref("ActionBinding"))}),
    "UpdateBindingsRequest": obj(
        {
            "bindings": array(
                obj(
                    {
                        "ref": obj(
                            {
                                "type": {
                                    "type": "string",
                                    "enum": ["binding_id", "action_id", "action_name"],
                                },
                                "value": STRING,
                            },
                            required=("type", "value"),
                            additional=True,
                        ),
                        "display_name": STRING,
                        "secrets": array(ref("SecretRequest")),
                    },
                    required=("ref",),
                )
            )
        }
    ),
    "UpdateBindingsResponse": obj({"bindings": array(ref("ActionBinding"))}),
    "Execution": obj(
        {
            "id": STRING,
            "trigger_id": STRING,
            "status": {"type": "string", "enum": ["pending", "final"]},
            "results": array(
                obj(
                    {
                        "action_name": STRING,
                        "error": ANY_OBJECT,
                        "started_at": DATE_TIME,
                        "ended_at": DATE_TIME,
                    }
                )
            ),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        }
    ),
    # --- Sending API (ours; Auth0 has no equivalent) -------------------------------------------
    "SendMessageRequest": obj(
        {
            "to": {**PHONE_NUMBER, "maxLength": 32},
            "message_type": {"type": "string", "enum": MESSAGE_TYPES},
            "delivery_method": DELIVERY_METHOD,
            "code": {"type": "string", "maxLength": 64},
            "locale": {"type": "string", "maxLength": 16},
            "from": {
                "anyOf": [PHONE_NUMBER, ALPHANUMERIC_SENDER],
                "description": "The sender: an E.164 number or an alphanumeric sender ID.",
            },
            "user": ANY_OBJECT,
            "client": ANY_OBJECT,
            "organization": ANY_OBJECT,
            "request": ANY_OBJECT,
            "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        required=("to",),
    ),
    "SendMessageBatchRequest": obj(
        {"messages": array(ref("SendMessageRequest"), minItems=1, maxItems=1000)},
        required=("messages",),
    ),
    "MessageBatchResult": obj(
        {
            "messages": array(
                {
                    "oneOf": [ref("Message"), obj({"error": ref("Error")}, required=("error",))],
                    "description": "The message (new, or the earlier one with the same "
                    "idempotency_key), or the error that refused this item.",
                }
            )
        }
    ),
    "MessageAttempt": obj(
        {
            "number": {"type": "integer"},
            "provider": STRING,
            "outcome": STRING,
            "error": STRING,
            "provider_message_id": STRING,
            "execution_id": {"type": ["string", "null"]},
            "started_at": DATE_TIME,
            "ended_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "Message": obj(
        {
            "id": STRING,
            "status": {
                "type": "string",
                "enum": [
                    "queued",
                    "sending",
                    "sent",
                    "delivered",
                    "undelivered",
                    "failed",
                    "dropped",
                    "blocked",
                ],
            },
            "reason": STRING,
            "to": STRING,
            "message_type": STRING,
            "delivery_method": STRING,
            "provider": STRING,
            "provider_message_id": STRING,
            "limit_rule": {"type": ["string", "null"]},
            "failed_over": {"type": "boolean"},
            "idempotency_key": {"type": ["string", "null"]},
            "attempts": array(ref("MessageAttempt")),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "sent_at": {"type": ["string", "null"], "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "NumberErasure": obj(
        {
            "number": {"type": "string", "description": "The number, masked: +1415555••00."},
            "messages_removed": {"type": "integer"},
            "attempts_removed": {"type": "integer"},
            "executions_removed": {"type": "integer"},
            "audit_entries_masked": {
                "type": "integer",
                "description": "Audit entries that mentioned the number and now name it masked.",
            },
        },
        required=(
            "number",
            "messages_removed",
            "attempts_removed",
            "executions_removed",
            "audit_entries_masked",
        ),
    ),
}

# Query strings: each parameter with its schema (values arrive as text and are coerced).
QUERY_PAGING = {
    "page": {"type": "integer", "minimum": 0, "maximum": 100_000},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
}
