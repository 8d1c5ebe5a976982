"""Configuration as code: the phone setup as one YAML document, exported and applied.

One home for the logic behind ``manage.py export_config`` / ``apply_config`` and
``GET|PUT /api/v2/phone/config``. The document holds the provider, the customised templates, the
deployed custom-phone-provider handler (code, runtime, dependencies, secret names) and the
delivery limits. Secret values never appear in it: the Twilio auth token and every Action secret
are ``${ENV_NAME}`` references, read from the environment when applied, so an export contains no
secret and applying the same file twice changes nothing.

Applying runs in one transaction through the same services the dashboard and API use, so a bad
value anywhere leaves everything as it was; ``dry_run`` does the whole apply and rolls it back.
"""

import json
import os
import re
from dataclasses import dataclass, field

import yaml
from django.db import transaction

from phoneprovider import selectors
from phoneprovider.errors import ApplicationError, ValidationError
from phoneprovider.models import Action, DeliveryPolicy, MessageType, PhoneProvider, PhoneTemplate
from phoneprovider.services import actions as action_services
from phoneprovider.services import limits as limit_services
from phoneprovider.services import providers as provider_services
from phoneprovider.services import templates as template_services
from phoneprovider.services.audit import audit_record

VERSION = 1
TOKEN_ENV = "TWILIO_AUTH_TOKEN"  # noqa: S105 - the name of a variable, not a value
_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

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
ACTION_KEYS = {"name", "runtime", "code", "dependencies", "secrets"}
LIMIT_KEYS = {
    "mode",
    *limit_services.NUMBER_FIELDS,
    *limit_services.COUNTRY_FIELDS,
    "failover_to_twilio",
}
TOP_KEYS = {"version", "provider", "templates", "action", "limits"}


class ConfigError(ValidationError):
    """A problem with the document, naming the line (when read from text) and the field."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None):
        where = ", ".join(p for p in (f"line {line}" if line else "", path) if p)
        super().__init__(f"{where}: {message}" if where else message, field=path or None)
        self.path = path
        self.config_line = line


@dataclass
class ApplyResult:
    changes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# --- Reading ------------------------------------------------------------------------------------


def config_load(text: str) -> tuple[dict, dict[str, int]]:
    """Parse YAML text; return the document and the line of every key path (``a.b.c``)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"not readable as YAML: {problem}", line=mark.line + 1 if mark else None
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the document must be a mapping (provider:, templates:, …)", line=1)
    lines: dict[str, int] = {}
    _lines_of(node, "", lines)
    return data, lines


