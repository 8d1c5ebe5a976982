"""The Action sections of the configuration document.

``action`` is the deployed custom-phone-provider handler. ``send_phone_message`` holds the
Actions bound to Auth0's older send-phone-message trigger, keyed by name (the custom provider
runs one of them while no custom-phone-provider Action is deployed). An Action is bound here
while it has a deployed version, so the section lists the deployed ones; applying it deploys
each listed Action and unbinds a deployed one left out (its draft and versions stay, as an
unbound Action stays in Auth0).

Each is written as its deployed version runs it: runtime, dependencies pinned at deploy, secret
names as ``${NAME}`` references, code.
"""

import json

from phoneprovider import selectors
from phoneprovider.models import Action, ActionVersion
from phoneprovider.services import actions as action_services
from phoneprovider.services.config_document import (
    ConfigError,
    check_keys,
    check_type,
    env_value,
    section_errors,
)

HANDLER_KEYS = {"runtime", "code", "dependencies", "secrets"}
ACTION_KEYS = {"name", *HANDLER_KEYS}
DEPENDENCY_KEYS = {"name", "version", "registry_url"}
DEFAULT_ACTION_NAME = "Custom Phone Provider"
LEGACY = "send_phone_message"


def _version_export(version: ActionVersion) -> dict:
    return {
        "runtime": version.runtime,
        "dependencies": [
            {"name": d["name"], "version": d.get("version", "")} for d in version.dependencies
        ],
        "secrets": {name: f"${{{name}}}" for name in sorted(json.loads(version.secrets_json))},
        "code": version.code,
    }


def action_export() -> dict | None:
    """The deployed custom-phone-provider handler, or None when none is deployed."""
    action = selectors.custom_provider_action()
    version = selectors.deployed_version(action)
    if version is None:
        return None
    return {"name": action.name, **_version_export(version)}


def legacy_export() -> dict:
    """The bound (deployed) send-phone-message Actions, ``{name: handler}`` in name order."""
    actions = selectors.action_list(trigger_id=Action.Trigger.SEND_PHONE_MESSAGE, deployed=True)
    exported: dict = {}
    for action in sorted(actions, key=lambda a: (a.name, a.pk)):
        version = selectors.deployed_version(action)
        if version is not None and action.name not in exported:
            exported[action.name] = _version_export(version)
    return exported


def _handler_apply(
    section: dict,
    *,
    path: str,
    name: str,
    trigger_id: str,
    action: Action | None,
    actor: str,
    lines: dict,
    env,
) -> list[str]:
    """Make ``action`` (or a new one) run ``section``: update the draft and deploy it when it
    differs or is not deployed; return the secrets whose value changed (their paths)."""
    code = check_type(section.get("code", ""), str, f"{path}.code", lines, "text (the handler)")
    runtime = check_type(section.get("runtime", "node22"), str, f"{path}.runtime", lines, "text")
    dependencies = check_type(
        section.get("dependencies", []) or [], list, f"{path}.dependencies", lines, "a list"
    )
    for i, dep in enumerate(dependencies):
        check_keys(dep, DEPENDENCY_KEYS, f"{path}.dependencies[{i}]", lines)
    secret_refs = section.get("secrets", {}) or {}
    if not isinstance(secret_refs, dict):
        raise ConfigError(
            "must be a mapping NAME: ${ENV_NAME}",
            path=f"{path}.secrets",
            line=lines.get(f"{path}.secrets") or lines.get(path),
        )
    secrets = {
        name_: env_value(ref, f"{path}.secrets.{name_}", lines, env)
        for name_, ref in secret_refs.items()
    }
    with section_errors(path, lines):
        if action is None:
            action_services.action_create_deployed(
                actor=actor,
                name=name,
                trigger_id=trigger_id,
                code=code,
                runtime=runtime,
                dependencies=dependencies,
                secrets=secrets,
            )
            return [f"{path}.secrets.{n}" for n in sorted(secrets)]
        stored = {s.name: s.value for s in action.secrets.all()}
        upserts = {n: v for n, v in secrets.items() if stored.get(n) != v}
        deletes = [n for n in stored if n not in secrets]
        draft_differs = (
            action.name != name
            or action.code != code
            or action.runtime != runtime
            or action.dependencies != action_services.dependencies_clean(dependencies)
            or upserts
            or deletes
        )
        if draft_differs:
            action = action_services.action_update(
                action,
                actor=actor,
                name=name,
                code=code,
                runtime=runtime,
                dependencies=dependencies,
                secret_upserts=upserts,
                secret_deletes=deletes,
            )
        deployed = selectors.deployed_version(action)
        if draft_differs or not selectors.action_all_changes_deployed(action, deployed):
            action_services.action_deploy(action, actor=actor)
    return [f"{path}.secrets.{n}" for n in sorted(upserts) if n in stored]


def action_apply(section, actor: str, lines: dict, env) -> list[str]:
    path = "action"
    section = check_keys(section, ACTION_KEYS, path, lines)
    name = check_type(section.get("name", DEFAULT_ACTION_NAME), str, f"{path}.name", lines, "text")
    return _handler_apply(
        section,
        path=path,
        name=name,
        trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER,
        action=selectors.custom_provider_action(),
        actor=actor,
        lines=lines,
        env=env,
    )


def legacy_apply(section, actor: str, lines: dict, env) -> list[str]:
    """Deploy each listed send-phone-message Action (matched by name); unbind the rest."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(
            "must be a mapping of Action names to {runtime, dependencies, secrets, code}",
            path=LEGACY,
            line=lines.get(LEGACY),
        )
    existing = list(
        Action.objects.filter(trigger_id=Action.Trigger.SEND_PHONE_MESSAGE).order_by(
            "created_at", "pk"
        )
    )
    changed: list[str] = []
    for name, body in section.items():
        sub = f"{LEGACY}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("an Action's name must be text", path=sub, line=lines.get(sub))
        body = check_keys(body, HANDLER_KEYS, sub, lines)
        action = next((a for a in existing if a.name == name), None)
        changed += _handler_apply(
            body,
            path=sub,
            name=name,
            trigger_id=Action.Trigger.SEND_PHONE_MESSAGE,
            action=action,
            actor=actor,
            lines=lines,
            env=env,
        )
    for action in existing:
        if action.name not in section:
            action_services.action_unbind(action, actor=actor)
    return changed
