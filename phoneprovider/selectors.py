"""Reads. Views, the API and tasks read through here; writes go through services."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from phoneprovider.crypto import SecretUnavailable
from phoneprovider.errors import NotFound
from phoneprovider.models import (
    Action,
    ActionVersion,
    Connection,
    DeliveryPolicy,
    Execution,
    PhoneMessage,
    PhoneProvider,
    PhoneTemplate,
    PurgeRun,
    Route,
)


def policy_get() -> DeliveryPolicy:
    """The installation's delivery policy (abuse limits), made with its defaults on first read."""
    policy, _ = DeliveryPolicy.objects.get_or_create(installation=1)
    return policy


def provider_get() -> PhoneProvider | None:
    return PhoneProvider.objects.first()


def provider_get_by_public_id(public_id: str) -> PhoneProvider:
    try:
        return PhoneProvider.objects.get(public_id=public_id)
    except PhoneProvider.DoesNotExist:
        raise NotFound("The phone provider does not exist.") from None


def connection_get_by_public_id(public_id: str) -> Connection:
    try:
        return Connection.objects.get(public_id=public_id)
    except Connection.DoesNotExist:
        raise NotFound("The connection does not exist.") from None


def route_get_by_public_id(public_id: str) -> Route:
    try:
        return Route.objects.get(public_id=public_id)
    except Route.DoesNotExist:
        raise NotFound("The route does not exist.") from None


def routes_list() -> QuerySet[Route]:
    """Every rule in the order they are tried, with its connections (two queries)."""
    return Route.objects.order_by("position", "pk").prefetch_related("steps__connection")


def connections_list() -> QuerySet[Connection]:
    return Connection.objects.order_by("name")


def custom_provider_action() -> Action | None:
    """The Action bound to the custom phone provider trigger, if any."""
    return Action.objects.filter(trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER).first()


def deployed_version(action: Action | None) -> ActionVersion | None:
    if action is None:
        return None
    return action.versions.filter(deployed=True).first()


def action_all_changes_deployed(action: Action, deployed: ActionVersion | None) -> bool:
    """Whether ``deployed`` (the Action's deployed version) runs exactly the draft: code, runtime,
    dependencies and secrets (the API's ``all_changes_deployed``, the editor's "up to date")."""
    if deployed is None:
        return False
    try:
        draft_secrets = {s.name: s.plain_value for s in action.secrets.all()}
        deployed_secrets = deployed.secrets
    except SecretUnavailable:
        return False  # not known to match; the editor and the API still answer
    return (
        deployed.code == action.code
        and deployed.runtime == action.runtime
        # The draft as declared (^1.0.0), not the versions deploy pinned (1.2.0).
        and declared_dependencies(deployed) == action.dependencies
        and deployed_secrets == draft_secrets
    )


def declared_dependencies(version: ActionVersion) -> list:
    """The npm packages as the draft declared them when ``version`` was deployed (^1.0.0)."""
    if version.declared_dependencies is None:  # deployed before declarations were recorded
        return version.dependencies
    return version.declared_dependencies


def custom_provider_version() -> ActionVersion | None:
    """The deployed version the custom provider runs, with its Action: the custom-phone-provider
    Action's, else (Auth0's legacy path) a deployed send-phone-message Action's."""
    versions = ActionVersion.objects.select_related("action").filter(deployed=True)
    version = versions.filter(action__trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER).first()
    if version is None:
        version = versions.filter(action__trigger_id=Action.Trigger.SEND_PHONE_MESSAGE).first()
    return version


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


# --- Dashboard reads ----------------------------------------------------------------------------


def action_versions(action: Action) -> QuerySet[ActionVersion]:
    """Newest first; the code is left out (a list never shows it)."""
    return action.versions.defer("code", "secrets_json").order_by("-number")


def message_page(
    *,
    status: str = "",
    message_type: str = "",
    delivery_method: str = "",
    since=None,
    until=None,
    search: str = "",
    before_pk: int | None = None,
    limit: int = 50,
) -> list[PhoneMessage]:
    """One page of the message log, newest first, after the keyset cursor ``before_pk``.

    Ordered by primary key (creation order) so the database walks an index and stops after
    ``limit + 1`` rows whatever the table size; no COUNT(*) over the filtered set.
    """
    messages = PhoneMessage.objects.all()
    if status:
        messages = messages.filter(status=status)
    if message_type:
        messages = messages.filter(message_type=message_type)
    if delivery_method:
        messages = messages.filter(delivery_method=delivery_method)
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    if search:
        if search.startswith("msg_"):
            messages = messages.filter(public_id=search)
        elif search.startswith("+"):
            messages = messages.filter(recipient__startswith=search)
        else:
            # A number typed without "+" (4155550100): its digits anywhere in the E.164 form.
            digits = "".join(c for c in search if c.isdigit())
            messages = messages.filter(recipient__contains=digits or search)
    if before_pk is not None:
        messages = messages.filter(pk__lt=before_pk)
    return list(
        messages.defer("as_text", "as_voice", "context", "code").order_by("-pk")[: limit + 1]
    )


def message_pk_of(public_id: str) -> int | None:
    return PhoneMessage.objects.filter(public_id=public_id).values_list("pk", flat=True).first()


def message_detail(public_id: str) -> PhoneMessage:
    message = message_get(public_id)
    message.attempt_list = list(message.attempts.select_related("execution").order_by("number"))
    return message


def execution_page(*, after_pk: int = 0, search: str = "", limit: int = 50) -> list[Execution]:
    """Executions newer than ``after_pk`` (the last one a view has seen), newest first."""
    executions = Execution.objects.select_related("action", "attempt__message").filter(
        pk__gt=after_pk
    )
    if search:
        executions = executions.filter(
            Q(public_id=search)
            | Q(attempt__message__public_id=search)
            | Q(attempt__message__recipient__startswith=search)
            | Q(reason__icontains=search)
            | Q(logs__icontains=search)
            | Q(status=search)
        )
    return list(executions.order_by("-pk")[:limit])


def execution_last_pk() -> int:
    return Execution.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def limit_counters() -> dict:
    """What the abuse limits count right now, and what they blocked in the last 24 hours."""
    now = timezone.now()
    sent = PhoneMessage.objects.exclude(status=PhoneMessage.Status.BLOCKED)
    blocked = PhoneMessage.objects.filter(
        status=PhoneMessage.Status.BLOCKED, created_at__gte=now - timedelta(hours=24)
    )
    recorded = (
        PhoneMessage.objects.exclude(status=PhoneMessage.Status.BLOCKED)
        .filter(created_at__gte=now - timedelta(hours=24))
        .exclude(limit_rule="")
    )
    return {
        "last_minute": sent.filter(created_at__gte=now - timedelta(minutes=1)).count(),
        "last_hour": sent.filter(created_at__gte=now - timedelta(hours=1)).count(),
        "blocked_by_rule": dict(
            blocked.values_list("limit_rule").annotate(n=Count("pk")).order_by("limit_rule")
        ),
        "recorded_by_rule": dict(
            recorded.values_list("limit_rule").annotate(n=Count("pk")).order_by("limit_rule")
        ),
        "recent_blocked": list(blocked.order_by("-pk")[:10]),
    }


def purge_last_run() -> PurgeRun | None:
    """The latest retention purge, finished or not."""
    return PurgeRun.objects.order_by("-started_at", "-pk").first()
