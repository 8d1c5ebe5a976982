"""Import an Auth0 tenant's phone setup through its Management API.

Reads the phone provider, the customised phone templates, the custom-phone-provider Action and
the Actions bound to the older send-phone-message trigger (code, runtime, dependencies, secret
*names*; an unbound send-phone-message Action is not imported), turns them into the document of
``services.config`` and applies it there, so an import is one transaction with the same diff,
dry run and audit as ``apply_config``. Auth0 never returns secret values or the Twilio auth
token: they come from ``values`` (``--secret NAME=VALUE`` or the environment); what is missing is
listed, left out, and the provider is imported disabled until the values are given.

Any server speaking Auth0's Management API works, this one included (``base_url``).
"""

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings

from phoneprovider.errors import ValidationError
from phoneprovider.net import OutboundError, outbound_request
from phoneprovider.net.guard import HttpPolicy
from phoneprovider.services import config as config_services
from phoneprovider.services.config_actions import LEGACY

CUSTOM_TRIGGER = "custom-phone-provider"
LEGACY_TRIGGER = "send-phone-message"
PAGE_SIZE = 50
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a list of Actions with 100 kB of code each
TIMEOUT_S = 30.0


class TenantReadError(ValidationError):
    """The tenant could not be read: a network failure or an answer that says why."""


@dataclass
class ImportPlan:
    doc: dict
    values: dict[str, str]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _policy() -> HttpPolicy:
    return HttpPolicy(
        allowed_networks=tuple(settings.OUTBOUND_ALLOWED_NETWORKS),
        timeout_s=TIMEOUT_S,
        max_response_bytes=MAX_RESPONSE_BYTES,
    )


def _request(method: str, url: str, **kwargs) -> dict:
    try:
        response = outbound_request(method, url, policy=_policy(), **kwargs)
    except OutboundError as exc:
        raise TenantReadError(f"{method} {url}: {exc}") from None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        detail = body.get("message") if isinstance(body, dict) else response.content[:200]
        raise TenantReadError(f"{method} {url} answered {response.status_code}: {detail}")
    return body


def auth0_token(*, domain: str, client_id: str, client_secret: str, token_url: str = "") -> str:
    """A Management API token through the client-credentials grant."""
    url = token_url or f"https://{domain}/oauth/token"
    body = _request(
        "POST",
        url,
        json_body={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": f"https://{domain}/api/v2/",
        },
    )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise TenantReadError(f"POST {url} answered without an access_token")
    return token


def auth0_read(*, base_url: str, token: str) -> dict:
    """The tenant's phone provider, templates and phone Actions, as Auth0 returns them."""
    base = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(path: str, query: dict | None = None) -> dict:
        url = base + path + (f"?{urlencode(query)}" if query else "")
        return _request("GET", url, headers=headers)

    def pages(path: str, key: str, query: dict | None = None) -> list:
        items, page = [], 0
        while True:
            body = get(path, {**(query or {}), "page": page, "per_page": PAGE_SIZE})
            items += body.get(key) or []
            if (page + 1) * PAGE_SIZE >= int(body.get("total", 0)) or not body.get(key):
                return items
            page += 1

    actions = []
    for trigger in (CUSTOM_TRIGGER, LEGACY_TRIGGER):
        actions += [
            (trigger, a) for a in pages("/actions/actions", "actions", {"triggerId": trigger})
        ]
    bindings = pages(f"/actions/triggers/{LEGACY_TRIGGER}/bindings", "bindings")
    return {
        "providers": get("/branding/phone/providers").get("providers", []),
        "templates": get("/branding/phone/templates").get("templates", []),
        "actions": actions,
        # The Action ids bound to send-phone-message, in the order Auth0 runs them.
        "legacy_bound": [(b.get("action") or {}).get("id") for b in bindings],
    }


