"""Writes of Actions: drafts, secrets and immutable deployed versions."""

import json
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from phoneprovider import selectors
from phoneprovider.errors import Conflict, ValidationError
from phoneprovider.models import Action, ActionSecret, ActionVersion
from phoneprovider.runtime import (
    CodeValidationError,
    DependencyError,
    load_check,
    resolve_dependencies,
    validate_source,
)
from phoneprovider.services.audit import MASK, audit_record

MAX_SECRETS = 30
MAX_SECRET_NAME = 128
MAX_SECRET_VALUE = 4096
MAX_VERSIONS_KEPT = 50
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names a handler would read as Object.prototype's, not as a secret (event.secrets.constructor).
RESERVED_SECRET_NAMES = frozenset(
    [
        "__proto__",
        "constructor",
        "prototype",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "toLocaleString",
        "valueOf",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    ]
)
# The runtimes Auth0 names; every one runs on this installation's one engine.
RUNTIMES = ("node12", "node16", "node18", "node18-actions", "node22")
DEFAULT_RUNTIME = "node22"
# npm's rules for a package name (validate-npm-package-name): lower case, URL-safe, ≤ 214
# characters, not starting with "." or "_", optionally @scope/.
NPM_NAME = re.compile(r"^(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$")
NPM_NAME_MAX = 214
# A version, range, tag or npm: alias; no spaces, no path tricks.
NPM_VERSION = re.compile(r"^[A-Za-z0-9.^~<>=*|+@:_-]{0,128}$")

TRIGGER_VERSIONS = {
    Action.Trigger.CUSTOM_PHONE_PROVIDER: "v1",
    Action.Trigger.SEND_PHONE_MESSAGE: "v2",
}


def code_validate(code: str, trigger_id: str) -> None:
    """Parse the handler (never run it) and check its export; errors carry line and column."""
    try:
        validate_source(code, trigger=trigger_id)
    except CodeValidationError as exc:
        raise ValidationError(exc.message, field="code", line=exc.line, column=exc.column) from None


def dependencies_install(dependencies: list) -> list[dict]:
    """Install the declared npm packages and return them pinned to exact versions; a package
    that cannot be found or installed is a validation error naming it."""
    try:
        return resolve_dependencies(dependencies or [])
    except DependencyError as exc:
        raise ValidationError(exc.message, field="dependencies") from None


def code_load_check(code: str, trigger_id: str, packages: list | None = None) -> None:
    """Load the module once in the sandbox (its top level runs, the handler does not): code that
    throws as it loads is refused before it is deployed, with the error and its line."""
    try:
        load_check(code, trigger=trigger_id, packages=packages)
    except CodeValidationError as exc:
        raise ValidationError(exc.message, field="code", line=exc.line, column=exc.column) from None


