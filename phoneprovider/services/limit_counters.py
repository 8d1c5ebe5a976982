"""Atomic counters behind the abuse limits: `limits`' sliding window counter strategy, kept in
Redis when ``LIMITS_STORAGE_URL`` names one (by default ``REDIS_URL``), else in the database.

Taking a unit is one atomic step in either store (a Lua script in Redis, a conditional update in
the database), so concurrent sends can never together pass a limit, and a check costs the same at
any traffic. While Redis is unreachable the database counts instead (sends are still accepted and
still limited); Redis is tried again after ``REDIS_RETRY_SECONDS``.

Subjects (numbers, prefixes) appear in keys only as a keyed hash, never in clear.
"""

import hashlib
import hmac
import logging
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import RedisStorage, storage_from_string
from limits.storage.base import SlidingWindowCounterSupport, Storage, TimestampedSlidingWindow
from limits.strategies import SlidingWindowCounterRateLimiter

from phoneprovider.models import LimitWindow

logger = logging.getLogger(__name__)

NAMESPACE = "pp"
REDIS_KEY_PREFIX = "phoneprovider-limits"
REDIS_RETRY_SECONDS = 5.0
DATABASE = "database"  # LIMITS_STORAGE_URL value that keeps counters in the database


class _StableKey:
    """Keys without the limit's amount (``limits`` puts it in by default): raising or lowering a
    limit keeps the counts so far, as counting message rows did."""

    def key_for(self, *identifiers) -> str:
        return "/".join([self.namespace, *map(str, identifiers), self.GRANULARITY.name])


class PerHour(_StableKey, RateLimitItemPerHour):
    pass


class PerMinute(_StableKey, RateLimitItemPerMinute):
    pass


def subject(value: str) -> str:
    """A number or prefix as it appears in counter keys: keyed, so keys do not reveal it."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


class DatabaseWindows(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """A `limits` storage on ``LimitWindow`` rows, for the sliding window counter strategy.

    Windows are aligned on multiples of the limit's period (as `limits`' memory and memcached
    storages do); the previous window's count is weighed by how much of it still overlaps. The
    plain-counter methods serve `limits`' fixed window strategy, which phoneprovider does not use,
    but keep the contract whole.
    """

    STORAGE_SCHEME = None  # not reachable by URL: built here, on Django's connection

    @property
    def base_exceptions(self):
        return DatabaseError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        expires_at = datetime.fromtimestamp(time.time() + expiry, tz=UTC)
        LimitWindow.objects.bulk_create(
            [LimitWindow(key=key, expires_at=expires_at)], ignore_conflicts=True
        )
        LimitWindow.objects.filter(key=key).update(count=F("count") + amount)
        return self.get(key)

    def get(self, key: str) -> int:
        return LimitWindow.objects.filter(key=key).values_list("count", flat=True).first() or 0

    def get_expiry(self, key: str) -> float:
        row = LimitWindow.objects.filter(key=key).values_list("expires_at", flat=True).first()
        return row.timestamp() if row else time.time()

    def check(self) -> bool:
        try:
            LimitWindow.objects.exists()
        except DatabaseError:
            return False
        return True

    def clear(self, key: str) -> None:
        LimitWindow.objects.filter(key=key).delete()

    @staticmethod
    def _previous_ttl(now: float, expiry: int) -> float:
        return (1 - (((now - expiry) / expiry) % 1)) * expiry

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1):
        if amount > limit:
            return False
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        counts = dict(
            LimitWindow.objects.filter(key__in=(previous_key, current_key)).values_list(
                "key", "count"
            )
        )
        weighed = math.floor(counts.get(previous_key, 0) * self._previous_ttl(now, expiry) / expiry)
        room = limit - amount - weighed  # the highest current count that still lets this through
        if room < 0 or counts.get(current_key, 0) > room:
            return False
        if current_key not in counts:
            # Lives through the next window too, where it is the previous one.
            ends = (int(now / expiry) + 2) * expiry
            LimitWindow.objects.bulk_create(
                [LimitWindow(key=current_key, expires_at=datetime.fromtimestamp(ends, tz=UTC))],
                ignore_conflicts=True,
            )
        # One conditional update decides: PostgreSQL re-checks the condition against the newest
        # row after waiting for a concurrent updater's lock, and SQLite has one writer at a time,
        # so two sends can never both take the last unit.
        taken = LimitWindow.objects.filter(key=current_key, count__lte=room).update(
            count=F("count") + amount
        )
        return taken == 1

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        counts = dict(
            LimitWindow.objects.filter(key__in=(previous_key, current_key)).values_list(
                "key", "count"
            )
        )
        previous = counts.get(previous_key, 0)
        return (
            previous,
            self._previous_ttl(now, expiry) if previous else 0.0,
            counts.get(current_key, 0),
            (1 - ((now / expiry) % 1)) * expiry + expiry,
        )

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        LimitWindow.objects.filter(key__startswith=f"{key}/").delete()

    def reset(self) -> int:
        deleted, _ = LimitWindow.objects.all().delete()
        return deleted


database = DatabaseWindows()
_redis_storages: dict[str, RedisStorage] = {}
_redis_down_until = 0.0


def _redis() -> RedisStorage | None:
    url = settings.LIMITS_STORAGE_URL
    if not url or url == DATABASE or time.monotonic() < _redis_down_until:
        return None
    storage = _redis_storages.get(url)
    if storage is None:
        # Short timeouts: a send waits at most about a second for a Redis that is gone.
        storage = storage_from_string(
            url, key_prefix=REDIS_KEY_PREFIX, socket_connect_timeout=1, socket_timeout=1
        )
        _redis_storages[url] = storage
    return storage


def _redis_failed() -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    logger.warning(
        "Abuse-limit counters: Redis is unreachable; counting in the database for %g s.",
        REDIS_RETRY_SECONDS,
        exc_info=True,
    )


def take(item: PerHour | PerMinute, *identifiers: str) -> bool:
    """Take one unit of ``item`` for ``identifiers`` if the limit has room. Atomic."""
    redis = _redis()
    if redis is not None:
        try:
            return SlidingWindowCounterRateLimiter(redis).hit(item, *identifiers)
        except redis.base_exceptions:
            _redis_failed()
    return SlidingWindowCounterRateLimiter(database).hit(item, *identifiers)


def forget(item: PerHour | PerMinute, *identifiers: str) -> None:
    """Drop the counts of ``item`` for ``identifiers`` in every store that may hold them."""
    SlidingWindowCounterRateLimiter(database).clear(item, *identifiers)
    redis = _redis()
    if redis is not None:
        try:
            SlidingWindowCounterRateLimiter(redis).clear(item, *identifiers)
        except redis.base_exceptions:
            # The Redis keys expire on their own within two windows (two hours at most).
            _redis_failed()


def reset(*, in_database: bool = True) -> None:
    """Forget every count (tests, and an operator starting afresh)."""
    global _redis_down_until
    if in_database:
        database.reset()
    _redis_down_until = 0.0
    redis = _redis()
    if redis is not None:
        redis.reset()


def prune() -> int:
    """Delete database windows too old to matter. Returns how many went."""
    deleted, _ = LimitWindow.objects.filter(expires_at__lt=datetime.now(tz=UTC)).delete()
    return deleted
