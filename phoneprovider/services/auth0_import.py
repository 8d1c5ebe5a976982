"""Import an Auth0 tenant's phone setup through its Management API.

Reads the phone provider, the customised phone templates and the custom-phone-provider Action
(code, runtime, dependencies, secret *names*), turns them into the configuration document of
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

    actions = []
    for trigger in ("custom-phone-provider", "send-phone-message"):
        page = 0
        while True:
            body = get("/actions/actions", {"triggerId": trigger, "page": page, "per_page": 50})
            actions += [(trigger, a) for a in body.get("actions", [])]
            if (page + 1) * 50 >= int(body.get("total", 0)) or not body.get("actions"):
                break
            page += 1
    return {
        "providers": get("/branding/phone/providers").get("providers", []),
        "templates": get("/branding/phone/templates").get("templates", []),
        "actions": actions,
    }


def import_plan(tenant: dict, values: dict[str, str]) -> ImportPlan:
    """Auth0's objects → a configuration document, with the secret values that were given."""
    doc: dict = {"version": config_services.VERSION}
    plan = ImportPlan(doc=doc, values={})

    def reference(name: str) -> str | None:
        if values.get(name):
            plan.values[name] = values[name]
            return f"${{{name}}}"
        plan.missing.append(name)
        return None

    handler = None
    for trigger, action in tenant["actions"]:
        if trigger != "custom-phone-provider":
            plan.notes.append(
                f"Action {action.get('name')!r} uses the older send-phone-message trigger; "
                "not imported (rewrite it as a custom-phone-provider handler)."
            )
        elif handler is None or (action.get("deployed_version") and not handler.get("deployed")):
            handler = {**action, "deployed": bool(action.get("deployed_version"))}
    if handler is not None:
        source = handler.get("deployed_version") or handler
        secrets = {}
        for secret in source.get("secrets") or handler.get("secrets") or []:
            ref = reference(secret["name"])
            if ref:
                secrets[secret["name"]] = ref
        doc["action"] = {
            "name": handler.get("name") or "Custom Phone Provider",
            "runtime": source.get("runtime") or handler.get("runtime") or "node22",
            "dependencies": [
                {"name": d["name"], "version": d.get("version", "")}
                for d in source.get("dependencies") or []
            ],
            "secrets": secrets,
            "code": source.get("code") or handler.get("code") or "",
        }
        if not handler["deployed"]:
            plan.notes.append(
                f"Action {handler.get('name')!r} is not deployed in Auth0; it is here."
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
