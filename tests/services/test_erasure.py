"""Erasure by number: after it, no row, log line or counter anywhere holds the number; one audit
entry records it, masked; other numbers' data stays."""

from io import StringIO

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from phoneprovider.errors import ValidationError
from phoneprovider.models import (
    Action,
    AuditEntry,
    DeliveryAttempt,
    Execution,
    LimitWindow,
    PhoneMessage,
)
from phoneprovider.providers import custom
from phoneprovider.services import delivery, limits, messages, queue
from phoneprovider.services import limit_counters as counters
from phoneprovider.services.audit import audit_record
from phoneprovider.services.erasure import number_erase
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = pytest.mark.django_db

NUMBER = "+14155550100"
DIGITS = NUMBER.lstrip("+")
OTHER = "+14155550142"

# A handler that spreads the number everywhere it can: its logs, the URL it fetches, its reason.
TALKATIVE = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const to = event.notification.recipient;
  console.log("sending to", to);
  api.cache.set(`last-code:${to}`, event.notification.code);
  api.cache.set("last-recipient", to);
  api.cache.set("unrelated", "kept");
  const response = await fetch(`${event.secrets.GATEWAY_URL}?to=${encodeURIComponent(to)}`, {
    method: "POST",
    body: JSON.stringify({ to, text: event.notification.as_text }),
  });
  console.log("gateway answered", response.status, "for", to);
  if (!response.ok) api.notification.drop(`gateway refused ${to}`);
};
"""

STORES = [
    pytest.param("database", id="database"),
    pytest.param(
        django_settings.REDIS_URL,
        id="redis",
        marks=pytest.mark.skipif(not django_settings.REDIS_URL, reason="REDIS_URL is not set"),
    ),
]


def rows_mentioning(text: str) -> list[tuple[str, str, str]]:
    """Every (table, column, value) in the whole database whose value contains ``text``: each
    table of the schema is read in full, whatever its model (JSON, text and binary columns)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("utf-8", "replace")
                    if text in str(value):
                        found.append((table, column, str(value)[:200]))
    return found


def redis_keys_mentioning(*texts: str) -> list[str]:
    """Keys of the Redis database the tests use whose name or content contains any of
    ``texts``: the limit counters, the cache (handlers' api.cache) and the broker share it."""
    if not django_settings.REDIS_URL:
        return []
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    read = {
        b"string": client.get,
        b"hash": client.hgetall,
        b"list": lambda key: client.lrange(key, 0, -1),
        b"set": client.smembers,
        b"zset": lambda key: client.zrange(key, 0, -1),
    }
    found = []
    for key in client.scan_iter(count=1000):
        content = read.get(client.type(key), lambda key: b"")(key)
        blob = repr(key) + repr(content)
        if any(text in blob for text in texts):
            found.append(key.decode("utf-8", "replace"))
    return found


@pytest.fixture
def store(request, settings):
    settings.LIMITS_STORAGE_URL = request.param
    counters.reset()
    yield request.param
    counters.reset()


@pytest.fixture
def fresh_handler_caches():
    """No api.cache records of earlier tests' Actions (they would expire within a day)."""
    if django_settings.REDIS_URL:
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        for key in client.scan_iter(match="phoneprovider:actions-cache:*"):
            client.delete(key)


@pytest.fixture
def talkative_provider(settings, gateway, monkeypatch, fresh_handler_caches):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"), code=TALKATIVE)
    limits.policy_update(actor="test", recipient_per_hour=3, prefix_per_minute=0)
    return gateway


def _send_and_deliver(to: str, **kwargs) -> PhoneMessage:
    message = messages.message_queue(to=to, code="424242", **kwargs)
    delivery.message_deliver(message.pk)
    message.refresh_from_db()
    return message


