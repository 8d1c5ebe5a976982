"""Writes of the installation's phone provider."""

from django.db import IntegrityError, transaction

from phoneprovider import selectors
from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import Action, DeliveryMethod, PhoneProvider
from phoneprovider.providers.twilio import sender_clean, sid_problem
from phoneprovider.services import actions
from phoneprovider.services.audit import MASK, audit_record, audit_update

DEPLOYED_ACTION_MISSING = "custom_email_provider_deployed_action_not_found"  # Auth0's spelling


def _clean_delivery_methods(methods) -> list[str]:
    if not isinstance(methods, list | tuple) or not methods:
        raise ValidationError(
            "Choose at least one delivery method (text or voice).", field="delivery_methods"
        )
    allowed = set(DeliveryMethod.values)
    unknown = [m for m in methods if m not in allowed]
    if unknown:
        raise ValidationError(
            f"Unknown delivery method {unknown[0]!r}; use 'text' or 'voice'.",
            field="delivery_methods",
        )
    return [m for m in DeliveryMethod.values if m in methods]


def _clean_twilio_fields(provider: PhoneProvider) -> None:
    """Store what Auth0 stores: any SID, any From, From together with a Messaging Service.

    Auth0 refuses none of these, so neither do we (configuration tools replay them); a value
    Twilio will refuse gets a warning beside its field (``provider_warnings``) and the first send
    records Twilio's own error. A From that reads as a phone number is kept in E.164 form.
    """
    provider.twilio_sid = (provider.twilio_sid or "").strip()
    provider.twilio_mssid = (provider.twilio_mssid or "").strip()
    # Kept as given when it isn't a number; provider_warnings says why Twilio will refuse it.
    provider.twilio_default_from, _ = sender_clean(provider.twilio_default_from)


def provider_warnings(provider: PhoneProvider | None) -> dict[str, str]:
    """Stored values Twilio will refuse, by field: shown beside the field, never refused."""
    if provider is None or provider.name != PhoneProvider.Name.TWILIO:
        return {}
    warnings = {}
    if provider.twilio_sid and (problem := sid_problem(provider.twilio_sid, "AC")):
        warnings["sid"] = f"{problem} Twilio will refuse this one."
    _, refused = sender_clean(provider.twilio_default_from)
    if refused:
        warnings["default_from"] = f"{refused.message} Twilio will refuse it as a sender."
    if provider.twilio_mssid and (problem := sid_problem(provider.twilio_mssid, "MG")):
        warnings["mssid"] = f"{problem} Twilio will refuse this one."
    if provider.twilio_default_from and provider.twilio_mssid:
        warnings.setdefault(
            "mssid",
            "Both a From number and a Messaging Service are set: SMS go through the "
            "Messaging Service, calls use the From number.",
        )
    return warnings


def _validate(provider: PhoneProvider) -> None:
    """Check the whole provider as it would be stored; raise before anything is written."""
    if provider.name not in PhoneProvider.Name.values:
        raise ValidationError("The provider name must be 'twilio' or 'custom'.", field="name")
    # Every problem at once, so a form can show each beside its field.
    errors: list[ValidationError] = []
    try:
        provider.delivery_methods = _clean_delivery_methods(provider.delivery_methods)
    except ValidationError as exc:
        errors.append(exc)
    _clean_twilio_fields(provider)
    if provider.name == PhoneProvider.Name.TWILIO:
        if not provider.twilio_sid:
            errors.append(ValidationError("The Twilio SID is required.", field="sid"))
        if not provider.twilio_default_from and not provider.twilio_mssid:
            errors.append(
                ValidationError(
                    "Give a From number or a Messaging Service SID.", field="default_from"
                )
            )
        # A disabled provider sends nothing: an import may store it before the token is known.
        if not provider.twilio_auth_token and not provider.disabled:
            errors.append(ValidationError("The Twilio auth token is required.", field="auth_token"))
    else:
        if (
            selectors.custom_provider_version() is None
        ):  # (a legacy send-phone-message one runs too)
            errors.append(
                ValidationError(
                    "The custom provider needs a deployed Action for the custom-phone-provider "
                    "trigger. Create and deploy one first.",
                    error_code=DEPLOYED_ACTION_MISSING,
                )
            )
    ValidationError.raise_all(errors)


