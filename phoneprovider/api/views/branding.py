"""Phone providers and phone templates (Auth0's Branding > Phone)."""

from phoneprovider import selectors
from phoneprovider.api import serializers as out
from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.schemas import COMPONENTS, ref
from phoneprovider.api.validation import check
from phoneprovider.api.views.common import BOOLEAN_QUERY, TEST_CODE
from phoneprovider.models import MessageType, PhoneProvider
from phoneprovider.services import messages as message_services
from phoneprovider.services import providers as provider_services
from phoneprovider.services import templates as template_services

PROVIDERS = "Phone providers"
TEMPLATES = "Phone templates"


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


def _try_outcome(message) -> str:
    """Auth0 answers 202 to any ``to``; ours says whether the test message went to a worker."""
    if message.status == message.Status.QUEUED:
        return f"Test message {message.public_id} queued for delivery."
    return f"Test message {message.public_id} {message.status}: {message.reason}"


class ProviderTryView(ApiView):
    @operation(
        "create:phone_providers",
        "Send a test message through the phone provider",
        tag=PROVIDERS,
        body="SendTestRequest",
        status=202,
        response="SendTestResponse",
        description="Queues a real send (an otp_verify message with code 123456) for a worker. "
        "As in Auth0, any `to` is accepted (202); one that is not an E.164 number is recorded "
        "as a failed test message that says why, and nothing is sent.",
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
            record_bad_recipient=True,
        )
        return respond({"code": 202, "message": _try_outcome(message)}, 202)


def _template_changes(body: dict) -> dict:
    content = body.get("content") or {}
    text_body = content.get("body", {}).get("text")
    voice_body = content.get("body", {}).get("voice")
    # Auth0's API stores any From; so does ours (the dashboard refuses what cannot send).
    fields = {"text_body": text_body, "voice_body": voice_body, "any_from": True}
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
        description="Queues a real send of this template's type for a worker. As in Auth0, any "
        "`to` is accepted (202); one that is not an E.164 number is recorded as a failed test "
        "message that says why, and nothing is sent.",
    )
    def post(self, request, *, body, query, id):
        template = selectors.template_get_by_public_id(id)
        message = message_services.message_queue(
            to=body["to"],
            message_type=template.type,
            delivery_method=body.get("delivery_method") or "text",
            code=TEST_CODE,
            is_test=True,
            record_bad_recipient=True,
        )
        return respond({"message": _try_outcome(message)}, 202)
