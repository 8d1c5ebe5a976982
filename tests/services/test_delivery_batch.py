"""The batched delivery path: claims many due messages at once, sends them side by side,
writes outcomes in bulk, and coalesces wake-ups without losing one."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from werkzeug import Response

from phoneprovider.models import DeliveryAttempt, PhoneMessage
from phoneprovider.services import delivery, queue
from tests.factories import TWILIO_SID, MessageFactory, TwilioProviderFactory

MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


@pytest.fixture
def twilio(settings, fake_twilio, monkeypatch):
    settings.TWILIO_API_BASE_URL = fake_twilio.url_for("").rstrip("/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    woken = []
    monkeypatch.setattr(queue, "deliveries_wake", lambda: woken.append(1))
    TwilioProviderFactory()
    fake_twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(
        lambda request: Response(
            f'{{"sid": "SM{request.form["To"][-4:]}", "status": "queued"}}',
            status=201,
            content_type="application/json",
        )
    )
    fake_twilio.woken = woken
    return fake_twilio


def _batch_queries(n: int) -> tuple[int, list[PhoneMessage]]:
    for i in range(n):
        MessageFactory(recipient=f"+1415555{i:04d}", provider_name="twilio")
    with CaptureQueriesContext(connection) as queries:
        batch = delivery.deliver_due(limit=n)
    return len(queries), batch


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size(twilio, settings):
    settings.CONFIG_CACHE_SECONDS = 0
    small, _ = _batch_queries(2)
    PhoneMessage.objects.all().delete()
    large, batch = _batch_queries(12)

    assert len(batch) == 12
    assert large == small, f"{small} statements for 2 messages, {large} for 12"
    sent = PhoneMessage.objects.filter(status="sent")
    assert sent.count() == 12
    # Each message got its own attempt and its own Twilio id, not a neighbour's.
    for message in sent:
        attempt = message.attempts.get()
        assert attempt.outcome == DeliveryAttempt.Outcome.SENT
        assert attempt.provider_message_id == message.provider_message_id
        assert message.provider_message_id == "SM" + message.recipient[-4:]
    assert len(twilio.log) == 14


@pytest.mark.django_db
def test_a_full_batch_wakes_another_worker_and_a_partial_one_does_not(twilio):
    for i in range(5):
        MessageFactory(recipient=f"+1415555{i:04d}", provider_name="twilio")
    assert len(delivery.deliver_due(limit=3)) == 3
    assert twilio.woken == [1]
    assert len(delivery.deliver_due(limit=3)) == 2
    assert twilio.woken == [1]
    assert delivery.deliver_due(limit=3) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_claim_disjoint_batches_without_waiting(twilio):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    pks = {MessageFactory(recipient=f"+1415555{i:04d}").pk for i in range(8)}
    claimed_first, release = threading.Event(), threading.Event()
    first = []

    def other_worker():
        try:
            with transaction.atomic():
                first.extend(m.pk for m in delivery._claim_due(4))
                claimed_first.set()
                release.wait(10)  # hold the row locks while this test claims
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert claimed_first.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting on a lock fails instead of hanging
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = [m.pk for m in delivery._claim_due(8)]
    finally:
        release.set()
        thread.join()
    assert len(first) == 4 and len(second) == 4
    assert set(first) | set(second) == pks


def test_wake_ups_are_coalesced_until_the_task_starts(settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("coalescing needs Redis (an atomic SET NX)")
    sent = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *a, countdown=None: sent.append(countdown))
    queue.deliveries_awake()  # no flag left over from elsewhere

    queue.message_enqueue(1)
    queue.message_enqueue(2)
    assert sent == [None]  # one task is on its way for both
    queue.message_enqueue(3, countdown=4.0)
    assert sent == [None, 4.0]  # a retry's delayed wake-up is never coalesced away
    queue.deliveries_awake()  # the task starts: what arrives now needs a new one
    queue.message_enqueue(4)
    assert sent == [None, 4.0, None]
    queue.deliveries_awake()


def test_a_failed_wake_up_lowers_the_flag_so_the_next_message_tries_again(settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("coalescing needs Redis (an atomic SET NX)")
    calls = []

    def broker_down(name, *args, countdown=None):
        calls.append(name)
        raise ConnectionError("broker down")

    monkeypatch.setattr(queue, "enqueue", broker_down)
    queue.deliveries_awake()
    queue.message_enqueue(1)  # logged, not raised: the sweeper has the row
    queue.message_enqueue(2)
    assert calls == [queue.DELIVER_DUE, queue.DELIVER_DUE]
    queue.deliveries_awake()


def test_without_redis_every_message_sends_a_wake_up(settings, monkeypatch):
    settings.REDIS_URL = ""
    sent = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *a, countdown=None: sent.append(name))
    queue.message_enqueue(1)
    queue.message_enqueue(2)
    assert sent == [queue.DELIVER_DUE, queue.DELIVER_DUE]


@pytest.mark.django_db
def test_a_failing_batch_fails_over_to_twilio_each_with_its_own_answer(twilio, settings):
    from phoneprovider.services.limits import policy_update
    from tests.integration.test_delivery_worker import deploy_custom

    settings.CONFIG_CACHE_SECONDS = 0
    broken = "exports.onExecuteCustomPhoneProvider = async () => { throw new Error('down'); };"
    deploy_custom("http://127.0.0.1:9/unused", code=broken)  # keeps the stored Twilio settings
    policy_update(actor="test", failover_to_twilio=True)
    for i in range(4):
        MessageFactory(recipient=f"+1415555{i:04d}", provider_name="custom")

    delivery.deliver_due(limit=4)

    for message in PhoneMessage.objects.all():
        assert message.status == "sent" and message.failed_over, message.reason
        assert message.provider_message_id == "SM" + message.recipient[-4:]
        attempts = list(message.attempts.order_by("number"))
        assert [(a.provider_name, a.outcome) for a in attempts] == [
            ("custom", "failed"),
            ("twilio", "sent"),
        ]
        assert "down" in attempts[0].error
    assert sorted(r.form["To"] for r, _ in twilio.log) == [f"+1415555{i:04d}" for i in range(4)]