def import_plan(tenant: dict, values: dict[str, str]) -> ImportPlan:
    """Auth0's objects → a configuration document, with the secret values that were given."""
    doc: dict = {"version": config_services.VERSION}
    plan = ImportPlan(doc=doc, values={})

    def reference(name: str) -> str | None:
        if values.get(name):
            plan.values[name] = values[name]
            return f"${{{name}}}"
        if name not in plan.missing:  # two Actions may read a secret of the same name
            plan.missing.append(name)
        return None

    def handler_section(action: dict) -> dict:
        """What the Action's deployed version runs (its draft when it has none)."""
        source = action.get("deployed_version") or action
        secrets = {}
        for secret in source.get("secrets") or action.get("secrets") or []:
            ref = reference(secret["name"])
            if ref:
                secrets[secret["name"]] = ref
        return {
            "runtime": source.get("runtime") or action.get("runtime") or "node22",
            "dependencies": [
                {"name": d["name"], "version": d.get("version", "")}
                for d in source.get("dependencies") or []
            ],
            "secrets": secrets,
            "code": source.get("code") or action.get("code") or "",
        }

    handler = None
    legacy: dict[str, dict] = {}
    for trigger, action in tenant["actions"]:
        if trigger == LEGACY_TRIGGER:
            legacy[action.get("id")] = action
        elif handler is None or (action.get("deployed_version") and not handler.get("deployed")):
            handler = {**action, "deployed": bool(action.get("deployed_version"))}
    if handler is not None:
        doc["action"] = {
            "name": handler.get("name") or "Custom Phone Provider",
            **handler_section(handler),
        }
        if not handler["deployed"]:
            plan.notes.append(
                f"Action {handler.get('name')!r} is not deployed in Auth0; it is here."
            )

    bound = [legacy[i] for i in dict.fromkeys(tenant.get("legacy_bound", [])) if i in legacy]
    doc[LEGACY] = {}
    for action in bound:
        name = action.get("name") or "Send Phone Message"
        if name in doc[LEGACY]:
            plan.notes.append(
                f"A second bound send-phone-message Action named {name!r} is left out."
            )
            continue
        doc[LEGACY][name] = handler_section(action)
    for action in legacy.values():
        if action not in bound:
            plan.notes.append(
                f"Action {action.get('name')!r} (send-phone-message) is not bound in Auth0; "
                "not imported."
            )
    if len(doc[LEGACY]) > 1:
        plan.notes.append(
            "Auth0 runs every bound send-phone-message Action in turn; here one of them runs: "
            "keep one bound."
        )
    if doc[LEGACY] and handler is not None:
        plan.notes.append(
            "The send-phone-message Actions run only while no custom-phone-provider Action is "
            "deployed."
        )

    if tenant["providers"]:
        provider = tenant["providers"][0]
        configuration = provider.get("configuration") or {}
        section: dict = {
            "name": provider.get("name"),
            "disabled": bool(provider.get("disabled", False)),
            "delivery_methods": configuration.get("delivery_methods", []),
        }
        for key in ("sid", "default_from", "mssid"):
            if configuration.get(key):
                section[key] = configuration[key]
        if provider.get("name") == "twilio" or configuration.get("sid"):
            ref = reference(config_services.TOKEN_ENV)
            if ref:
                section["auth_token"] = ref
            elif provider.get("name") == "twilio":
                section["disabled"] = True
        if provider.get("name") == "custom" and plan.missing:
            section["disabled"] = True
        if section["disabled"] and not provider.get("disabled", False):
            plan.notes.append(
                "The provider is imported disabled until the missing values are given; "
                "run the import again with them."
            )
        doc["provider"] = section

    doc["templates"] = {
        t["type"]: {
            "disabled": bool(t.get("disabled", False)),
            "from": (t.get("content") or {}).get("from", "") or "",
            "text": ((t.get("content") or {}).get("body") or {}).get("text", ""),
            "voice": ((t.get("content") or {}).get("body") or {}).get("voice", ""),
        }
        for t in tenant["templates"]
        if t.get("id")  # types never customised come without an id: the defaults
    }
    return plan


def auth0_import(
    *, base_url: str, token: str, values: dict[str, str], actor: str, dry_run: bool = False
) -> tuple[ImportPlan, config_services.ApplyResult]:
    plan = import_plan(auth0_read(base_url=base_url, token=token), values)
    result = config_services.config_apply(plan.doc, actor=actor, env=plan.values, dry_run=dry_run)
    return plan, result
