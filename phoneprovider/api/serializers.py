"""Rows → Auth0's JSON shapes. Secret values and credentials never leave through here."""

import json
from datetime import UTC, datetime

from django.conf import settings

from phoneprovider import selectors
from phoneprovider.models import (
    Action,
    ActionVersion,
    Execution,
    PhoneMessage,
    PhoneProvider,
    PhoneTemplate,
)
from phoneprovider.providers.templates import DEFAULT_BODIES

RUNTIMES = ["node22"]


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Auth0 writes them."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# --- Phone providers ----------------------------------------------------------------------------


def provider_json(provider: PhoneProvider) -> dict:
    return {
        "id": provider.public_id,
        "tenant": settings.TENANT_NAME,
        "name": provider.name,
        "channel": "phone",
        "disabled": provider.disabled,
        "configuration": provider.configuration,
        "created_at": timestamp(provider.created_at),
        "updated_at": timestamp(provider.updated_at),
    }


# --- Phone templates ----------------------------------------------------------------------------


def _template_content(from_number: str, text: str, voice: str) -> dict:
    content: dict = {"syntax": "liquid"}
    if from_number:
        content["from"] = from_number
    content["body"] = {"text": text, "voice": voice}
    return content


def template_json(template: PhoneTemplate) -> dict:
    return {
        "id": template.public_id,
        "channel": "phone",
        "customizable": True,
        "tenant": settings.TENANT_NAME,
        "type": template.type,
        "disabled": template.disabled,
        "content": _template_content(template.from_number, template.text_body, template.voice_body),
        "created_at": timestamp(template.created_at),
        "updated_at": timestamp(template.updated_at),
    }


def default_template_json(message_type: str) -> dict:
    """A type nobody customised: its built-in content, and no id (as Auth0 lists them)."""
    defaults = DEFAULT_BODIES[message_type]
    return {
        "channel": "phone",
        "customizable": True,
        "tenant": settings.TENANT_NAME,
        "type": message_type,
        "disabled": False,
        "content": _template_content("", defaults["text"], defaults["voice"]),
    }


# --- Actions ------------------------------------------------------------------------------------


def trigger_json(trigger_id: str, version: str) -> dict:
    return {"id": trigger_id, "version": version}


def trigger_full_json(trigger_id: str, version: str) -> dict:
    return {
        "id": trigger_id,
        "version": version,
        "status": "CURRENT" if trigger_id == Action.Trigger.CUSTOM_PHONE_PROVIDER else "DEPRECATED",
        "runtimes": RUNTIMES,
        "default_runtime": RUNTIMES[-1],
        "compatible_triggers": [],
        # The custom-phone-provider Action is bound through the phone provider, not by hand.
        "binding_policy": "entity-bound",
    }


def _action_base(action: Action) -> dict:
    return {
        "id": action.public_id,
        "name": action.name,
        "supported_triggers": [trigger_json(action.trigger_id, action.trigger_version)],
    }


def version_json(
    version: ActionVersion,
    *,
    action: Action | None = None,
    all_changes_deployed: bool | None = None,
) -> dict:
    action = action or version.action
    if all_changes_deployed is None:
        deployed = version if version.deployed else selectors.deployed_version(action)
        all_changes_deployed = selectors.action_all_changes_deployed(action, deployed)
    created = timestamp(version.created_at)
    return {
        "id": version.public_id,
        "action_id": action.public_id,
        "code": version.code,
        "dependencies": version.dependencies,
        "deployed": version.deployed,
        "runtime": version.runtime,
        "secrets": [{"name": name, "updated_at": created} for name in version.secret_names],
        "status": version.status,
        "number": version.number,
        "errors": [],
        "action": {
            **_action_base(action),
            "all_changes_deployed": all_changes_deployed,
            "created_at": timestamp(action.created_at),
            "updated_at": timestamp(action.updated_at),
        },
        "built_at": created,
        "created_at": created,
        "updated_at": created,
        "supported_triggers": [trigger_json(action.trigger_id, action.trigger_version)],
    }


