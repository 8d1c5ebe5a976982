"""The custom provider: build Auth0's ``event`` for a message and run the deployed handler."""

from __future__ import annotations

from django.conf import settings

from phoneprovider import runtime
from phoneprovider.providers import SendResult

_SAMPLE_USER = {
    "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
    "name": "Jane Doe",
    "nickname": "jane",
    "given_name": "Jane",
    "family_name": "Doe",
    "email": "jane.doe@example.com",
    "email_verified": True,
    "phone_verified": True,
    "picture": "https://example.com/jane.png",
    "created_at": "2024-01-01T00:00:00.000Z",
    "updated_at": "2024-01-01T00:00:00.000Z",
    "app_metadata": {},
    "user_metadata": {},
    "identities": [],
}


def tenant() -> dict:
    return {"id": settings.TENANT_NAME, "friendly_name": settings.TENANT_FRIENDLY_NAME}


def build_event(message, secrets: dict[str, str]) -> dict:
    """Auth0's custom-phone-provider event: what the sender supplied, sane defaults for the rest."""
    context = message.context or {}
    notification = {
        "message_type": message.message_type,
        "delivery_method": message.delivery_method,
        "recipient": message.recipient,
        "as_text": message.as_text,
        "as_voice": message.as_voice,
    }
    if message.code:
        notification["code"] = message.code
    if message.sender:
        notification["from"] = message.sender
    if message.locale:
        notification["locale"] = message.locale
    user = {
        "user_id": "",
        "email_verified": False,
        "created_at": message.created_at.isoformat(),
        "updated_at": message.created_at.isoformat(),
        "app_metadata": {},
        "user_metadata": {},
        "phone_number": message.recipient,
        **(context.get("user") or {}),
    }
    event = {
        "notification": notification,
        "client": {"client_id": "", "name": "", "metadata": {}, **(context.get("client") or {})},
        "tenant": {**tenant(), **(context.get("tenant") or {})},
        "request": {
            "ip": "",
            "method": "POST",
            "geoip": {},
            **(context.get("request") or {}),
        },
        "user": user,
        "transaction": {"correlation_id": message.public_id},
        "secrets": dict(secrets),
        "configuration": {},
    }
    for optional in ("organization", "connection", "custom_domain"):
        if context.get(optional):
            event[optional] = context[optional]
    return event


def limits() -> runtime.Limits:
    return runtime.Limits(
        timeout_s=settings.ACTIONS_EXECUTION_TIMEOUT,
        memory_mb=settings.ACTIONS_MEMORY_LIMIT_MB,
        max_fetches=settings.ACTIONS_MAX_FETCHES,
        max_response_bytes=settings.ACTIONS_MAX_RESPONSE_BYTES,
        max_log_bytes=settings.ACTIONS_MAX_LOG_BYTES,
    )


def run(
    *,
    code: str,
    trigger: str,
    event: dict,
    secrets: dict,
    context_key: str,
    cache_namespace: str,
    dry_run: bool = False,
) -> runtime.Outcome:
    """Run handler code in the sandbox with this installation's capabilities and limits."""
    return runtime.execute(
        code,
        event,
        trigger=trigger,
        context_key=context_key,
        secrets=secrets,
        http_policy=runtime.HttpPolicy(allowed_networks=list(settings.OUTBOUND_ALLOWED_NETWORKS)),
        cache=handler_cache(),
        cache_namespace=cache_namespace,
        dry_run=dry_run,
        limits=limits(),
    )


def handler_cache():
    """api.cache outlives one execution: Redis when configured, else a process-local store."""
    if settings.REDIS_URL:
        return runtime.RedisCacheStore(settings.REDIS_URL)
    return runtime.MemoryCacheStore()


def send(message, version, secrets: dict[str, str]) -> SendResult:
    action = version.action
    outcome = run(
        code=version.code,
        trigger=action.trigger_id,
        event=build_event(message, secrets),
        secrets=secrets,
        context_key=f"{action.public_id}:{version.public_id}",
        cache_namespace=action.public_id,
    )
    record = outcome.to_dict()
    result = {
        "delivered": SendResult("delivered"),
        "drop": SendResult("dropped", outcome.reason),
        "retry": SendResult("retry", outcome.reason),
    }.get(outcome.status) or SendResult("failed", outcome.reason or "The handler failed.")
    result.execution = record
    result.version = version
    return result
