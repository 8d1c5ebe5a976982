"""Writes of phone templates. A message type without a row uses the built-in default bodies."""

from django.db import IntegrityError, transaction

from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import MessageType, PhoneTemplate
from phoneprovider.phone import normalize_sender
from phoneprovider.providers.templates import (
    DEFAULT_BODIES,
    VOICE_PAUSE,
    TemplateRenderError,
    TemplateSyntaxError,
    check_syntax,
    render_body,
)
from phoneprovider.services.audit import audit_record, audit_update

BODY_MAX = 20000
FROM_MAX = 16


def _body_clean(body: str, *, field: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationError(f"The {field} body cannot be empty.", field=field)
    if len(body) > BODY_MAX:
        raise ValidationError(f"The {field} body is at most {BODY_MAX} characters.", field=field)
    try:
        check_syntax(body)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            f"The {field} body is not valid Liquid: {exc.message}",
            field=field,
            line=exc.line,
            column=exc.column,
        ) from None
    # A trial render with sample values, so a body that does unbounded work (a loop to 10^8) is
    # refused now rather than at every send; sends are bounded the same way.
    from phoneprovider.services.messages import template_variables

    variables = template_variables(code="123456", locale="en", context={})
    try:
        render_body(body, variables, pause=VOICE_PAUSE if field == "voice" else " ", field=field)
    except TemplateRenderError as exc:
        raise ValidationError(exc.message, field=field) from None
    return body


def _from_clean(value: str, *, any_from: bool) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > FROM_MAX:
        raise ValidationError(f"from is at most {FROM_MAX} characters.", field="from")
    try:
        return normalize_sender(value, field="from")
    except ValidationError:
        # Auth0 stores any From (+1234567890, and 1234567890 without the + in go-auth0's
        # recorded traffic); so does its API here, and the first send records the provider's
        # own refusal. Elsewhere (the dashboard) only what can send is taken.
        if any_from or value.startswith("+"):
            return value
        raise


def _audit_view(template: PhoneTemplate) -> dict:
    return {
        "disabled": template.disabled,
        "from": template.from_number,
        "text": template.text_body,
        "voice": template.voice_body,
    }


@transaction.atomic
def template_create(
    *,
    actor: str,
    type: str,  # Auth0's field name
    disabled: bool = False,
    from_number: str = "",
    text_body: str | None = None,
    voice_body: str | None = None,
    any_from: bool = False,
) -> PhoneTemplate:
    """Customise one message type; bodies not given start from the defaults. One per type.

    ``any_from``: a From that is neither a number nor a sender ID is stored as given (as Auth0
    stores it) rather than refused."""
    if type not in MessageType.values:
        raise ValidationError(f"type must be one of {', '.join(MessageType.values)}.", field="type")
    defaults = DEFAULT_BODIES[type]
    template = PhoneTemplate(
        type=type,
        disabled=bool(disabled),
        from_number=_from_clean(from_number, any_from=any_from),
        text_body=_body_clean(defaults["text"] if text_body is None else text_body, field="text"),
        voice_body=_body_clean(
            defaults["voice"] if voice_body is None else voice_body, field="voice"
        ),
    )
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Conflict(f"A {type} template already exists; update or delete it instead.") from None
    audit_record(
        actor=actor,
        verb="create",
        object_type="phone_template",
        object_id=template.public_id,
        changes={"type": type, **_audit_view(template)},
    )
    return template


@transaction.atomic
def template_update(
    template: PhoneTemplate,
    *,
    actor: str,
    disabled: bool | None = None,
    from_number: str | None = None,
    text_body: str | None = None,
    voice_body: str | None = None,
    any_from: bool = False,
) -> PhoneTemplate:
    """Change any subset of the template; ``None`` leaves a field as it is (``any_from`` as in
    ``template_create``)."""
    template = PhoneTemplate.objects.select_for_update().get(pk=template.pk)
    before = _audit_view(template)
    if disabled is not None:
        template.disabled = bool(disabled)
    if from_number is not None:
        template.from_number = _from_clean(from_number, any_from=any_from)
    if text_body is not None:
        template.text_body = _body_clean(text_body, field="text")
    if voice_body is not None:
        template.voice_body = _body_clean(voice_body, field="voice")
    if _audit_view(template) != before:  # a no-op keeps updated_at, as Auth0's does
        template.save()
    audit_update(
        actor=actor,
        object_type="phone_template",
        object_id=template.public_id,
        before=before,
        after=_audit_view(template),
    )
    return template


@transaction.atomic
def template_reset(template: PhoneTemplate, *, actor: str) -> PhoneTemplate:
    """Put the default bodies back; ``from`` and ``disabled`` are kept (as Auth0 does)."""
    template = PhoneTemplate.objects.select_for_update().get(pk=template.pk)
    defaults = DEFAULT_BODIES[template.type]
    template.text_body = defaults["text"]
    template.voice_body = defaults["voice"]
    template.save()
    audit_record(
        actor=actor, verb="reset", object_type="phone_template", object_id=template.public_id
    )
    return template


@transaction.atomic
def template_delete(template: PhoneTemplate, *, actor: str) -> None:
    """Forget the customisation: the type goes back to the default bodies."""
    audit_record(
        actor=actor,
        verb="delete",
        object_type="phone_template",
        object_id=template.public_id,
        changes={"type": template.type},
    )
    template.delete()
