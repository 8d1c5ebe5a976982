"""api.cache: Auth0's API, limits, error codes and expiry, persisted between executions."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from phoneprovider.runtime import MemoryCacheStore, RedisCacheStore
from tests.runtime.conftest import handler, run


def cache_run(body: str, store, namespace: str = "act_1"):
    return run(handler(body), cache=store, cache_namespace=namespace)


def lines(outcome) -> list[str]:
    assert outcome.status == "delivered", outcome
    return [e["message"] for e in outcome.logs]


def test_values_persist_between_executions_and_namespaces_are_separate():
    store = MemoryCacheStore({})
    out = lines(
        cache_run(
            """
      console.log(api.cache.get('token') === undefined);
      const r = api.cache.set('token', 'abc', { ttl: 60000 });
      console.log(r.type, r.record.value, r.record.expires_at - Date.now() <= 60000);
      console.log(api.cache.get('token').value);
    """,
            store,
        )
    )
    assert out == ["true", "success abc true", "abc"]
    assert lines(cache_run("console.log(api.cache.get('token').value);", store)) == ["abc"]
    assert lines(cache_run("console.log(String(api.cache.get('token')));", store, "act_2")) == [
        "undefined"
    ]


def test_default_lifetime_is_15_minutes_and_expired_records_vanish():
    store = MemoryCacheStore({})
    out = lines(
        cache_run(
            """
      const r = api.cache.set('k', 'v');
      const ttl = r.record.expires_at - Date.now();
      console.log(ttl > 14.9 * 60000 && ttl <= 15 * 60000);
    """,
            store,
        )
    )
    assert out == ["true"]
    store.save("act_1", {"old": {"value": "x", "expires_at": int(time.time() * 1000) - 1}})
    assert lines(cache_run("console.log(String(api.cache.get('old')));", store)) == ["undefined"]


def test_delete_and_its_errors():
    store = MemoryCacheStore({})
    out = lines(
        cache_run(
            """
      api.cache.set('a', '1');
      console.log(JSON.stringify(api.cache.delete('a')), JSON.stringify(api.cache.delete('a')));
    """,
            store,
        )
    )
    assert out == ['{"type":"success"} {"type":"error","code":"CacheKeyDoesNotExist"}']
    assert store.load("act_1") == {}


def test_limits_and_error_codes():
    store = MemoryCacheStore({})
    out = lines(
        cache_run(
            """
      const code = (r) => r.type === 'success' ? 'ok' : r.code;
      const now = Date.now();
      console.log(code(api.cache.set('k'.repeat(65), 'v')));
      console.log(code(api.cache.set('k', 'v'.repeat(4097))));
      console.log(code(api.cache.set('k', 'v', { expires_at: now - 1000 })));
      console.log(code(api.cache.set('k', 'v', { ttl: 25 * 3600 * 1000 })));
      console.log(code(api.cache.set('k', 'v', { expires_at: now + 25 * 3600 * 1000 })));
      console.log(code(api.cache.set('k', 'v', { ttl: 'soon' })));
      for (let i = 0; i < 2; i++) console.log(code(api.cache.set('big' + i, 'x'.repeat(4000))));
      console.log(code(api.cache.set('big2', 'x'.repeat(500))));
    """,
            store,
        )
    )
    assert out == [
        "CacheKeySizeExceeded",
        "CacheValueSizeExceeded",
        "ItemAlreadyExpired",
        "InvalidExpiry",
        "InvalidExpiry",
        "InvalidExpiry",
        "ok",
        "ok",
        "CacheSizeExceeded",
    ]


def test_at_most_20_entries_and_20_writes_per_execution():
    store = MemoryCacheStore({})
    fill = (
        "for (let i = FROM; i < TO; i++) { const r = api.cache.set('k' + i, 'v'); "
        "if (r.type !== 'success') console.log(i, r.code); } console.log('done');"
    )
    assert lines(cache_run(fill.replace("FROM", "0").replace("TO", "15"), store)) == ["done"]
    assert lines(cache_run(fill.replace("FROM", "15").replace("TO", "21"), store)) == [
        "20 CacheSizeExceeded",
        "done",
    ]
    assert len(store.load("act_1")) == 20
    out = lines(
        cache_run(
            """
      let last;
      for (let i = 0; i < 21; i++) last = api.cache.set('k0', 'v' + i);
      console.log(last.code, api.cache.get('k0').value);
    """,
            store,
        )
    )
    assert out == ["MaxSideEffectsExceeded v19"]


def test_changes_made_before_an_error_are_kept():
    store = MemoryCacheStore({})
    outcome = run(
        handler("api.cache.set('seen', 'yes'); throw new Error('later');"),
        cache=store,
        cache_namespace="act_1",
    )
    assert outcome.status == "error"
    assert store.load("act_1")["seen"]["value"] == "yes"


def test_memory_stores_share_one_table_per_process_by_default():
    ns = f"shared_{uuid.uuid4().hex}"
    MemoryCacheStore().save(
        ns, {"k": {"value": "v", "expires_at": int(time.time() * 1000) + 60000}}
    )
    assert MemoryCacheStore().load(ns)["k"]["value"] == "v"


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


@pytest.mark.skipif(_redis_url() is None, reason="no Redis server reachable")
def test_redis_store_persists_between_executions():
    store = RedisCacheStore(_redis_url())
    ns = f"test_{uuid.uuid4().hex}"
    try:
        assert lines(
            cache_run("api.cache.set('otp', '42', { ttl: 5000 }); console.log('set');", store, ns)
        ) == ["set"]
        assert lines(cache_run("console.log(api.cache.get('otp').value);", store, ns)) == ["42"]
        assert lines(cache_run("console.log(api.cache.delete('otp').type);", store, ns)) == [
            "success"
        ]
        assert store.load(ns) == {}
    finally:
        store._r.delete(store.prefix + ns)


def test_non_string_values_and_a_cache_kept_past_its_execution_fail_with_auth0_codes():
    store = MemoryCacheStore({})
    source = """
      let saved;
      exports.onExecuteCustomPhoneProvider = async (event, api) => {
        if (saved) {
          // An api object kept from an earlier execution must not write into this one.
          console.log(saved.set('late', 'v').code, saved.delete('k').code);
          console.log(api.cache.get('k').value, String(api.cache.get('late')));
          return;
        }
        saved = api.cache;
        console.log(api.cache.set('n', 42).code, api.cache.set('k', 'v').type);
      };
    """
    first = run(source, key="cache:stale", cache=store, cache_namespace="act_1")
    second = run(source, key="cache:stale", cache=store, cache_namespace="act_1")
    assert lines(first) == ["FailedToSetCacheRecord success"]
    assert lines(second) == [
        "FailedToSetCacheRecord FailedToDeleteCacheRecord",
        "v undefined",
    ]
    assert set(store.load("act_1")) == {"k"}
