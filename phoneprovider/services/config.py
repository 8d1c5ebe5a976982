"""Configuration as code: the phone setup as one YAML document, exported and applied.

One home for the logic behind ``manage.py export_config`` / ``apply_config`` and
``GET|PUT /api/v2/phone/config``. The document holds the provider, the customised templates, the
deployed custom-phone-provider handler and the bound send-phone-message Actions (code, runtime,
dependencies, secret names; ``config_actions``), the delivery limits, and the routing connections
and rules (``config_routes``). Secret values never appear in it: the Twilio auth tokens and every
Action secret are ``${ENV_NAME}`` references, read
from the environment when applied, so an export contains no secret and applying the same file
twice changes nothing.

Applying runs in one transaction through the same services the dashboard and API use, so a bad
value anywhere leaves everything as it was; ``dry_run`` does the whole apply and rolls it back.
"""

import json
import os
from dataclasses import dataclass, field

from django.db import transaction

from phoneprovider import selectors
from phoneprovider.models import DeliveryPolicy, MessageType, PhoneProvider, PhoneTemplate
from phoneprovider.services import config_actions, config_routes
from phoneprovider.services import limits as limit_services
from phoneprovider.services import providers as provider_services
from phoneprovider.services import templates as template_services
from phoneprovider.services.audit import audit_record
from phoneprovider.services.config_document import (  # noqa: F401 - the document's API, here too
    ConfigError,
    check_keys,
    check_type,
    config_dump,
    config_load,
    env_value,
    section_errors,
    token_apply,
)

VERSION = 1
TOKEN_ENV = "TWILIO_AUTH_TOKEN"  # noqa: S105 - the name of a variable, not a value

PROVIDER_KEYS = {
    "name",
    "disabled",
    "delivery_methods",
    "sid",
    "default_from",
    "mssid",
    "auth_token",
}
TEMPLATE_KEYS = {"disabled", "from", "text", "voice"}
LIMIT_KEYS = {
    "mode",
    *limit_services.NUMBER_FIELDS,
    *limit_services.COUNTRY_FIELDS,
    "failover_to_twilio",
}
TOP_KEYS = {
    "version",
    "provider",
    "templates",
    "action",
    config_actions.LEGACY,
    "limits",
    config_routes.CONNECTIONS,
    config_routes.ROUTES,
}


@dataclass
class ApplyResult:
    changes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# --- Export -------------------------------------------------------------------------------------


def config_export() -> dict:
    """The installation's phone setup as a document (no secret values, only references)."""
    doc: dict = {"version": VERSION}
    provider = selectors.provider_get()
    if provider is not None:
        section: dict = {
            "name": provider.name,
            "disabled": provider.disabled,
            "delivery_methods": list(provider.delivery_methods),
        }
        for key, value in (
            ("sid", provider.twilio_sid),
            ("default_from", provider.twilio_default_from),
            ("mssid", provider.twilio_mssid),
        ):
            if value:
                section[key] = value
        if provider.twilio_auth_token:
            section["auth_token"] = f"${{{TOKEN_ENV}}}"
        doc["provider"] = section
    doc["templates"] = {
        t.type: {
            "disabled": t.disabled,
            "from": t.from_number,
            "text": t.text_body,
            "voice": t.voice_body,
        }
        for t in PhoneTemplate.objects.order_by("type")
    }
    handler = config_actions.action_export()
    if handler is not None:
        doc["action"] = handler
    doc[config_actions.LEGACY] = config_actions.legacy_export()
    policy = selectors.policy_get()
    doc["limits"] = {
        "mode": str(policy.mode),
        **{name: getattr(policy, name) for name in limit_services.NUMBER_FIELDS},
        **{name: list(getattr(policy, name)) for name in limit_services.COUNTRY_FIELDS},
        "failover_to_twilio": policy.failover_to_twilio,
    }
    doc[config_routes.CONNECTIONS] = config_routes.connections_export()
    doc[config_routes.ROUTES] = config_routes.routes_export()
    return doc


# --- Apply --------------------------------------------------------------------------------------


def _flat(doc, prefix: str = "") -> dict[str, object]:
    if isinstance(doc, dict) and doc:
        out: dict = {}
        for key, value in doc.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: doc}


def _diff(before: dict, after: dict) -> list[str]:
    old, new = _flat(before), _flat(after)
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            lines.append(f"- {key}")
        elif key not in old:
            lines.append(f"+ {key}: {_show(new[key])}")
        elif old[key] != new[key]:
            lines.append(f"~ {key}: {_show(old[key])} → {_show(new[key])}")
    return lines


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


class _Rollback(Exception):
    pass