def action_json(action: Action) -> dict:
    deployed = selectors.deployed_version(action)
    all_changes_deployed = selectors.action_all_changes_deployed(action, deployed)
    body = {
        **_action_base(action),
        "all_changes_deployed": all_changes_deployed,
        "created_at": timestamp(action.created_at),
        "updated_at": timestamp(action.updated_at),
        "code": action.code,
        "dependencies": action.dependencies,
        "runtime": action.runtime,
        "secrets": [
            {"name": s.name, "updated_at": timestamp(s.updated_at)} for s in action.secrets.all()
        ],
        "status": action.status,
    }
    if deployed is not None:
        body["deployed_version"] = version_json(
            deployed, action=action, all_changes_deployed=all_changes_deployed
        )
        # Auth0 also answers with the running version in short (Terraform's provider reads it).
        body["current_version"] = {
            "id": deployed.public_id,
            "code": deployed.code,
            "runtime": deployed.runtime,
            "status": deployed.status.upper(),
            "number": deployed.number,
            "build_time": timestamp(deployed.created_at),
            "created_at": timestamp(deployed.created_at),
            "updated_at": timestamp(deployed.created_at),
        }
    if action.built_at is not None:
        body["built_at"] = timestamp(action.built_at)
    return body


def binding_json(action: Action) -> dict:
    return {
        # One binding per Action at most, so the Action's id names it too.
        "id": action.public_id,
        "trigger_id": action.trigger_id,
        "display_name": action.name,
        "action": action_json(action),
        "created_at": timestamp(action.created_at),
        "updated_at": timestamp(action.updated_at),
    }


def _logs_text(logs: list) -> str:
    lines = []
    for entry in logs or []:
        if isinstance(entry, dict):
            level = entry.get("level")
            message = entry.get("message", entry.get("text", ""))
            if not isinstance(message, str):
                message = json.dumps(message)
            lines.append(f"{level}: {message}" if level and level != "log" else message)
        else:
            lines.append(str(entry))
    return "\n".join(lines)


def _error_json(error) -> dict | None:
    """The runtime's error as Auth0's ActionError ``{id, msg}`` (plus position when known)."""
    if not error:
        return None
    if not isinstance(error, dict):
        return {"id": "Error", "msg": str(error)}
    body = {
        "id": str(error.get("name") or error.get("type") or "Error"),
        "msg": str(error.get("message") or error.get("msg") or ""),
    }
    for key in ("line", "column", "stack"):
        if error.get(key) is not None:
            body[key] = error[key]
    return body


def test_result_json(execution: Execution) -> dict:
    payload: dict = {"stats": execution.stats or {}}
    error = _error_json(execution.error)
    if error is not None:
        payload["error"] = error
    if execution.logs:
        payload["logs"] = _logs_text(execution.logs)
    # Beyond Auth0's fields (its payload allows more): what the handler decided, and why.
    payload["status"] = execution.status
    if execution.reason:
        payload["reason"] = execution.reason
    return {"payload": payload}


def execution_json(execution: Execution) -> dict:
    action = execution.action
    finished = execution.status != Execution.Status.PENDING
    result: dict = {
        "action_name": action.name if action else "",
        "started_at": timestamp(execution.created_at),
    }
    if finished:
        result["ended_at"] = timestamp(execution.finished_at or execution.created_at)
    error = _error_json(execution.error)
    if error is not None:
        result["error"] = error
    return {
        "id": execution.public_id,
        "trigger_id": action.trigger_id if action else Action.Trigger.CUSTOM_PHONE_PROVIDER,
        "status": "final" if finished else "pending",
        "results": [result],
        "created_at": timestamp(execution.created_at),
        "updated_at": timestamp(execution.finished_at or execution.created_at),
    }


# --- Sending API --------------------------------------------------------------------------------


def message_json(message: PhoneMessage, *, with_attempts: bool = True) -> dict:
    body = {
        "id": message.public_id,
        "status": message.status,
        "reason": message.reason,
        "to": message.recipient,
        "message_type": message.message_type,
        "delivery_method": message.delivery_method,
        "provider": message.provider_name,
        "provider_message_id": message.provider_message_id,
        "limit_rule": message.limit_rule or None,
        "failed_over": message.failed_over,
        "route": message.route_name or None,
        "idempotency_key": message.idempotency_key,
        "created_at": timestamp(message.created_at),
        "updated_at": timestamp(message.updated_at),
        "sent_at": timestamp(message.sent_at),
        "finished_at": timestamp(message.finished_at),
    }
    if with_attempts:
        # Attempt rows are made by a claim, which counts them: none yet, nothing to ask for.
        attempts = (
            message.attempts.select_related("execution").order_by("number")
            if message.attempt_count
            else []
        )
        body["attempts"] = [
            {
                "number": a.number,
                "provider": a.provider_name,
                "connection": a.connection_name or None,
                "outcome": a.outcome,
                "error": a.error,
                "provider_message_id": a.provider_message_id,
                "execution_id": a.execution.public_id if a.execution else None,
                "started_at": timestamp(a.started_at),
                "ended_at": timestamp(a.ended_at),
            }
            for a in attempts
        ]
    return body
