"""The custom provider: build Auth0's ``event`` for a message and run the deployed handler."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import caches

from phoneprovider import runtime
from phoneprovider.crypto import reveal
from phoneprovider.providers import SendResult
from phoneprovider.tenant import tenant


def build_event(message, secrets: dict[str, str], configuration: dict | None = None) -> dict:
    """Auth0's custom-phone-provider event: what the sender supplied, sane defaults for the rest.
    ``configuration``: what a route connection gives its handler (event.configuration)."""
    context = message.context or {}
    notification = {
        "message_type": message.message_type,
        "delivery_method": message.delivery_method,
        "recipient": message.recipient,
        "as_text": reveal(message.as_text, f"The text of message {message.public_id}"),
        "as_voice": reveal(message.as_voice, f"The voice text of message {message.public_id}"),
    }
    if message.code:
        notification["code"] = reveal(message.code, f"The code of message {message.public_id}")
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
        "configuration": dict(configuration or {}),
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
    packages: list | None = None,
) -> runtime.Outcome:
    """Run handler code in the sandbox with this installation's capabilities and limits (the
    runtime was pointed at ``DENO_DIR`` when Django started: ``apps.py``)."""
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
        packages=packages,
    )


class DjangoCacheStore:
    """``api.cache`` records of one Action kept in Django's default cache (one entry per Action).

    Used when there is no Redis: the default cache is then the file-based one under ``VAR_DIR``,
    which every worker process and every restart of this installation sees (a process-local
    store would lose the records whenever the next execution lands in another worker child).
    A read-modify-write per save: concurrent executions of one Action may lose each other's
    writes, which Auth0's cache allows too.
    """

    prefix = "phoneprovider:actions-cache:"
    _lock = threading.Lock()

    def __init__(self, alias: str = "default"):
        self._cache = caches[alias]

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)

    def load(self, namespace: str) -> dict:
        now = self._now_ms()
        entries = self._cache.get(self.prefix + namespace) or {}
        return {
            k: {"value": r["value"], "expires_at": int(r["expires_at"])}
            for k, r in entries.items()
            if isinstance(r, dict) and r.get("expires_at", 0) > now
        }

    def save(self, namespace: str, changes: dict) -> None:
        if not changes:
            return
        with self._lock:
            entries = self.load(namespace)
            for key, record in changes.items():
                if record is None:
                    entries.pop(key, None)
                else:
                    entries[key] = {"value": record["value"], "expires_at": record["expires_at"]}
            if entries:
                # The entry only has to outlive its longest-lived record (at most 24 h).
                timeout = max(r["expires_at"] for r in entries.values()) - self._now_ms()
                self._cache.set(self.prefix + namespace, entries, timeout=timeout // 1000 + 60)
            else:
                self._cache.delete(self.prefix + namespace)


def handler_cache():
    """api.cache outlives one execution and one worker process: Redis when configured, else
    Django's default cache (files under ``VAR_DIR``)."""
    if settings.REDIS_URL:
        return runtime.RedisCacheStore(settings.REDIS_URL)
    return DjangoCacheStore()


def send(
    message, version, secrets: dict[str, str], configuration: dict | None = None
) -> SendResult:
    action = version.action
    outcome = run(
        code=version.code,
        trigger=action.trigger_id,
        event=build_event(message, secrets, configuration),
        secrets=secrets,
        context_key=f"{action.public_id}:{version.public_id}",
        cache_namespace=action.public_id,
        packages=version.dependencies,
    )
    result = result_for(outcome)
    result.execution = outcome.to_dict()
    result.version = version
    return result


# Errors the handler's code is not to blame for: the next attempt may well succeed (a gateway
# that hung until the deadline, a sandbox process killed from outside or by the kernel).
# Everything else the code does the same way every time (syntax and load errors, uncaught
# exceptions, memory or fetch limits), so trying again would only repeat the failure.
TRANSIENT_ERROR_KINDS = frozenset({"timeout", "crashed", "stuck"})

# Network failures of one ``fetch`` (a timeout; a refused, reset or unresolvable connection): the
# gateway's state, not the code's. A handler that lets such a rejection escape (Auth0's common
# style: no try/catch) asks, in effect, to be tried again. Blocked addresses, bad URLs, redirect
# loops and oversized answers are the code's or the configuration's doing and stay permanent.
TRANSIENT_FETCH_ERROR_KINDS = frozenset({"timeout", "connect"})


def escaped_network_failure(outcome: runtime.Outcome) -> dict | None:
    """The fetch record whose network failure the handler let escape uncaught, if any.

    Only the runtime's own rejection counts (``TypeError: fetch failed: <that fetch's error>``):
    an error the handler throws itself, even after catching a network failure, is its own and
    stays permanent."""
    if outcome.status != "error" or outcome.error_kind != "runtime" or not outcome.error:
        return None
    if outcome.error.get("name") != "TypeError":
        return None
    message = outcome.error.get("message") or ""
    for record in outcome.fetches:
        if (
            record.get("error_kind") in TRANSIENT_FETCH_ERROR_KINDS
            and record.get("error")
            and message == f"fetch failed: {record['error']}"
        ):
            return record
    return None


def result_for(outcome: runtime.Outcome) -> SendResult:
    """Classify a handler's outcome for delivery: ``retry`` for transient failures (``retry()``,
    a timeout, a crashed sandbox, a network failure of ``fetch`` left uncaught), ``failed`` for
    permanent ones, ``dropped`` for ``drop()``."""
    if outcome.status == "delivered":
        return SendResult("delivered")
    if outcome.status == "drop":
        return SendResult("dropped", outcome.reason)
    if outcome.status == "retry":
        return SendResult("retry", outcome.reason)
    reason = outcome.reason or "The handler failed."
    if outcome.error_kind in TRANSIENT_ERROR_KINDS or escaped_network_failure(outcome):
        return SendResult("retry", reason)
    return SendResult("failed", reason)
