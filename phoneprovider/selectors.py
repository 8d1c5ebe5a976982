"""Reads. Views, the API and tasks read through here; writes go through services."""

from django.db.models import QuerySet

from phoneprovider.errors import NotFound
from phoneprovider.models import (
    Action,
    ActionVersion,
    Execution,
    PhoneMessage,
    PhoneProvider,
    PhoneTemplate,
)


def provider_get() -> PhoneProvider | None:
    return PhoneProvider.objects.first()


def provider_get_by_public_id(public_id: str) -> PhoneProvider:
    try:
        return PhoneProvider.objects.get(public_id=public_id)
    except PhoneProvider.DoesNotExist:
        raise NotFound("The phone provider does not exist.") from None


def custom_provider_action() -> Action | None:
    """The Action bound to the custom phone provider trigger, if any."""
    return Action.objects.filter(trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER).first()


def deployed_version(action: Action | None) -> ActionVersion | None:
    if action is None:
        return None
    return action.versions.filter(deployed=True).first()


def action_get(public_id: str) -> Action:
    try:
        return Action.objects.get(public_id=public_id)
    except Action.DoesNotExist:
        raise NotFound("The action does not exist.") from None


def template_for_type(message_type: str) -> PhoneTemplate | None:
    return PhoneTemplate.objects.filter(type=message_type).first()


def message_get(public_id: str) -> PhoneMessage:
    try:
        return PhoneMessage.objects.get(public_id=public_id)
    except PhoneMessage.DoesNotExist:
        raise NotFound("The message does not exist.") from None


def message_list() -> QuerySet[PhoneMessage]:
    return PhoneMessage.objects.all()


def message_last_execution(message: PhoneMessage) -> Execution | None:
    attempt = message.attempts.select_related("execution").order_by("-number").first()
    return attempt.execution if attempt else None


def provider_list(*, disabled: bool | None = None) -> QuerySet[PhoneProvider]:
    providers = PhoneProvider.objects.all()
    if disabled is not None:
        providers = providers.filter(disabled=disabled)
    return providers


def action_list(
    *, trigger_id: str | None = None, name: str | None = None, deployed: bool | None = None
) -> QuerySet[Action]:
    """Actions filtered as Auth0's list does; ``deployed`` means "has a deployed version"."""
    actions = Action.objects.all().order_by("created_at", "pk")
    if trigger_id:
        actions = actions.filter(trigger_id=trigger_id)
    if name:
        actions = actions.filter(name=name)
    if deployed is not None:
        actions = (
            actions.filter(versions__deployed=True)
            if deployed
            else actions.exclude(versions__deployed=True)
        )
    return actions.distinct()


def action_version_get(action: Action, public_id: str) -> ActionVersion:
    try:
        return action.versions.get(public_id=public_id)
    except ActionVersion.DoesNotExist:
        raise NotFound("The action version does not exist.") from None


def execution_get(public_id: str) -> Execution:
    try:
        return Execution.objects.select_related("action").get(public_id=public_id)
    except Execution.DoesNotExist:
        raise NotFound("The execution does not exist.") from None


def template_list() -> QuerySet[PhoneTemplate]:
    return PhoneTemplate.objects.all()


def template_get_by_public_id(public_id: str) -> PhoneTemplate:
    try:
        return PhoneTemplate.objects.get(public_id=public_id)
    except PhoneTemplate.DoesNotExist:
        raise NotFound("The phone template does not exist.") from None
