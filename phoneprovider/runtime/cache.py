"""``api.cache`` persistence.

Handler code sees Auth0's synchronous cache API. The runtime loads the Action's entries once
before an execution (``load``), lets the handler read and write a copy inside the sandbox with
Auth0's limits, and writes the changes back after it (``save``). Concurrent executions of one
Action may interleave; the last write of a key wins, which is what Auth0 promises too ("items
may not be available in later transactions even if they are within their lifetime").
"""

from __future__ import annotations

import json
import threading
import time
from typing import Protocol

Record = dict  # {"value": str, "expires_at": int (ms since the epoch)}


class CacheStore(Protocol):
    def load(self, namespace: str) -> dict[str, Record]:
        """Every live (unexpired) record of ``namespace``."""

    def save(self, namespace: str, changes: dict[str, Record | None]) -> None:
        """Apply ``changes``: a record to set, or ``None`` to delete the key."""


_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


_SHARED: dict[str, dict[str, Record]] = {}
_SHARED_LOCK = threading.Lock()


class MemoryCacheStore:
    """A process-local store. Instances share one process-wide table unless given their own
    ``data`` dict, so creating a store per call still keeps the cache between executions."""

    def __init__(self, data: dict[str, dict[str, Record]] | None = None):
        self._data = _SHARED if data is None else data
        self._lock = _SHARED_LOCK if data is None else threading.Lock()

    def load(self, namespace: str) -> dict[str, Record]:
        now = _now_ms()
        with self._lock:
            entries = self._data.get(namespace, {})
            for key in [k for k, r in entries.items() if r["expires_at"] <= now]:
                del entries[key]
            return {k: dict(r) for k, r in entries.items()}

    def save(self, namespace: str, changes: dict[str, Record | None]) -> None:
        with self._lock:
            entries = self._data.setdefault(namespace, {})
            for key, record in changes.items():
                if record is None:
                    entries.pop(key, None)
                else:
                    entries[key] = dict(record)


_redis_clients: dict[str, object] = {}
_redis_lock = threading.Lock()


class RedisCacheStore:
    """One Redis hash per namespace (``phoneprovider:actions-cache:<namespace>``), each field a
    JSON record. The hash expires with its longest-lived record."""

    prefix = "phoneprovider:actions-cache:"

    def __init__(self, url: str):
        self.url = url
        with _redis_lock:
            client = _redis_clients.get(url)
            if client is None:
                import redis

                client = _redis_clients[url] = redis.Redis.from_url(url)
        self._r = client

    def load(self, namespace: str) -> dict[str, Record]:
        now = _now_ms()
        raw = self._r.hgetall(self.prefix + namespace)
        out, expired = {}, []
        for k, v in raw.items():
            key = k.decode()
            try:
                record = json.loads(v)
            except ValueError:
                expired.append(key)
                continue
            if record.get("expires_at", 0) <= now:
                expired.append(key)
            else:
                out[key] = {"value": record["value"], "expires_at": int(record["expires_at"])}
        if expired:
            self._r.hdel(self.prefix + namespace, *expired)
        return out

    def save(self, namespace: str, changes: dict[str, Record | None]) -> None:
        if not changes:
            return
        name = self.prefix + namespace
        pipe = self._r.pipeline()
        deleted = [k for k, r in changes.items() if r is None]
        if deleted:
            pipe.hdel(name, *deleted)
        for key, record in changes.items():
            if record is not None:
                pipe.hset(name, key, json.dumps(record))
        # Records expire one by one (checked on load); the hash itself only has to outlive the
        # longest possible record, so an Action that stops running leaves nothing behind.
        pipe.pexpire(name, _MAX_LIFETIME_MS + 60_000)
        pipe.execute()
