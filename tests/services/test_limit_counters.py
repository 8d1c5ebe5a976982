"""Abuse-limit counters are atomic: concurrent sends never together get past a limit, in the
database store (PostgreSQL in CI) and in Redis."""

import logging
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connections

from phoneprovider import selectors
from phoneprovider.models import LimitWindow, PhoneMessage
from phoneprovider.services import delivery, limits, messages, queue
from phoneprovider.services import limit_counters as counters
from tests.factories import TwilioProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+14155550123"
STORES = [
    pytest.param("database", id="database"),
    pytest.param(
        django_settings.REDIS_URL,
        id="redis",
        marks=pytest.mark.skipif(not django_settings.REDIS_URL, reason="REDIS_URL is not set"),
    ),
]


@pytest.fixture(params=STORES)
def store(request, settings):
    settings.LIMITS_STORAGE_URL = request.param
    counters.reset()
    yield request.param
    counters.reset()


def _in_threads(count: int, work) -> list:
    """Run ``work`` in ``count`` threads released together; each thread's result, in a list."""
    barrier = threading.Barrier(count)
    results = []

    def one():
        try:
            barrier.wait()
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count
    return results


def _same_hour(started: float) -> None:
    # Database windows are aligned on the hour: a race that straddles one starts a new window.
    if int(started // 3600) != int(time.time() // 3600):
        pytest.skip("the race straddled an hour boundary")


def test_25_threads_racing_on_one_limit_take_exactly_the_limit(store):
    item = counters.PerHour(10, namespace=counters.NAMESPACE)
    started = time.time()
    taken = _in_threads(25, lambda: counters.take(item, "recipient", "race"))
    _same_hour(started)
    assert taken.count(True) == 10
    # And the limit stays shut afterwards.
    assert counters.take(item, "recipient", "race") is False


def test_50_concurrent_sends_to_one_number_with_a_limit_of_10_let_exactly_10_through(
    store, monkeypatch
):
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: None)
    TwilioProviderFactory()
    limits.policy_update(actor="a", recipient_per_hour=10, prefix_per_minute=0)
    started = time.time()
    statuses = _in_threads(
        50, lambda: messages.message_queue(to=NUMBER, code="1", delivery_method="text").status
    )
    _same_hour(started)
    assert statuses.count("queued") == 10
    assert statuses.count("blocked") == 40
    assert PhoneMessage.objects.filter(status="queued").count() == 10


def test_forgetting_a_number_drops_its_counts_and_no_key_names_it(store, caplog):
    caplog.set_level(logging.DEBUG)
    policy = selectors.policy_get()
    limits.policy_update(actor="a", recipient_per_hour=2)
    policy.refresh_from_db()
    for _ in range(2):
        assert limits.limits_take(policy, recipient=NUMBER, delivery_method="text") is None
    assert limits.limits_take(policy, recipient=NUMBER, delivery_method="text").rule == (
        "recipient_per_hour"
    )
    stored_keys = list(LimitWindow.objects.values_list("key", flat=True))
    if store != "database":
        stored_keys += [k.decode() for k in counters._redis().get_connection().keys("*")]
    assert stored_keys and not any(NUMBER[1:] in key for key in stored_keys)

    limits.limits_forget_number(NUMBER)

    assert limits.limits_take(policy, recipient=NUMBER, delivery_method="text") is None
    assert NUMBER[1:] not in caplog.text


def test_counts_go_to_the_database_while_redis_is_unreachable(settings, caplog):
    settings.LIMITS_STORAGE_URL = "redis://127.0.0.2:1/0"  # nothing listens there
    item = counters.PerMinute(1, namespace=counters.NAMESPACE)
    try:
        assert counters.take(item, "global") is True
        assert counters.take(item, "global") is False
    finally:
        counters._redis_down_until = 0.0
    assert LimitWindow.objects.filter(key__startswith="pp/global/").exists()
    assert "Redis is unreachable" in caplog.text


def test_the_sweeper_prunes_windows_that_no_longer_count():
    from datetime import timedelta

    from django.utils import timezone

    LimitWindow.objects.create(key="pp/old/1", expires_at=timezone.now() - timedelta(seconds=1))
    LimitWindow.objects.create(key="pp/new/1", expires_at=timezone.now() + timedelta(hours=1))
    assert delivery.message_sweep()["limit_windows_pruned"] == 1
    assert list(LimitWindow.objects.values_list("key", flat=True)) == ["pp/new/1"]