def _secret_name_check(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_SECRET_NAME or not SECRET_NAME.match(name):
        raise ValidationError(
            "A secret name has letters, digits and underscores, starts with a letter or "
            f"underscore, and is at most {MAX_SECRET_NAME} characters.",
            field="secrets",
        )
    if name in RESERVED_SECRET_NAMES:
        raise ValidationError(
            f"{name} can't be a secret name: handlers would read JavaScript's "
            f"Object.prototype.{name} instead.",
            field="secrets",
        )
    return name


def secret_names_unique(names) -> None:
    """A secrets list names each secret once (Auth0 keeps one value per name)."""
    seen = set()
    for name in names:
        if name in seen:
            raise ValidationError(f"Secret {name} is listed twice.", field="secrets")
        seen.add(name)


def runtime_clean(runtime: str | None) -> str:
    runtime = runtime or DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise ValidationError(
            f"Unsupported runtime {runtime!r}; use one of {', '.join(RUNTIMES)}.", field="runtime"
        )
    return runtime


def _secrets_apply(action: Action, upserts: dict[str, str], deletes: list[str]) -> None:
    for name, value in upserts.items():
        if not isinstance(value, str) or len(value) > MAX_SECRET_VALUE:
            raise ValidationError(
                f"Secret {name!r} needs a text value of at most {MAX_SECRET_VALUE} characters.",
                field="secrets",
            )
    names = {s.name for s in action.secrets.all()}
    final = (names - set(deletes)) | set(upserts)
    if len(final) > MAX_SECRETS:
        raise ValidationError(f"An Action has at most {MAX_SECRETS} secrets.", field="secrets")
    action.secrets.filter(name__in=deletes).delete()
    for name, value in upserts.items():
        ActionSecret.objects.update_or_create(action=action, name=name, defaults={"value": value})


def secrets_changes_clean(upserts: dict, deletes: list) -> tuple[dict[str, str], list[str]]:
    clean_upserts = {_secret_name_check(n): v for n, v in upserts.items()}
    clean_deletes = [_secret_name_check(n) for n in deletes]
    return clean_upserts, clean_deletes


def dependencies_clean(dependencies) -> list[dict]:
    if not isinstance(dependencies, list) or any(
        not isinstance(d, dict) or not d.get("name") for d in dependencies
    ):
        raise ValidationError(
            "dependencies is a list of {name, version} objects.", field="dependencies"
        )
    clean, seen = [], set()
    for d in dependencies:
        name, version = str(d["name"]), str(d.get("version", ""))
        if (
            len(name) > NPM_NAME_MAX
            or not NPM_NAME.match(name)
            or name.split("/")[-1] in ("node_modules", "favicon.ico")
        ):
            raise ValidationError(
                f"{name!r} is not an npm package name (lower case letters, digits, - . _ ~, "
                f"optionally @scope/, not starting with . or _, at most {NPM_NAME_MAX} "
                "characters).",
                field="dependencies",
            )
        if not NPM_VERSION.match(version):
            raise ValidationError(
                f"{version!r} is not a version of {name}: a version, range or tag, at most 128 "
                "characters, no spaces or slashes.",
                field="dependencies",
            )
        if name in seen:
            raise ValidationError(f"Dependency {name} is listed twice.", field="dependencies")
        seen.add(name)
        clean.append({"name": name, "version": version})
    return clean


@transaction.atomic
def action_create(
    *,
    actor: str,
    name: str,
    trigger_id: str,
    code: str = "",
    runtime: str = "node22",
    dependencies: list | None = None,
    secrets: dict[str, str] | None = None,
) -> Action:
    name = (name or "").strip()
    if not name:
        raise ValidationError("The action needs a name.", field="name")
    if trigger_id not in TRIGGER_VERSIONS:
        raise ValidationError(
            f"Unsupported trigger {trigger_id!r}; use custom-phone-provider.",
            field="supported_triggers",
        )
    upserts, _ = secrets_changes_clean(secrets or {}, [])
    action = Action(
        name=name,
        trigger_id=trigger_id,
        trigger_version=TRIGGER_VERSIONS[trigger_id],
        code=code or "",
        runtime=runtime_clean(runtime),
        dependencies=dependencies_clean(dependencies or []),
        status=Action.Status.BUILT,
        built_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            action.save()
    except IntegrityError:
        raise Conflict(
            "An Action for the custom-phone-provider trigger already exists; "
            "there can be only one.",
        ) from None
    _secrets_apply(action, upserts, [])
    audit_record(
        actor=actor,
        verb="create",
        object_type="action",
        object_id=action.public_id,
        changes={"name": name, "trigger": trigger_id, "secrets": dict.fromkeys(upserts, MASK)},
    )
    return action


@transaction.atomic
def action_update(
    action: Action,
    *,
    actor: str,
    name: str | None = None,
    code: str | None = None,
    runtime: str | None = None,
    dependencies: list | None = None,
    secret_upserts: dict[str, str] | None = None,
    secret_deletes: list[str] | None = None,
) -> Action:
    """Change the draft. Nothing runs differently until the draft is deployed."""
    action = Action.objects.select_for_update().get(pk=action.pk)
    changes: dict = {}
    if name is not None:
        if not name.strip():
            raise ValidationError("The action needs a name.", field="name")
        action.name = changes["name"] = name.strip()
    if code is not None:
        action.code = code
        changes["code"] = "changed"
    if runtime is not None:
        action.runtime = changes["runtime"] = runtime_clean(runtime)
    if dependencies is not None:
        action.dependencies = changes["dependencies"] = dependencies_clean(dependencies)
    upserts, deletes = secrets_changes_clean(secret_upserts or {}, secret_deletes or [])
    _secrets_apply(action, upserts, deletes)
    if upserts or deletes:
        changes["secrets"] = {**dict.fromkeys(upserts, MASK), **dict.fromkeys(deletes, None)}
    action.save()
    audit_record(
        actor=actor,
        verb="update",
        object_type="action",
        object_id=action.public_id,
        changes=changes,
    )
    return action


def _deploy_snapshot(
    action: Action,
    *,
    actor: str,
    code: str,
    runtime: str,
    dependencies: list,
    secrets_json: str,
    copied_from: int | None = None,
    declared: list | None = None,
) -> ActionVersion:
    """``dependencies`` are installed and pinned; ``declared`` (default: the same) is how the
    draft states them, kept to tell later whether the draft still matches."""
    declared = dependencies if declared is None else declared
    dependencies = dependencies_install(dependencies)
    code_load_check(code, action.trigger_id, dependencies)
    last = action.versions.order_by("-number").values_list("number", flat=True).first() or 0
    action.versions.filter(deployed=True).update(deployed=False)
    version = ActionVersion.objects.create(
        action=action,
        number=last + 1,
        code=code,
        runtime=runtime,
        dependencies=dependencies,
        declared_dependencies=declared,
        secrets_json=secrets_json,
        deployed=True,
        created_by=actor,
        copied_from=copied_from,
    )
    stale = action.versions.order_by("-number").values_list("pk", flat=True)[MAX_VERSIONS_KEPT:]
    ActionVersion.objects.filter(pk__in=list(stale)).delete()
    action.status = Action.Status.BUILT
    action.built_at = timezone.now()
    action.save(update_fields=["status", "built_at", "updated_at"])
    return version


@transaction.atomic
def action_deploy(action: Action, *, actor: str, only_if_changed: bool = False) -> ActionVersion:
    """Validate the draft and deploy it as a new immutable version.

    ``only_if_changed`` (the dashboard's Save and Deploy): when the deployed version already
    runs exactly the draft (code, runtime, dependencies, secrets), it is returned and no
    identical new version is made.
    """
    action = Action.objects.select_for_update().get(pk=action.pk)
    code_validate(action.code, action.trigger_id)
    current = selectors.deployed_version(action)
    if only_if_changed and selectors.action_all_changes_deployed(action, current):
        return current
    secrets = {s.name: s.plain_value for s in action.secrets.all()}
    version = _deploy_snapshot(
        action,
        actor=actor,
        code=action.code,
        runtime=action.runtime,
        dependencies=action.dependencies,
        secrets_json=json.dumps(secrets),
    )
    audit_record(
        actor=actor,
        verb="deploy",
        object_type="action",
        object_id=action.public_id,
        changes={"version": version.number},
    )
    return version


@transaction.atomic
def action_unbind(action: Action, *, actor: str) -> bool:
    """Take an Action off its trigger: an Action is bound here while it has a deployed version,
    so that version stops being the deployed one. The Action, its draft and its versions stay,
    as an unbound Action stays in Auth0; deploying it again binds it. Returns whether it was
    bound."""
    action = Action.objects.select_for_update().get(pk=action.pk)
    if not action.versions.filter(deployed=True).update(deployed=False):
        return False
    # The update above sends no signal; saving the Action tells every process's config copy.
    action.save(update_fields=["updated_at"])
    audit_record(actor=actor, verb="unbind", object_type="action", object_id=action.public_id)
    return True


@transaction.atomic
def action_bind(action: Action, *, actor: str) -> None:
    """Bind an unbound Action again: its latest version becomes the deployed one (no new version,
    as Auth0 binds the version already deployed). An Action never deployed can't be bound."""
    action = Action.objects.select_for_update().get(pk=action.pk)
    if action.versions.filter(deployed=True).exists():
        return
    latest = action.versions.order_by("-number").first()
    if latest is None:
        raise ValidationError(
            f"Action {action.name!r} has never been deployed; deploy it to bind it.",
            field="bindings",
        )
    latest.deployed = True
    latest.save(update_fields=["deployed"])
    audit_record(
        actor=actor,
        verb="bind",
        object_type="action",
        object_id=action.public_id,
        changes={"version": latest.number},
    )


@transaction.atomic
def trigger_bindings_set(trigger_id: str, actions: list[Action], *, actor: str) -> None:
    """Auth0's PATCH of a trigger's bindings for send-phone-message: ``actions`` are bound, every
    other Action of the trigger is unbound, in one transaction."""
    for action in Action.objects.filter(trigger_id=trigger_id).exclude(
        pk__in=[a.pk for a in actions]
    ):
        action_unbind(action, actor=actor)
    for action in actions:
        action_bind(action, actor=actor)


@transaction.atomic
def action_version_redeploy(version: ActionVersion, *, actor: str) -> ActionVersion:
    """Roll back: deploy a copy of an older version as a new version (history stays linear)."""
    action = Action.objects.select_for_update().get(pk=version.action_id)
    version.secrets  # noqa: B018 - refuses (SecretUnavailable) a version no key opens
    new = _deploy_snapshot(
        action,
        actor=actor,
        code=version.code,
        runtime=version.runtime,
        dependencies=version.dependencies,
        declared=selectors.declared_dependencies(version),
        secrets_json=version.secrets_json,
        copied_from=version.number,
    )
    audit_record(
        actor=actor,
        verb="rollback",
        object_type="action",
        object_id=action.public_id,
        changes={"from_version": version.number, "version": new.number},
    )
    return new


@transaction.atomic
def action_draft_discard(action: Action, *, actor: str) -> Action:
    """Make the draft what the deployed version runs again (code, runtime, dependencies and
    secrets); nothing is deployed."""
    version = selectors.deployed_version(action)
    if version is None:
        raise ValidationError("There is no deployed version to go back to.")
    current = set(action.secrets.values_list("name", flat=True))
    secrets = version.secrets
    return action_update(
        action,
        actor=actor,
        code=version.code,
        runtime=version.runtime,
        dependencies=selectors.declared_dependencies(version),
        secret_upserts=secrets,
        secret_deletes=sorted(current - set(secrets)),
    )


@transaction.atomic
def action_delete(action: Action, *, actor: str, force: bool = False) -> None:
    provider = selectors.provider_get()
    bound = (
        provider is not None
        and provider.name == "custom"
        and action.trigger_id == Action.Trigger.CUSTOM_PHONE_PROVIDER
    )
    if bound and not force:
        raise ValidationError(
            "The action is bound to the custom phone provider. Switch the provider away from "
            "custom first, or delete with force=true.",
        )
    if bound:
        provider.disabled = True
        provider.save(update_fields=["disabled", "updated_at"])
    audit_record(actor=actor, verb="delete", object_type="action", object_id=action.public_id)
    action.delete()


@transaction.atomic
def action_create_deployed(*, actor: str, **fields) -> Action:
    """Create an Action and deploy it at once (Auth0's ``deploy: true``).

    One transaction: code that does not validate creates nothing.
    """
    action = action_create(actor=actor, **fields)
    action_deploy(action, actor=actor)
    return action


@transaction.atomic
def action_version_restore(version: ActionVersion, *, actor: str) -> ActionVersion:
    """Roll back and make the draft match the restored version too (Auth0's ``update_draft``)."""
    new = action_version_redeploy(version, actor=actor)
    secrets = version.secrets
    current = set(version.action.secrets.values_list("name", flat=True))
    action_update(
        version.action,
        actor=actor,
        code=version.code,
        runtime=version.runtime,
        dependencies=selectors.declared_dependencies(version),
        secret_upserts=secrets,
        secret_deletes=sorted(current - set(secrets)),
    )
    return new