@pytest.mark.parametrize("store", STORES, indirect=True)
def test_erasure_leaves_nothing_with_the_number_and_records_it_masked(store, talkative_provider):
    delivered = [_send_and_deliver(NUMBER) for _ in range(2)]
    assert all(m.status == "delivered" for m in delivered), [m.reason for m in delivered]
    in_flight = messages.message_queue(to=NUMBER, code="1", idempotency_key=f"login-{NUMBER}")
    blocked = messages.message_queue(to=NUMBER, code="2")
    assert blocked.status == "blocked"  # the per-hour count for the number is full
    # Another person's message whose context names the number (a user changing numbers).
    mentioning = messages.message_queue(
        to=OTHER, code="3", context={"user": {"phone_number": NUMBER}}
    )
    kept = _send_and_deliver(OTHER)
    test_run = Execution.objects.create(
        kind=Execution.Kind.TEST,
        status="delivered",
        event={"notification": {"recipient": NUMBER}},
        logs=[{"level": "log", "message": f"sending to {NUMBER}"}],
    )
    noted = audit_record(actor="ops", verb="note", object_type="support", changes={"to": NUMBER})
    assert {table for table, _, _ in rows_mentioning(DIGITS)} >= {
        PhoneMessage._meta.db_table,
        Execution._meta.db_table,
        AuditEntry._meta.db_table,
    }
    assert PhoneMessage.objects.filter(recipient=NUMBER).count() == 4
    action = Action.objects.get()
    handler_cache = custom.handler_cache()
    assert f"last-code:{NUMBER}" in handler_cache.load(action.public_id)
    assert DeliveryAttempt.objects.filter(message__recipient=NUMBER).count() == 2

    result = number_erase(NUMBER, actor="ops@example.com")

    assert rows_mentioning(DIGITS) == []
    assert redis_keys_mentioning(DIGITS, counters.subject(NUMBER)) == []
    # The handler's api.cache: records holding the number are gone, the others stay.
    assert set(handler_cache.load(action.public_id)) == {
        "unrelated",
        f"last-code:{OTHER}",
        "last-recipient",  # the last send went to the other number
    }
    assert not LimitWindow.objects.filter(key__contains=counters.subject(NUMBER)).exists()
    assert result.number == "+1415555••00"
    assert (result.messages_removed, result.attempts_removed) == (5, 2)
    assert result.executions_removed == 3  # two deliveries and the test run
    assert result.audit_entries_masked == 1
    assert not PhoneMessage.objects.filter(pk__in=[in_flight.pk, blocked.pk, mentioning.pk])
    assert not Execution.objects.filter(pk=test_run.pk).exists()
    noted.refresh_from_db()
    assert noted.changes == {"to": "+1415555••00"}

    # The erasure's own record: one entry, the number masked, the counts.
    entry = AuditEntry.objects.get(verb="erase")
    assert entry.actor == "ops@example.com"
    assert entry.object_type == "phone_number" and entry.object_id == "+1415555••00"
    assert entry.changes == {
        "number": "+1415555••00",
        "messages_removed": 5,
        "attempts_removed": 2,
        "executions_removed": 3,
        "audit_entries_masked": 1,
    }

    # Another number's message, attempt and execution are untouched.
    kept.refresh_from_db()
    assert kept.status == "delivered"
    assert kept.attempts.get().execution.logs[0]["message"] == f"sending to {OTHER}"

    # The per-hour count was forgotten: the number may be sent to again at once.
    assert messages.message_queue(to=NUMBER, code="5").status == "queued"


def test_an_erasure_with_nothing_to_erase_is_still_recorded():
    result = number_erase("+44 20 7946 0958", actor="ops")
    assert result.as_dict() == {
        "number": "+44207946••58",
        "messages_removed": 0,
        "attempts_removed": 0,
        "executions_removed": 0,
        "audit_entries_masked": 0,
    }
    assert AuditEntry.objects.get(verb="erase").object_id == "+44207946••58"


@pytest.mark.parametrize("number", ["4155550100", "+1415", "+1 415 555 01OO", "", "+0999999999"])
def test_bad_numbers_are_refused_and_nothing_is_erased_or_recorded(number):
    message = PhoneMessage.objects.create(recipient=NUMBER, message_type="otp_verify")
    with pytest.raises(ValidationError) as info:
        number_erase(number, actor="ops")
    assert info.value.field == "e164"
    assert PhoneMessage.objects.filter(pk=message.pk).exists()
    assert not AuditEntry.objects.filter(verb="erase").exists()


def test_a_send_in_progress_when_its_message_is_erased_writes_nothing_back(
    talkative_provider, monkeypatch
):
    message = messages.message_queue(to=NUMBER, code="7")
    original = delivery._send

    def send_then_erased(target, handler, msg, rule):
        result = original(target, handler, msg, rule)
        number_erase(NUMBER, actor="ops")  # arrives while the gateway call was out
        return result

    monkeypatch.setattr(delivery, "_send", send_then_erased)
    delivery.message_deliver(message.pk)

    assert not PhoneMessage.objects.exists()
    assert not DeliveryAttempt.objects.exists() and not Execution.objects.exists()
    assert rows_mentioning(DIGITS) == []
    assert len(talkative_provider.log) == 1  # the send itself had already gone


def test_the_erase_number_command_erases_and_prints_the_counts_masked():
    PhoneMessage.objects.create(recipient=NUMBER, message_type="otp_verify")
    out = StringIO()
    call_command("erase_number", NUMBER, "--actor", "dpo@example.com", stdout=out)
    assert out.getvalue().strip() == (
        "Erased +1415555••00: 1 messages, 0 attempts, 0 executions removed; 0 audit entries masked."
    )
    assert not PhoneMessage.objects.exists()
    assert AuditEntry.objects.get(verb="erase").actor == "dpo@example.com"


def test_the_erase_number_command_refuses_a_bad_number():
    PhoneMessage.objects.create(recipient=NUMBER, message_type="otp_verify")
    with pytest.raises(CommandError, match=r"E\.164"):
        call_command("erase_number", "4155550100")
    assert PhoneMessage.objects.exists()
