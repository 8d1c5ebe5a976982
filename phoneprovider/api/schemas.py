"""JSON Schemas of the API's requests and responses, in Auth0's wire shapes.

The OpenAPI document publishes them and ``validation.check`` enforces the request ones.
"""

from phoneprovider.api.schema_parts import (  # noqa: F401 - also imported from here
    ALPHANUMERIC_SENDER,
    ANY_OBJECT,
    BOOLEAN,
    BY_NAME_CONFIGURATION,
    BY_NAME_CREDENTIALS,
    DATE_TIME,
    DELIVERY_METHOD,
    E164_PATTERN,
    MESSAGE_TYPES,
    NOT_BLANK,
    PHONE_NUMBER,
    RUNTIME,
    STRING,
    TRIGGER_IDS,
    array,
    obj,
    ref,
    shapes_by_name,
)
from phoneprovider.api.schemas_routing import ROUTING_COMPONENTS
from phoneprovider.api.schemas_sending import SENDING_COMPONENTS
from phoneprovider.services import actions as action_rules

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
            "sid": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NOT_BLANK},
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
        allOf=shapes_by_name(create=True),
    ),
    "UpdatePhoneProviderRequest": obj(
        {
            "name": ref("PhoneProviderName"),
            "disabled": BOOLEAN,
            "configuration": BY_NAME_CONFIGURATION,
            "credentials": BY_NAME_CREDENTIALS,
        },
        minProperties=1,
        allOf=shapes_by_name(create=False),
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
            "version": {"type": "integer", "const": 1},
            "provider": ANY_OBJECT,
            "templates": ANY_OBJECT,
            "action": ANY_OBJECT,
            "send_phone_message": ANY_OBJECT,
            "limits": ANY_OBJECT,
            "phone_connections": ANY_OBJECT,
            "phone_routes": array(ANY_OBJECT),
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
        {
            "id": {"type": "string", "enum": TRIGGER_IDS},
            "version": {
                "type": "string",
                "description": "v1 for custom-phone-provider, v2 for "
                "send-phone-message; left out, the trigger's version.",
            },
        },
        required=("id",),
        allOf=[
            {
                "if": {"properties": {"id": {"const": trigger}}},
                "then": {"properties": {"version": {"const": version}}},
            }
            for trigger, version in action_rules.TRIGGER_VERSIONS.items()
        ],
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
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": action_rules.NPM_NAME_MAX,
                "pattern": action_rules.NPM_NAME.pattern,
                "not": {"pattern": "(^|/)(node_modules|favicon\\.ico)$"},
                "description": "An npm package name; each name once per Action.",
            },
            "version": {"type": "string", "pattern": action_rules.NPM_VERSION.pattern},
            "registry_url": STRING,
        },
        required=("name",),
    ),
    "SecretRequest": obj(
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": action_rules.MAX_SECRET_NAME,
                "pattern": action_rules.SECRET_NAME.pattern,
                "not": {"enum": sorted(action_rules.RESERVED_SECRET_NAMES)},
                "description": "Letters, digits and underscores; each name once per Action.",
            },
            "value": {
                "type": "string",
                "maxLength": action_rules.MAX_SECRET_VALUE,
                "description": "Required for a secret the Action does not have yet.",
            },
        },
        required=("name",),
        additional=True,
    ),
    "SecretResponse": obj({"name": STRING, "updated_at": DATE_TIME}),
    "CreateActionRequest": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK},
            "supported_triggers": array(ref("ActionTriggerRef"), minItems=1, maxItems=1),
            "code": {
                "type": "string",
                "maxLength": 100 * 1024,
                "description": "With deploy: true, it must parse and export the trigger's "
                "async handler.",
            },
            "runtime": RUNTIME,
            "dependencies": array(ref("Dependency")),
            "secrets": array(ref("NewSecretRequest"), maxItems=30),
            "modules": array(ANY_OBJECT, maxItems=0),
            "deploy": BOOLEAN,
        },
        required=("name", "supported_triggers"),
    ),
    "UpdateActionRequest": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK},
            "supported_triggers": array(ref("ActionTriggerRef"), minItems=1, maxItems=1),
            "code": {"type": "string", "maxLength": 100 * 1024},
            "runtime": RUNTIME,
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
    **SENDING_COMPONENTS,
    **ROUTING_COMPONENTS,
}
# A new Action has no secrets yet: each one listed needs its value.
COMPONENTS["NewSecretRequest"] = {**COMPONENTS["SecretRequest"], "required": ["name", "value"]}

# Query strings: each parameter with its schema (values arrive as text and are coerced).
QUERY_PAGING = {
    "page": {"type": "integer", "minimum": 0, "maximum": 100_000},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
}
