"""The Redis cache backend keeps one client per connection pool and still works as a cache."""

import threading

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


def test_every_operation_of_a_thread_shares_one_client():
    client = cache._cache.get_client()
    cache.get("redis-cache-test")
    assert cache._cache.get_client(write=True) is client
    # Django gives each thread its own cache object, so each thread keeps its own client.
    seen = []

    def other_thread():
        from django.core.cache import cache as thread_cache

        seen.append(thread_cache._cache.get_client())
        seen.append(thread_cache._cache.get_client())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0] is seen[1]


def test_it_stores_reads_adds_and_deletes_like_django_redis_cache():
    cache.delete("redis-cache-test")
    assert cache.add("redis-cache-test", {"n": 1}, timeout=30)
    assert not cache.add("redis-cache-test", {"n": 2}, timeout=30)
    assert cache.get("redis-cache-test") == {"n": 1}
    cache.set("redis-cache-counter-test", 0, timeout=30)
    assert cache.incr("redis-cache-counter-test") == 1
    cache.delete("redis-cache-test")
    assert cache.get("redis-cache-test") is None


def test_incr_expiring_counts_in_one_command_and_keeps_the_first_expiry():
    key = "redis-cache-window-test"
    cache.delete(key)
    client = cache._cache.get_client(write=True)
    raw_key = cache.make_and_validate_key(key)

    assert cache.incr_expiring(key, 30) == 1
    client.expire(raw_key, 100)  # a later count must not reset the window's expiry
    assert cache.incr_expiring(key, 30) == 2
    assert 90 < client.ttl(raw_key) <= 100
    assert cache.get(key) == 2  # an ordinary cache value too
    cache.delete(key)


def test_incr_expiring_is_atomic_across_threads():
    key = "redis-cache-window-race"
    cache.delete(key)
    counts = []

    def count():
        from django.core.cache import cache as thread_cache

        counts.extend(thread_cache.incr_expiring(key, 30) for _ in range(50))

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))
    assert 0 < cache._cache.get_client().ttl(cache.make_and_validate_key(key)) <= 30
    cache.delete(key)
