"""Management API v2 endpoints: parse the request, call one service, render Auth0's JSON."""

from django.conf import settings

from phoneprovider import selectors
from phoneprovider.api import serializers as out
from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.errors import path_error, payload_error
from phoneprovider.api.schemas import COMPONENTS, QUERY_PAGING, TRIGGER_IDS, ref
from phoneprovider.api.validation import check
from phoneprovider.errors import ApplicationError, NotFound, ValidationError
from phoneprovider.models import Action, MessageType, PhoneProvider
from phoneprovider.services import actions as action_services
from phoneprovider.services import config as config_services
from phoneprovider.services import erasure as erasure_services
from phoneprovider.services import executions as execution_services
from phoneprovider.services import messages as message_services
from phoneprovider.services import providers as provider_services
from phoneprovider.services import templates as template_services

PROVIDERS = "Phone providers"
TEMPLATES = "Phone templates"
ACTIONS = "Actions"
MESSAGES = "Phone messages"
CONFIG = "Configuration as code"

# The code a test send carries, so templates that print {{ code }} render something real.
TEST_CODE = "123456"
BOOLEAN_QUERY = {"type": "boolean"}


def _paged(items, query: dict, key: str, render) -> dict:
    page = query.get("page", 0)
    per_page = query.get("per_page", 20)
    total = len(items) if isinstance(items, list) else items.count()
    chunk = items[page * per_page : (page + 1) * per_page]
    return {"total": total, "page": page, "per_page": per_page, key: [render(i) for i in chunk]}


# --- Phone providers ----------------------------------------------------------------------------


def _provider_fields(name: str, body: dict) -> dict:
    """Auth0's provider body → the service's fields; ``configuration`` is replaced as a whole."""
    fields: dict = {}
    for key in ("name", "disabled"):
        if key in body:
            fields[key] = body[key]
    twilio = name == PhoneProvider.Name.TWILIO
    if "configuration" in body:
        config = check(
            body["configuration"],
            # As in Auth0, a custom provider takes either shape: tools switching to custom
            # still send the Twilio fields, and Auth0 keeps them.
            ref("TwilioConfiguration" if twilio else "PhoneProviderConfiguration"),
            COMPONENTS,
            path="configuration",
        )
        fields["delivery_methods"] = config["delivery_methods"]
        fields["twilio_sid"] = config.get("sid", "")
        fields["twilio_default_from"] = config.get("default_from", "")
        fields["twilio_mssid"] = config.get("mssid", "")
    if "credentials" in body:
        credentials = check(
            body["credentials"],
            ref("TwilioCredentials" if twilio else "PhoneProviderCredentials"),
            COMPONENTS,
            path="credentials",
        )
        if credentials.get("auth_token"):
            fields["twilio_auth_token"] = credentials["auth_token"]
    return fields


class ProvidersView(ApiView):
    @operation(
        "read:phone_providers",
        "List the phone provider",
        tag=PROVIDERS,
        query={"disabled": BOOLEAN_QUERY},
        response="PhoneProviderList",
    )
    def get(self, request, *, body, query):
        providers = selectors.provider_list(disabled=query.get("disabled"))
        return respond({"providers": [out.provider_json(p) for p in providers]})

    @operation(
        "create:phone_providers",
        "Configure the phone provider",
        tag=PROVIDERS,
        body="CreatePhoneProviderRequest",
        status=201,
        response="PhoneProvider",
        description="One provider per installation: a second one answers 409.",
    )
    def post(self, request, *, body, query):
        provider = provider_services.provider_create(
            actor=self.actor, **_provider_fields(body["name"], body)
        )
        return respond(out.provider_json(provider), 201)


