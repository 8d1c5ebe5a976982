"""JSON Schemas of the sending API (ours; Auth0 has no equivalent): messages, batches and the
erasure of a number. ``schemas.COMPONENTS`` includes them."""

from phoneprovider.api.schema_parts import (
    ALPHANUMERIC_SENDER,
    ANY_OBJECT,
    DATE_TIME,
    DELIVERY_METHOD,
    MESSAGE_TYPES,
    PHONE_NUMBER,
    STRING,
    array,
    obj,
    ref,
)

SENDING_COMPONENTS: dict[str, dict] = {
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
            "connection": {
                "type": ["string", "null"],
                "description": "The routing connection this attempt used (its name then); null "
                "for the phone provider.",
            },
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
            "route": {
                "type": ["string", "null"],
                "description": "The routing rule that took the message (its name then); null "
                "for the phone provider (no rule matched) or before the first attempt.",
            },
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
