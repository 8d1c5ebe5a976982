"""The sending API (our extension): messages, and erasure by number."""

from phoneprovider import selectors
from phoneprovider.api import serializers as out
from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.errors import path_error
from phoneprovider.api.schema_parts import E164_SHAPED
from phoneprovider.errors import ApplicationError, ValidationError
from phoneprovider.models import MessageType
from phoneprovider.services import erasure as erasure_services
from phoneprovider.services import messages as message_services

MESSAGES = "Phone messages"

CONTEXT_FIELDS = ("user", "client", "organization", "request")
IDEMPOTENCY_KEY_MAX = 255  # PhoneMessage.idempotency_key


class MessagesView(ApiView):
    @operation(
        "create:phone_messages",
        "Send a message",
        tag=MESSAGES,
        body="SendMessageRequest",
        status=202,
        response="Message",
        description="Renders the template, stores the message and queues it for delivery. The "
        "same idempotency_key (or Idempotency-Key header) again returns the same message and "
        "sends nothing more.",
    )
    def post(self, request, *, body, query):
        header = request.headers.get("Idempotency-Key")
        if header is not None and len(header) > IDEMPOTENCY_KEY_MAX:
            raise ValidationError(
                f"Idempotency-Key header is too long ({len(header)} chars), "
                f"maximum {IDEMPOTENCY_KEY_MAX}.",
                error_code="invalid_headers",
            )
        key = body.get("idempotency_key") or header or None
        message = message_services.message_queue(**_send_arguments(body, key), config=self.config)
        return respond(out.message_json(message), 202)


def _send_arguments(body: dict, idempotency_key: str | None) -> dict:
    return {
        "to": body["to"],
        "message_type": body.get("message_type", MessageType.OTP_VERIFY),
        "delivery_method": body.get("delivery_method", "text"),
        "code": body.get("code", ""),
        "locale": body.get("locale", ""),
        "sender": body.get("from", ""),
        "context": {k: body[k] for k in CONTEXT_FIELDS if k in body},
        "idempotency_key": idempotency_key,
    }


class MessageBatchView(ApiView):
    @operation(
        "create:phone_messages",
        "Send up to 1,000 messages",
        tag=MESSAGES,
        body="SendMessageBatchRequest",
        status=202,
        response="MessageBatchResult",
        description="Each item is a SendMessageRequest, with its own idempotency_key, and gets "
        "its own result in the same position: the queued (or blocked) message, the earlier "
        'message with the same idempotency_key, or {"error": …} when it is refused (a bad '
        "number, a disabled template). Refused items do not stop the others; a body that does "
        "not match the schema is refused whole (400).",
    )
    def post(self, request, *, body, query):
        results = message_services.message_queue_batch(
            [_send_arguments(item, item.get("idempotency_key")) for item in body["messages"]],
            config=self.config,
        )
        return respond(
            {
                "messages": [
                    {"error": result.as_body()}
                    if isinstance(result, ApplicationError)
                    else out.message_json(result, with_attempts=False)
                    for result in results
                ]
            },
            202,
        )


class MessageView(ApiView):
    @operation(
        "read:phone_messages",
        "Get a message's status and attempts",
        tag=MESSAGES,
        response="Message",
    )
    def get(self, request, *, body, query, id):
        return respond(out.message_json(selectors.message_get(id)))


class NumberMessagesView(ApiView):
    @operation(
        "delete:phone_messages",
        "Erase everything kept about a phone number",
        tag=MESSAGES,
        response="NumberErasure",
        path={"e164": E164_SHAPED},
        description="Deletes every message sent to the number (or mentioning it) with its "
        "attempts and executions, test executions that mention it, and its abuse-limit counts; "
        "audit entries that mention it keep the number masked. Writes one audit entry naming "
        "the number masked (+1415555••00) and the counts. The number is E.164 "
        "(URL-encode + as %2B if your client turns + into a space).",
    )
    def delete(self, request, *, body, query, e164):
        try:
            result = erasure_services.number_erase(e164, actor=self.actor)
        except ValidationError as exc:
            raise path_error(exc.message, "e164") from None
        return respond(result.as_dict())