class ProviderView(ApiView):
    @operation(
        "read:phone_providers", "Get the phone provider", tag=PROVIDERS, response="PhoneProvider"
    )
    def get(self, request, *, body, query, id):
        return respond(out.provider_json(selectors.provider_get_by_public_id(id)))

    @operation(
        "update:phone_providers",
        "Update the phone provider",
        tag=PROVIDERS,
        body="UpdatePhoneProviderRequest",
        response="PhoneProvider",
        description="Any subset of fields; configuration is replaced as a whole.",
    )
    def patch(self, request, *, body, query, id):
        provider = selectors.provider_get_by_public_id(id)
        fields = _provider_fields(body.get("name", provider.name), body)
        provider = provider_services.provider_update(provider, actor=self.actor, **fields)
        return respond(out.provider_json(provider))

    @operation("delete:phone_providers", "Delete the phone provider", tag=PROVIDERS, status=204)
    def delete(self, request, *, body, query, id):
        provider = selectors.provider_get_by_public_id(id)
        provider_services.provider_delete(provider, actor=self.actor)
        return respond(None, 204)


class ProviderTryView(ApiView):
    @operation(
        "create:phone_providers",
        "Send a test message through the phone provider",
        tag=PROVIDERS,
        body="SendTestRequest",
        status=202,
        response="SendTestResponse",
        description="Queues a real send (an otp_verify message with code 123456) for a worker.",
    )
    def post(self, request, *, body, query, id):
        provider = selectors.provider_get_by_public_id(id)
        methods = provider.delivery_methods or ["text"]
        message = message_services.message_queue(
            to=body["to"],
            message_type=MessageType.OTP_VERIFY,
            delivery_method=body.get("delivery_method") or methods[0],
            code=TEST_CODE,
            is_test=True,
        )
        return respond(
            {"code": 202, "message": f"Test message {message.public_id} queued for delivery."},
            202,
        )


# --- Phone templates ----------------------------------------------------------------------------


def _template_changes(body: dict) -> dict:
    content = body.get("content") or {}
    text_body = content.get("body", {}).get("text")
    voice_body = content.get("body", {}).get("voice")
    fields = {"text_body": text_body, "voice_body": voice_body}
    if "from" in content:
        fields["from_number"] = content["from"]
    if "disabled" in body:
        fields["disabled"] = body["disabled"]
    return fields


class TemplatesView(ApiView):
    @operation(
        "read:phone_templates",
        "List phone templates",
        tag=TEMPLATES,
        query={"disabled": BOOLEAN_QUERY},
        response="PhoneTemplateList",
        description="Types not customised yet appear with their default content and no id.",
    )
    def get(self, request, *, body, query):
        custom = {t.type: t for t in selectors.template_list()}
        templates = [
            out.template_json(custom[t]) if t in custom else out.default_template_json(t)
            for t in MessageType.values
        ]
        if "disabled" in query:
            templates = [t for t in templates if t["disabled"] == query["disabled"]]
        return respond({"templates": templates})

    @operation(
        "create:phone_templates",
        "Customise a phone template",
        tag=TEMPLATES,
        body="CreatePhoneTemplateRequest",
        status=201,
        response="PhoneTemplate",
        description="One template per type: a second one answers 409.",
    )
    def post(self, request, *, body, query):
        template = template_services.template_create(
            actor=self.actor, type=body["type"], **_template_changes(body)
        )
        return respond(out.template_json(template), 201)


class TemplateView(ApiView):
    @operation(
        "read:phone_templates", "Get a phone template", tag=TEMPLATES, response="PhoneTemplate"
    )
    def get(self, request, *, body, query, id):
        return respond(out.template_json(selectors.template_get_by_public_id(id)))

    @operation(
        "update:phone_templates",
        "Update a phone template",
        tag=TEMPLATES,
        body="UpdatePhoneTemplateRequest",
        response="PhoneTemplate",
    )
    def patch(self, request, *, body, query, id):
        template = selectors.template_get_by_public_id(id)
        template = template_services.template_update(
            template, actor=self.actor, **_template_changes(body)
        )
        return respond(out.template_json(template))

    @operation("delete:phone_templates", "Delete a phone template", tag=TEMPLATES, status=204)
    def delete(self, request, *, body, query, id):
        template = selectors.template_get_by_public_id(id)
        template_services.template_delete(template, actor=self.actor)
        return respond(None, 204)