def _lines_of(node, path: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            lines[sub] = key.start_mark.line + 1
            _lines_of(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            lines[sub] = item.start_mark.line + 1
            _lines_of(item, sub, lines)


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
    action = selectors.custom_provider_action()
    version = selectors.deployed_version(action)
    if version is not None:
        doc["action"] = {
            "name": action.name,
            "runtime": version.runtime,
            "dependencies": [
                {"name": d["name"], "version": d.get("version", "")} for d in version.dependencies
            ],
            "secrets": {name: f"${{{name}}}" for name in sorted(json.loads(version.secrets_json))},
            "code": version.code,
        }
    policy = selectors.policy_get()
    doc["limits"] = {
        "mode": str(policy.mode),
        **{name: getattr(policy, name) for name in limit_services.NUMBER_FIELDS},
        **{name: list(getattr(policy, name)) for name in limit_services.COUNTRY_FIELDS},
        "failover_to_twilio": policy.failover_to_twilio,
    }
    return doc


def _text(dumper, value):
    """Multi-line text (handler code, template bodies) as a YAML block, the rest as usual."""
    block = "\n" in value and all(ch == "\n" or ch.isprintable() for ch in value)
    block = block and not value.endswith((" ", "\n\n")) and "\n " not in value.split("\n", 1)[0]
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _text)
_Dumper.add_multi_representer(str, _text)  # TextChoices values too


def config_dump(doc: dict) -> str:
    """The document as YAML, keys in a reading order, code and bodies as blocks."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# --- Apply --------------------------------------------------------------------------------------


def _env_value(value, path: str, lines: dict, env) -> str:
    if not isinstance(value, str) or not _REFERENCE.match(value):
        raise ConfigError(
            "secret values are not written in the file; use an ${ENV_NAME} reference",
            path=path,
            line=lines.get(path),
        )
    name = _REFERENCE.match(value).group(1)
    if name not in env or env[name] == "":
        raise ConfigError(
            f"the environment variable {name} is not set", path=path, line=lines.get(path)
        )
    return env[name]


def _check_keys(section, allowed: set, path: str, lines: dict) -> dict:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError("must be a mapping", path=path, line=lines.get(path))
    for key in section:
        if key not in allowed:
            sub = f"{path}.{key}" if path else str(key)
            raise ConfigError(
                f"unknown key {key!r}; known keys: {', '.join(sorted(allowed))}",
                path=sub,
                line=lines.get(sub),
            )
    return section


def _type(value, kind, path: str, lines: dict, label: str):
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"must be {label}", path=path, line=lines.get(path))
    return value


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
    type (a customised type not listed goes back to the default bodies).
    """
    lines = lines or {}
    env = os.environ if env is None else env
    _check_keys(doc, TOP_KEYS, "", lines)
    if doc.get("version", VERSION) != VERSION:
        raise ConfigError(f"version must be {VERSION}", path="version", line=lines.get("version"))
    result = ApplyResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            before = config_export()
            secrets_changed: list[str] = []
            if "action" in doc:
                secrets_changed += _apply_action(doc["action"], actor, lines, env)
            if "provider" in doc:
                secrets_changed += _apply_provider(doc["provider"], actor, lines, env)
            if "templates" in doc:
                _apply_templates(doc["templates"], actor, lines)
            if "limits" in doc:
                _apply_limits(doc["limits"], actor, lines)
            result.changes = _diff(before, config_export()) + [
                f"~ {path}: (new value from the environment)" for path in secrets_changed
            ]
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


def _section_errors(path: str, lines: dict):
    """Re-raise a service's error with the document's line and field beside it."""

    class _Wrap:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if isinstance(exc, ConfigError) or not isinstance(exc, ApplicationError):
                return False
            sub = f"{path}.{exc.field}" if getattr(exc, "field", None) else path
            line = lines.get(sub) or lines.get(path)
            raise ConfigError(exc.message, path=sub, line=line) from None

    return _Wrap()


def _apply_provider(section, actor: str, lines: dict, env) -> list[str]:
    path = "provider"
    section = _check_keys(section, PROVIDER_KEYS, path, lines)
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
            _type(section[key], kind, f"{path}.{key}", lines, label)
    fields["name"] = section.get("name", PhoneProvider.Name.TWILIO)
    fields["disabled"] = section.get("disabled", False)
    fields["delivery_methods"] = section.get("delivery_methods", [])
    fields["twilio_sid"] = section.get("sid", "")
    fields["twilio_default_from"] = section.get("default_from", "")
    fields["twilio_mssid"] = section.get("mssid", "")
    changed: list[str] = []
    provider = selectors.provider_get()
    if "auth_token" in section:
        token = _env_value(section["auth_token"], f"{path}.auth_token", lines, env)
        if provider is None or provider.twilio_auth_token != token:
            fields["twilio_auth_token"] = token
            changed.append(f"{path}.auth_token")
    with _section_errors(path, lines):
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
    section = _check_keys(section, set(MessageType.values), path, lines)
    existing = {t.type: t for t in PhoneTemplate.objects.all()}
    for type_, body in section.items():
        sub = f"{path}.{type_}"
        body = _check_keys(body, TEMPLATE_KEYS, sub, lines)
        values = {
            "disabled": body.get("disabled", False),
            "from_number": body.get("from", "") or "",
            "text_body": body.get("text"),
            "voice_body": body.get("voice"),
        }
        _type(values["disabled"], bool, f"{sub}.disabled", lines, "true or false")
        for key, name in (("from_number", "from"), ("text_body", "text"), ("voice_body", "voice")):
            if values[key] is not None:
                _type(values[key], str, f"{sub}.{name}", lines, "text")
        with _section_errors(sub, lines):
            template = existing.get(type_)
            if template is None:
                template_services.template_create(actor=actor, type=type_, **values)
            else:
                current = {
                    "disabled": template.disabled,
                    "from_number": template.from_number,
                    "text_body": template.text_body,
                    "voice_body": template.voice_body,
                }
                wanted = {k: v for k, v in values.items() if v is not None}
                if any(current[k] != v for k, v in wanted.items()):
                    template_services.template_update(template, actor=actor, **wanted)
    for type_, template in existing.items():
        if type_ not in section:
            template_services.template_delete(template, actor=actor)


def _apply_action(section, actor: str, lines: dict, env) -> list[str]:
    path = "action"
    section = _check_keys(section, ACTION_KEYS, path, lines)
    code = _type(section.get("code", ""), str, f"{path}.code", lines, "text (the handler)")
    name = _type(section.get("name", "Custom Phone Provider"), str, f"{path}.name", lines, "text")
    runtime = _type(section.get("runtime", "node22"), str, f"{path}.runtime", lines, "text")
    dependencies = _type(
        section.get("dependencies", []) or [], list, f"{path}.dependencies", lines, "a list"
    )
    for i, dep in enumerate(dependencies):
        _check_keys(dep, {"name", "version", "registry_url"}, f"{path}.dependencies[{i}]", lines)
    secret_refs = section.get("secrets", {}) or {}
    if not isinstance(secret_refs, dict):
        raise ConfigError(
            "must be a mapping NAME: ${ENV_NAME}", path=f"{path}.secrets", line=lines.get(path)
        )
    secrets = {
        name_: _env_value(ref, f"{path}.secrets.{name_}", lines, env)
        for name_, ref in secret_refs.items()
    }
    action = selectors.custom_provider_action()
    changed: list[str] = []
    with _section_errors(path, lines):
        if action is None:
            action_services.action_create_deployed(
                actor=actor,
                name=name,
                trigger_id=Action.Trigger.CUSTOM_PHONE_PROVIDER,
                code=code,
                runtime=runtime,
                dependencies=dependencies,
                secrets=secrets,
            )
            return [f"{path}.secrets.{n}" for n in sorted(secrets)]
        stored = {s.name: s.value for s in action.secrets.all()}
        upserts = {n: v for n, v in secrets.items() if stored.get(n) != v}
        deletes = [n for n in stored if n not in secrets]
        changed = [f"{path}.secrets.{n}" for n in sorted(upserts) if n in stored]
        deployed = selectors.deployed_version(action)
        draft_differs = (
            action.name != name
            or action.code != code
            or action.runtime != runtime
            or action.dependencies != action_services._dependencies_clean(dependencies)
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
        if draft_differs or not selectors.action_all_changes_deployed(action, deployed):
            action_services.action_deploy(action, actor=actor)
    return changed


def _apply_limits(section, actor: str, lines: dict) -> None:
    path = "limits"
    section = _check_keys(section, LIMIT_KEYS, path, lines)
    policy: DeliveryPolicy = selectors.policy_get()
    changes = {}
    for key, value in section.items():
        current = getattr(policy, key)
        if key in limit_services.COUNTRY_FIELDS:
            _type(value, list, f"{path}.{key}", lines, "a list of country codes")
            if sorted(str(v).upper() for v in value) != sorted(current):
                changes[key] = value
        elif value != current:
            changes[key] = value
    if changes:
        with _section_errors(path, lines):
            limit_services.policy_update(actor=actor, **changes)