def config_apply(
    doc: dict,
    *,
    actor: str,
    lines: dict[str, int] | None = None,
    env=None,
    dry_run: bool = False,
) -> ApplyResult:
    """Make the installation match ``doc``; return what changed (or would, with ``dry_run``).

    Sections left out of the document are left alone; ``templates`` lists every customised
    type (a customised type not listed goes back to the default bodies),
    ``send_phone_message`` every bound Action of that trigger (one left out is unbound), and
    ``phone_connections`` / ``phone_routes`` every connection and rule (one left out is
    deleted).
    """
    lines = lines or {}
    env = os.environ if env is None else env
    check_keys(doc, TOP_KEYS, "", lines)
    if doc.get("version", VERSION) != VERSION:
        raise ConfigError(f"version must be {VERSION}", path="version", line=lines.get("version"))
    result = ApplyResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            before = config_export()
            secrets_changed: list[str] = []
            if "action" in doc:
                secrets_changed += config_actions.action_apply(doc["action"], actor, lines, env)
            if config_actions.LEGACY in doc:
                secrets_changed += config_actions.legacy_apply(
                    doc[config_actions.LEGACY], actor, lines, env
                )
            if "provider" in doc:
                secrets_changed += _apply_provider(doc["provider"], actor, lines, env)
            if "templates" in doc:
                _apply_templates(doc["templates"], actor, lines)
            if "limits" in doc:
                _apply_limits(doc["limits"], actor, lines)
            # After the handler: a custom connection needs it deployed.
            secrets_changed += config_routes.routing_apply(doc, actor, lines, env)
            result.changes = _diff(
                config_routes.routes_comparable(before),
                config_routes.routes_comparable(config_export()),
            ) + [f"~ {path}: (new value from the environment)" for path in secrets_changed]
            if result.changes:
                audit_record(
                    actor=actor,
                    verb="apply",
                    object_type="phone_config",
                    changes={"changes": result.changes},
                )
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return result


def _apply_provider(section, actor: str, lines: dict, env) -> list[str]:
    path = "provider"
    section = check_keys(section, PROVIDER_KEYS, path, lines)
    fields: dict = {}
    for key, kind, label in (
        ("name", str, "twilio or custom"),
        ("disabled", bool, "true or false"),
        ("delivery_methods", list, "a list (text, voice)"),
        ("sid", str, "text"),
        ("default_from", str, "text"),
        ("mssid", str, "text"),
    ):
        if key in section:
            check_type(section[key], kind, f"{path}.{key}", lines, label)
    fields["name"] = section.get("name", PhoneProvider.Name.TWILIO)
    fields["disabled"] = section.get("disabled", False)
    fields["delivery_methods"] = section.get("delivery_methods", [])
    fields["twilio_sid"] = section.get("sid", "")
    fields["twilio_default_from"] = section.get("default_from", "")
    fields["twilio_mssid"] = section.get("mssid", "")
    changed: list[str] = []
    provider = selectors.provider_get()
    token_apply(section, provider, fields, changed, path, lines, env)
    with section_errors(path, lines):
        if provider is None:
            provider_services.provider_create(actor=actor, **fields)
        else:
            current = {
                "name": provider.name,
                "disabled": provider.disabled,
                "delivery_methods": list(provider.delivery_methods),
                "twilio_sid": provider.twilio_sid,
                "twilio_default_from": provider.twilio_default_from,
                "twilio_mssid": provider.twilio_mssid,
            }
            if any(current.get(k) != v for k, v in fields.items()) or changed:
                provider_services.provider_update(provider, actor=actor, **fields)
    return changed


def _apply_templates(section, actor: str, lines: dict) -> None:
    path = "templates"
    section = check_keys(section, set(MessageType.values), path, lines)
    existing = {t.type: t for t in PhoneTemplate.objects.all()}
    for type_, body in section.items():
        sub = f"{path}.{type_}"
        body = check_keys(body, TEMPLATE_KEYS, sub, lines)
        values = {
            "disabled": body.get("disabled", False),
            "from_number": body.get("from", "") or "",
            "text_body": body.get("text"),
            "voice_body": body.get("voice"),
        }
        check_type(values["disabled"], bool, f"{sub}.disabled", lines, "true or false")
        for key, name in (("from_number", "from"), ("text_body", "text"), ("voice_body", "voice")):
            if values[key] is not None:
                check_type(values[key], str, f"{sub}.{name}", lines, "text")
        with section_errors(sub, lines):
            template = existing.get(type_)
            if template is None:
                # As the API: a From Auth0 stores (e.g. 1234567890) is stored as given.
                template_services.template_create(actor=actor, type=type_, any_from=True, **values)
            else:
                current = {
                    "disabled": template.disabled,
                    "from_number": template.from_number,
                    "text_body": template.text_body,
                    "voice_body": template.voice_body,
                }
                wanted = {k: v for k, v in values.items() if v is not None}
                if any(current[k] != v for k, v in wanted.items()):
                    template_services.template_update(
                        template, actor=actor, any_from=True, **wanted
                    )
    for type_, template in existing.items():
        if type_ not in section:
            template_services.template_delete(template, actor=actor)


def _apply_limits(section, actor: str, lines: dict) -> None:
    path = "limits"
    section = check_keys(section, LIMIT_KEYS, path, lines)
    policy: DeliveryPolicy = selectors.policy_get()
    changes = {}
    for key, value in section.items():
        current = getattr(policy, key)
        if key in limit_services.COUNTRY_FIELDS:
            check_type(value, list, f"{path}.{key}", lines, "a list of country codes")
            if sorted(str(v).upper() for v in value) != sorted(current):
                changes[key] = value
        elif value != current:
            changes[key] = value
    if changes:
        with section_errors(path, lines):
            limit_services.policy_update(actor=actor, **changes)