class TemplateResetView(ApiView):
    @operation(
        "update:phone_templates",
        "Reset a phone template to the default bodies",
        tag=TEMPLATES,
        body="ResetPhoneTemplateRequest",
        response="PhoneTemplate",
        description="The default text and voice bodies come back; from and disabled are kept.",
    )
    def patch(self, request, *, body, query, id):
        template = selectors.template_get_by_public_id(id)
        template = template_services.template_reset(template, actor=self.actor)
        return respond(out.template_json(template))


class TemplateTryView(ApiView):
    @operation(
        "create:phone_templates",
        "Send a test message with a phone template",
        tag=TEMPLATES,
        body="TemplateTryRequest",
        status=202,
        response="TemplateTryResponse",
    )
    def post(self, request, *, body, query, id):
        template = selectors.template_get_by_public_id(id)
        message = message_services.message_queue(
            to=body["to"],
            message_type=template.type,
            delivery_method=body.get("delivery_method") or "text",
            code=TEST_CODE,
            is_test=True,
        )
        return respond({"message": f"Test message {message.public_id} queued for delivery."}, 202)


# --- Actions ------------------------------------------------------------------------------------


def _trigger_id(supported_triggers: list) -> str:
    trigger = supported_triggers[0]
    expected = action_services.TRIGGER_VERSIONS.get(trigger["id"])
    if expected is None:
        raise ValidationError(
            f"Unsupported trigger {trigger['id']!r}; use custom-phone-provider.",
            field="supported_triggers",
        )
    if trigger.get("version", expected) != expected:
        raise payload_error(
            f"Trigger {trigger['id']} has version {expected}", "supported_triggers[0].version"
        )
    return trigger["id"]


def _secret_changes(secrets: list, existing: set[str]) -> tuple[dict[str, str], list[str]]:
    """Auth0's secrets list is the whole set: listed ones stay (a value replaces), others go."""
    action_services.secret_names_unique(s["name"] for s in secrets)
    upserts: dict[str, str] = {}
    for i, secret in enumerate(secrets):
        if "value" in secret:
            upserts[secret["name"]] = secret["value"]
        elif secret["name"] not in existing:
            raise payload_error("Missing required property: value", f"secrets[{i}]")
    listed = {s["name"] for s in secrets}
    return upserts, sorted(existing - listed)


class ActionsView(ApiView):
    @operation(
        "read:actions",
        "List actions",
        tag=ACTIONS,
        query={
            "triggerId": {"type": "string", "enum": TRIGGER_IDS},
            "actionName": {"type": "string"},
            "deployed": BOOLEAN_QUERY,
            "installed": BOOLEAN_QUERY,
            **QUERY_PAGING,
        },
        response="ActionList",
    )
    def get(self, request, *, body, query):
        actions = selectors.action_list(
            trigger_id=query.get("triggerId"),
            name=query.get("actionName"),
            deployed=query.get("deployed"),
        )
        if query.get("installed"):  # marketplace integrations: we have none
            actions = actions.none()
        return respond(_paged(actions, query, "actions", out.action_json))

    @operation(
        "create:actions",
        "Create an action",
        tag=ACTIONS,
        body="CreateActionRequest",
        status=201,
        response="Action",
        description="At most one Action for custom-phone-provider (409). deploy: true deploys "
        "it at once; code that does not validate then creates nothing.",
    )
    def post(self, request, *, body, query):
        upserts, _ = _secret_changes(body.get("secrets", []), set())
        fields = {
            "actor": self.actor,
            "name": body["name"],
            "trigger_id": _trigger_id(body["supported_triggers"]),
            "code": body.get("code", ""),
            "runtime": body.get("runtime") or "node22",
            "dependencies": body.get("dependencies", []),
            "secrets": upserts,
        }
        if body.get("deploy"):
            action = action_services.action_create_deployed(**fields)
        else:
            action = action_services.action_create(**fields)
        return respond(out.action_json(action), 201)