def _audit_view(provider: PhoneProvider) -> dict:
    return {
        "name": provider.name,
        "disabled": provider.disabled,
        "configuration": provider.configuration,
        "credentials": {"auth_token": MASK} if provider.twilio_auth_token else {},
    }


def _apply(provider: PhoneProvider, changes: dict) -> None:
    token = changes.pop("twilio_auth_token", None)
    for field, value in changes.items():
        setattr(provider, field, value)
    if token:  # write-only: an empty value keeps the stored token
        provider.twilio_auth_token = token


@transaction.atomic
def provider_create(*, actor: str, **fields) -> PhoneProvider:
    """Create the installation's one provider (a second one is a conflict, as in Auth0)."""
    if selectors.provider_get() is not None:
        raise Conflict("A phone provider already exists; update or delete it instead.")
    provider = PhoneProvider()
    _apply(provider, fields)
    _validate(provider)
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:
        raise Conflict("A phone provider already exists; update or delete it instead.") from None
    audit_record(
        actor=actor,
        verb="create",
        object_type="phone_provider",
        object_id=provider.public_id,
        changes=_audit_view(provider),
    )
    return provider


@transaction.atomic
def provider_update(provider: PhoneProvider, *, actor: str, **changes) -> PhoneProvider:
    """Change any subset of the provider's fields; the result is validated as a whole."""
    provider = PhoneProvider.objects.select_for_update().get(pk=provider.pk)
    before = _audit_view(provider)
    # Twilio settings stay stored while custom is selected: failover sends through them, and
    # switching back to Twilio does not ask for the token again.
    _apply(provider, changes)
    _validate(provider)
    provider.save()
    audit_update(
        actor=actor,
        object_type="phone_provider",
        object_id=provider.public_id,
        before=before,
        after=_audit_view(provider),
    )
    return provider


def provider_save(*, actor: str, **fields) -> PhoneProvider:
    """Create the provider or update the existing one (the dashboard's Save)."""
    existing = selectors.provider_get()
    if existing is None:
        return provider_create(actor=actor, **fields)
    return provider_update(existing, actor=actor, **fields)


@transaction.atomic
def provider_delete(provider: PhoneProvider, *, actor: str) -> None:
    audit_record(
        actor=actor, verb="delete", object_type="phone_provider", object_id=provider.public_id
    )
    provider.delete()


STARTER_ACTION_NAME = "Custom Phone Provider"


@transaction.atomic
def custom_action_store(
    *,
    actor: str,
    code: str,
    deploy: bool,
    secret_upserts: dict[str, str] | None = None,
    secret_deletes: list[str] | None = None,
    dependencies: list | None = None,
) -> Action:
    """Store the custom handler as the custom-phone-provider Action's draft (creating the Action
    the first time) and, with ``deploy``, deploy it unless the deployed version already runs it.

    One transaction: code that does not validate leaves the stored draft as it was.
    """
    action = selectors.custom_provider_action()
    if action is None:
        create = actions.action_create_deployed if deploy else actions.action_create
        return create(
            actor=actor,
            name=STARTER_ACTION_NAME,
            trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER,
            code=code,
            secrets=secret_upserts,
            dependencies=dependencies,
        )
    action = actions.action_update(
        action,
        actor=actor,
        code=code,
        secret_upserts=secret_upserts,
        secret_deletes=secret_deletes,
        dependencies=dependencies,
    )
    if deploy:
        actions.action_deploy(action, actor=actor, only_if_changed=True)
    return action


@transaction.atomic
def custom_provider_configure(
    *,
    actor: str,
    code: str,
    delivery_methods: list[str],
    disabled: bool = False,
    secret_upserts: dict[str, str] | None = None,
    secret_deletes: list[str] | None = None,
) -> PhoneProvider:
    """The dashboard's Save for Custom: store the handler and secrets, deploy, select custom.

    Validation runs before any write, and everything happens in one transaction, so an invalid
    handler changes nothing.
    """
    actions.code_validate(code, Action.Trigger.CUSTOM_PHONE_PROVIDER)
    actions.secrets_changes_clean(secret_upserts or {}, secret_deletes or [])
    custom_action_store(
        actor=actor,
        code=code,
        deploy=True,
        secret_upserts=secret_upserts,
        secret_deletes=secret_deletes,
    )
    return provider_save(
        actor=actor,
        name=PhoneProvider.Name.CUSTOM,
        delivery_methods=delivery_methods,
        disabled=disabled,
    )
