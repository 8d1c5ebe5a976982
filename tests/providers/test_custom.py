"""The custom provider: the Auth0 event it builds, how it classifies what the handler did, and
where ``api.cache`` lives. Handlers run in the real sandbox; servers are on loopback only."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from django.core.cache import caches

from phoneprovider import runtime
from phoneprovider.providers import custom
from phoneprovider.runtime import _sandbox
from phoneprovider.selectors import custom_provider_version
from phoneprovider.services.actions import action_create_deployed
from tests.conftest import wait_for
from tests.factories import MessageFactory
from tests.runtime.conftest import Loopback

pytestmark = pytest.mark.django_db


def _handler(body: str) -> str:
    return f"exports.onExecuteCustomPhoneProvider = async (event, api) => {{\n{body}\n}};\n"


@pytest.fixture(scope="module")
def loopback():
    server = Loopback("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def sandbox_settings(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.ACTIONS_EXECUTION_TIMEOUT = 2
    return settings


def _deployed(code: str):
    action_create_deployed(
        actor="test",
        name=f"Provider {uuid.uuid4().hex[:6]}",
        trigger_id="custom-phone-provider",
        code=code,
    )
    return custom_provider_version()


# ------------------------------------------------------------------------------ the event


def test_the_event_passes_everything_the_sender_supplied():
    context = {
        "user": {"user_id": "auth0|7", "email": "a@example.com", "user_metadata": {"lang": "fr"}},
        "client": {"client_id": "cl_9", "name": "Shop", "metadata": {"tier": "gold"}},
        "request": {
            "ip": "203.0.113.9",
            "method": "GET",
            "hostname": "login.example.com",
            "language": "fr",
            "user_agent": "UA/1",
            "geoip": {"countryCode": "FR", "cityName": "Lyon", "latitude": 45.75},
        },
        "organization": {"id": "org_1", "name": "acme", "metadata": {}},
        "connection": {"id": "con_1", "name": "sms", "strategy": "sms"},
        "custom_domain": {"domain": "login.example.com"},
    }
    message = MessageFactory(context=context, code="987654", sender="+15555550100", locale="fr-FR")
    event = custom.build_event(message, {"TOKEN": "t"})
    assert event["notification"] == {
        "message_type": "otp_verify",
        "delivery_method": "text",
        "recipient": message.recipient,
        "as_text": message.as_text,
        "as_voice": message.as_voice,
        "code": "987654",
        "from": "+15555550100",
        "locale": "fr-FR",
    }
    assert event["client"] == context["client"]
    assert event["request"] == context["request"]
    assert event["user"]["user_id"] == "auth0|7"
    assert event["user"]["user_metadata"] == {"lang": "fr"}
    for optional in ("organization", "connection", "custom_domain"):
        assert event[optional] == context[optional]
    assert event["secrets"] == {"TOKEN": "t"}
    assert event["configuration"] == {}


def test_the_event_has_sane_defaults_when_the_sender_supplied_little(settings):
    settings.TENANT_SUPPORT_EMAIL = "help@example.com"
    settings.TENANT_HOME_URL = ""
    message = MessageFactory(context={}, code="", sender="", locale="")
    event = custom.build_event(message, {})
    assert set(event["notification"]) == {
        "message_type",
        "delivery_method",
        "recipient",
        "as_text",
        "as_voice",
    }
    assert event["client"] == {"client_id": "", "name": "", "metadata": {}}
    assert event["tenant"] == {
        "id": settings.TENANT_NAME,
        "friendly_name": settings.TENANT_FRIENDLY_NAME,
        "support_email": "help@example.com",
    }
    assert event["request"] == {"ip": "", "method": "POST", "geoip": {}}
    user = event["user"]
    assert user["phone_number"] == message.recipient
    assert (user["app_metadata"], user["user_metadata"], user["email_verified"]) == ({}, {}, False)
    assert user["created_at"] == message.created_at.isoformat()
    assert not {"organization", "connection", "custom_domain"} & set(event)
    assert event["secrets"] == {} and event["configuration"] == {}


def test_the_correlation_id_is_stable_per_message_and_differs_between_messages():
    one, two = MessageFactory(), MessageFactory()
    first = custom.build_event(one, {})["transaction"]["correlation_id"]
    one.refresh_from_db()
    assert custom.build_event(one, {})["transaction"]["correlation_id"] == first == one.public_id
    assert custom.build_event(two, {})["transaction"]["correlation_id"] != first


def test_send_runs_the_deployed_version_with_the_event(sandbox_settings, loopback):
    loopback.received.clear()
    loopback.routes.clear()
    version = _deployed(
        _handler("""
      await fetch(event.secrets.URL, { method: 'POST', headers: {
        'idempotency-key': event.transaction.correlation_id }, body: event.notification.as_text });
    """)
    )
    message = MessageFactory()
    result = custom.send(message, version, {"URL": loopback.url("/send")})
    assert result.outcome == "delivered", result.reason
    assert result.version == version
    assert result.execution["status"] == "delivered"
    [req] = loopback.received
    assert req.header("Idempotency-Key") == message.public_id
    assert req.body == message.as_text.encode()


# ------------------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    "code,outcome,kind",
    [
        (_handler("return;"), "delivered", None),
        (_handler("api.notification.drop('bad number');"), "dropped", None),
        (_handler("api.notification.retry('busy');"), "retry", None),
        (_handler("const x = {;"), "failed", "syntax"),
        ("exports.somethingElse = async () => {};", "failed", "load"),
        ("throw new Error('at load');\n" + _handler(""), "failed", "load"),
        (_handler("throw new Error('bug');"), "failed", "runtime"),
        (
            _handler("for (let i = 0; i < 5; i++) await fetch(event.secrets.URL);"),
            "failed",
            "fetch_limit",
        ),
        (_handler("while (true) {}"), "retry", "timeout"),
        (_handler("await new Promise(() => {});"), "retry", "timeout"),
    ],
)
def test_handler_failures_are_classified_for_delivery(
    sandbox_settings, loopback, code, outcome, kind
):
    sandbox_settings.ACTIONS_MAX_FETCHES = 2
    ran = custom.run(
        code=code,
        trigger="custom-phone-provider",
        event={"notification": {}},
        secrets={"URL": loopback.url("/ok")},
        context_key=f"classify:{uuid.uuid4().hex}",
        cache_namespace="act_classify",
    )
    if kind is not None:
        assert ran.error_kind == kind, ran
    result = custom.result_for(ran)
    assert result.outcome == outcome, ran
    if outcome != "delivered":
        assert result.reason


def test_a_timeout_of_the_deployed_handler_asks_delivery_to_retry(sandbox_settings):
    message = MessageFactory()
    hanging = custom.send(message, _deployed(_handler("await new Promise(() => {});")), {})
    assert hanging.outcome == "retry"
    assert "did not finish within 2 s" in hanging.reason
    assert hanging.execution["error_kind"] == "timeout"


def test_a_sandbox_killed_mid_execution_is_a_transient_failure(sandbox_settings, loopback):
    # The handler waits on a slow loopback request; meanwhile its sandbox process is killed,
    # as the kernel's OOM killer or an operator would.
    sandbox_settings.ACTIONS_EXECUTION_TIMEOUT = 20
    loopback.routes.clear()
    loopback.received.clear()
    loopback.route("/hold", delay_s=5)
    version = _deployed(_handler("await fetch(event.secrets.URL);"))
    message = MessageFactory()  # here: the sending thread must not open a DB connection
    results = []
    sender = threading.Thread(
        target=lambda: results.append(custom.send(message, version, {"URL": loopback.url("/hold")}))
    )
    sender.start()
    wait_for(lambda: loopback.received, timeout=30)
    pool = _sandbox.get_pool()
    with pool._lock:
        busy = [s for s in pool._all if s not in pool._idle and s.alive]
    assert len(busy) == 1
    os.kill(busy[0].proc.pid, signal.SIGKILL)
    sender.join(30)
    [result] = results
    assert result.outcome == "retry"
    assert "stopped unexpectedly" in result.reason and "SIGKILL" in result.reason
    assert result.execution["error_kind"] == "crashed"
    # The next message gets a fresh sandbox.
    after = custom.send(MessageFactory(), version, {"URL": loopback.url("/fast")})
    assert after.outcome == "delivered", after.reason


# ------------------------------------------------------------------------------ api.cache


def test_without_redis_api_cache_lives_in_the_shared_django_cache(settings):
    settings.REDIS_URL = ""
    namespace = f"act_{uuid.uuid4().hex}"
    store = custom.handler_cache()
    assert isinstance(store, custom.DjangoCacheStore)
    try:
        set_it = custom.run(
            code=_handler("console.log(api.cache.set('otp', '42', { ttl: 60000 }).type);"),
            trigger="custom-phone-provider",
            event={"notification": {}},
            secrets={},
            context_key=f"cache:{uuid.uuid4().hex}",
            cache_namespace=namespace,
        )
        assert set_it.logs[0]["message"] == "success"
        # Another worker process reads the same cache: a fresh store and a fresh context.
        raw = caches["default"].get(custom.DjangoCacheStore.prefix + namespace)
        assert raw["otp"]["value"] == "42"
        get_it = custom.run(
            code=_handler("console.log(api.cache.get('otp').value, api.cache.delete('otp').type);"),
            trigger="custom-phone-provider",
            event={"notification": {}},
            secrets={},
            context_key=f"cache:{uuid.uuid4().hex}",
            cache_namespace=namespace,
        )
        assert get_it.logs[0]["message"] == "42 success"
        assert custom.DjangoCacheStore().load(namespace) == {}
        assert caches["default"].get(custom.DjangoCacheStore.prefix + namespace) is None
    finally:
        caches["default"].delete(custom.DjangoCacheStore.prefix + namespace)


def test_the_django_cache_store_forgets_expired_records():
    store = custom.DjangoCacheStore()
    namespace = f"act_{uuid.uuid4().hex}"
    now = int(time.time() * 1000)
    try:
        store.save(
            namespace,
            {
                "old": {"value": "x", "expires_at": now - 1},
                "new": {"value": "y", "expires_at": now + 60_000},
            },
        )
        assert store.load(namespace) == {"new": {"value": "y", "expires_at": now + 60_000}}
    finally:
        caches["default"].delete(store.prefix + namespace)


def test_with_redis_api_cache_uses_the_redis_store(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    assert isinstance(custom.handler_cache(), runtime.RedisCacheStore)