class ActionView(ApiView):
    @operation("read:actions", "Get an action", tag=ACTIONS, response="Action")
    def get(self, request, *, body, query, id):
        return respond(out.action_json(selectors.action_get(id)))

    @operation(
        "update:actions",
        "Update an action's draft",
        tag=ACTIONS,
        body="UpdateActionRequest",
        response="Action",
        description="Changes the draft only; deploy to run it. A secrets list is the whole set: "
        "listed secrets without a value keep theirs, unlisted ones are removed.",
    )
    def patch(self, request, *, body, query, id):
        action = selectors.action_get(id)
        if "supported_triggers" in body and _trigger_id(body["supported_triggers"]) != (
            action.trigger_id
        ):
            raise ValidationError(
                "An Action's trigger cannot be changed; create a new Action instead.",
                field="supported_triggers",
            )
        upserts, deletes = {}, []
        if "secrets" in body:
            existing = set(action.secrets.values_list("name", flat=True))
            upserts, deletes = _secret_changes(body["secrets"], existing)
        action = action_services.action_update(
            action,
            actor=self.actor,
            name=body.get("name"),
            code=body.get("code"),
            runtime=body.get("runtime"),
            dependencies=body.get("dependencies"),
            secret_upserts=upserts,
            secret_deletes=deletes,
        )
        return respond(out.action_json(action))

    @operation(
        "delete:actions",
        "Delete an action",
        tag=ACTIONS,
        query={"force": BOOLEAN_QUERY},
        status=204,
        description="An Action the custom provider uses needs force=true (which also disables "
        "the provider).",
    )
    def delete(self, request, *, body, query, id):
        action = selectors.action_get(id)
        action_services.action_delete(action, actor=self.actor, force=bool(query.get("force")))
        return respond(None, 204)


class ActionDeployView(ApiView):
    @operation(
        "create:actions",
        "Deploy an action's draft as a new version",
        tag=ACTIONS,
        response="ActionVersion",
        description="Auth0 documents 202; its tenants, and we, answer 200 with the new version. "
        "Code that does not validate answers 400 with line and column and deploys nothing.",
    )
    def post(self, request, *, body, query, id):
        version = action_services.action_deploy(selectors.action_get(id), actor=self.actor)
        return respond(out.version_json(version))


class ActionTestView(ApiView):
    @operation(
        "create:actions",
        "Test an action's draft with an event",
        tag=ACTIONS,
        body="TestActionRequest",
        response="TestActionResponse",
        description="Body {payload: {event: {...}}} (a bare event as payload is accepted too). "
        "The code runs in a worker; the request waits for the result.",
    )
    def post(self, request, *, body, query, id):
        action = selectors.action_get(id)
        payload = body["payload"]
        event = payload["event"] if isinstance(payload.get("event"), dict) else payload
        execution = execution_services.execution_test_start(action=action, event=event)
        execution = execution_services.execution_wait(
            execution, timeout=settings.ACTIONS_EXECUTION_TIMEOUT + 10
        )
        return respond(out.test_result_json(execution))


class ActionVersionsView(ApiView):
    @operation(
        "read:actions",
        "List an action's versions",
        tag=ACTIONS,
        query=QUERY_PAGING,
        response="ActionVersionList",
    )
    def get(self, request, *, body, query, actionId):
        action = selectors.action_get(actionId)
        return respond(
            _paged(
                action.versions.order_by("-number"),
                query,
                "versions",
                lambda v: out.version_json(v, action=action),
            )
        )


class ActionVersionView(ApiView):
    @operation("read:actions", "Get an action version", tag=ACTIONS, response="ActionVersion")
    def get(self, request, *, body, query, actionId, id):
        action = selectors.action_get(actionId)
        return respond(out.version_json(selectors.action_version_get(action, id), action=action))


class ActionVersionDeployView(ApiView):
    @operation(
        "create:actions",
        "Roll back: deploy an older version again",
        tag=ACTIONS,
        body="DeployVersionRequest",
        response="ActionVersion",
        description="Deploys a copy of the version as a new version (history stays linear). "
        "update_draft: true also puts its code, dependencies and secrets in the draft. Auth0 "
        "documents 202; like its deploy, we answer 200 with the new version.",
    )
    def post(self, request, *, body, query, actionId, id):
        version = selectors.action_version_get(selectors.action_get(actionId), id)
        if body.get("update_draft"):
            new = action_services.action_version_restore(version, actor=self.actor)
        else:
            new = action_services.action_version_redeploy(version, actor=self.actor)
        return respond(out.version_json(new))


