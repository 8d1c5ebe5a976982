"""Bearer tokens, scopes and the per-token rate limit of the Management API."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from phoneprovider.config_cache import Snapshot
from phoneprovider.errors import Forbidden, TooManyRequests, Unauthorized
from phoneprovider.models import ApiToken
from phoneprovider.services.tokens import token_authenticate

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_PER_MINUTE = 600
WINDOW_SECONDS = 60


def authenticate(request: HttpRequest, config: Snapshot | None = None) -> ApiToken:
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthorized("Missing authentication")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized("Bad HTTP authentication header format")
    return token_authenticate(raw.strip(), config=config)  # TokenError is a 401 Unauthorized


def require_scope(token: ApiToken, scope: str) -> None:
    if scope not in (token.scopes or []):
        raise Forbidden(
            f"Insufficient scope, expected any of: {scope}", error_code="insufficient_scope"
        )


def rate_limit(token: ApiToken) -> dict[str, str]:
    """Count one request in the token's fixed one-minute window; return the X-RateLimit headers.

    Raises TooManyRequests (carrying the headers) once the window's budget is spent. The count
    lives in Django's cache, so every web process shares it when the cache is Redis.
    """
    limit = int(getattr(settings, "API_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE))
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset = (window + 1) * WINDOW_SECONDS
    # The hash, not the row id: ids restart with a new database, hashes never repeat.
    key = f"api-rate:{token.token_hash[:32]}:{window}"
    try:
        count = _count_request(key)
    except Exception:  # any cache failure: Redis down, a broken file cache…
        # Fail open: accepting a one-time code matters more than counting it, and the outbox
        # must take sends while Redis (broker and cache) is down.
        logger.warning("Rate limit not applied: the cache is unreachable.", exc_info=True)
        return {"X-RateLimit-Limit": str(limit)}
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - count)),
        "X-RateLimit-Reset": str(reset),
    }
    if count > limit:
        raise TooManyRequests(
            "Global limit has been reached",
            error_code="too_many_requests",
            headers={**headers, "Retry-After": str(max(1, int(reset - now)))},
        )
    return headers


def _count_request(key: str) -> int:
    incr_expiring = getattr(cache, "incr_expiring", None)
    if incr_expiring is not None:  # the Redis cache (redis_cache.py): one round trip
        return incr_expiring(key, WINDOW_SECONDS + 30)
    cache.add(key, 0, timeout=WINDOW_SECONDS + 30)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 30)
        return 1
