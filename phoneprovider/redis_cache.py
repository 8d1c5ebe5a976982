"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation,
and redis-py's constructor fills some 170 response callbacks each time: about 0.4 ms of CPU per
``cache.get``. A send through the API makes five of them (the configuration generation twice,
the token's rate limit, the delivery wake-up flag), so that was a fifth of its CPU. Django gives
each thread its own cache object, so this is one client per pool per thread; the pool resets
itself in a forked child.

``incr_expiring`` counts in one round trip what ``add`` + ``incr`` take three for (Django's
``incr`` asks EXISTS before INCRBY): the API's per-token rate limit.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

# Atomic, so a count never lives without its expiry; a script rather than INCR + EXPIRE NX
# pipelined, which needs Redis 7 (make serve runs on whatever Redis the machine has).
_INCR_EXPIRING = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class _ClientPerPool(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._incr_expiring = None

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(index)
            client = self._clients.setdefault(index, self._client(connection_pool=pool))
        return client

    def incr_expiring(self, key, timeout: int) -> int:
        client = self.get_client(key, write=True)
        if self._incr_expiring is None:
            self._incr_expiring = client.register_script(_INCR_EXPIRING)
        return int(self._incr_expiring(keys=[key], args=[timeout], client=client))


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool

    def incr_expiring(self, key: str, timeout: int) -> int:
        """Add one to ``key``'s count and return it: a missing key starts at 1 and expires
        ``timeout`` seconds later, however often it is counted meanwhile. One command."""
        return self._cache.incr_expiring(self.make_and_validate_key(key), timeout)