class TriggersView(ApiView):
    @operation("read:actions", "List triggers", tag=ACTIONS, response="TriggerList")
    def get(self, request, *, body, query):
        return respond(
            {
                "triggers": [
                    out.trigger_full_json(t, v) for t, v in action_services.TRIGGER_VERSIONS.items()
                ]
            }
        )


def _bound_actions(trigger_id: str) -> list[Action]:
    """An Action is bound to its trigger while it has a deployed version (one at most runs)."""
    if trigger_id not in action_services.TRIGGER_VERSIONS:
        raise NotFound(f"The trigger {trigger_id!r} does not exist.")
    return [a for a in selectors.action_list(trigger_id=trigger_id, deployed=True)]


class BindingsView(ApiView):
    @operation(
        "read:actions",
        "List a trigger's bindings",
        tag=ACTIONS,
        query=QUERY_PAGING,
        response="ActionBindingList",
    )
    def get(self, request, *, body, query, triggerId):
        return respond(_paged(_bound_actions(triggerId), query, "bindings", out.binding_json))

    @operation(
        "update:actions",
        "Update a trigger's bindings",
        tag=ACTIONS,
        body="UpdateBindingsRequest",
        response="UpdateBindingsResponse",
        description="Bindings follow deployment here: an Action is bound while it has a deployed "
        "version. A request that names the bound Actions is accepted as is; anything else "
        "answers 400 saying what to do instead.",
    )
    def patch(self, request, *, body, query, triggerId):
        bound = _bound_actions(triggerId)
        wanted = []
        for i, binding in enumerate(body.get("bindings", [])):
            ref_ = binding["ref"]
            if ref_["type"] == "action_name":
                match = [a for a in bound if a.name == ref_["value"]]
            else:  # action_id, binding_id: a binding is named by its Action's id
                match = [a for a in bound if a.public_id == ref_["value"]]
            if not match:
                raise ValidationError(
                    f"bindings[{i}]: no deployed {triggerId} Action matches "
                    f"{ref_['type']} {ref_['value']!r}. Deploy the Action to bind it.",
                    field="bindings",
                )
            wanted.append(match[0])
        if {a.pk for a in wanted} != {a.pk for a in bound}:
            raise ValidationError(
                "A deployed Action stays bound while it exists; delete it (with force=true if "
                "the provider uses it) to unbind it.",
                field="bindings",
            )
        return respond({"bindings": [out.binding_json(a) for a in bound]})


class ExecutionView(ApiView):
    @operation("read:actions", "Get an execution", tag=ACTIONS, response="Execution")
    def get(self, request, *, body, query, id):
        return respond(out.execution_json(selectors.execution_get(id)))


# --- Sending API --------------------------------------------------------------------------------

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
        message = message_services.message_queue(**_send_arguments(body, key))
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
            [_send_arguments(item, item.get("idempotency_key")) for item in body["messages"]]
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


# --- Configuration as code ----------------------------------------------------------------------


class PhoneConfigView(ApiView):
    @operation(
        "read:phone_config",
        "Export the phone setup",
        tag=CONFIG,
        response="PhoneConfig",
        description="Provider, customised templates, deployed handler and limits, as "
        "`manage.py export_config` prints them; secrets only as ${ENV_NAME} references.",
    )
    def get(self, request, *, body, query):
        return respond(config_services.config_export())

    @operation(
        "update:phone_config",
        "Apply a phone setup",
        tag=CONFIG,
        body="PhoneConfig",
        query={"dry_run": BOOLEAN_QUERY},
        response="PhoneConfigApplyResult",
        description="Makes the installation match the document in one transaction and lists "
        "what changed; the same document again changes nothing. `dry_run=true` lists the "
        "changes and keeps none.",
    )
    def put(self, request, *, body, query):
        dry_run = bool(query.get("dry_run"))
        result = config_services.config_apply(body, actor=self.actor, dry_run=dry_run)
        return respond({"changes": result.changes, "dry_run": dry_run})
