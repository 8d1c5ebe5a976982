"""Per-process copies of the configuration every message reads: the provider, the templates, the
limits policy and the deployed handler. Sending then does not ask the database for them each time.

A configuration write bumps a generation number in the shared cache (Redis, or files under
``var/``) once it commits; a process drops its copies when the number changes, and after
``CONFIG_CACHE_SECONDS`` in any case, so even a change made behind Django's back (a restored
backup, hand-written SQL) shows within that time. ``CONFIG_CACHE_SECONDS=0`` turns copies off.

A copy is shared by every caller in the process: only read-only paths (queueing and delivering
messages, authenticating API tokens) use them. Pages, the API and services read through
``selectors`` as before.
"""

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from phoneprovider import routing, selectors
from phoneprovider.models import (
    Action,
    ActionSecret,
    ActionVersion,
    ApiToken,
    Connection,
    DeliveryPolicy,
    PhoneProvider,
    PhoneTemplate,
    Route,
    RouteConnection,
)

logger = logging.getLogger(__name__)

GENERATION_KEY = "phoneprovider:config-generation"
CONFIG_MODELS = (
    PhoneProvider,
    PhoneTemplate,
    DeliveryPolicy,
    Action,
    ActionVersion,
    ActionSecret,
    Connection,
    Route,
    RouteConnection,
    ApiToken,  # a revoked or deleted token is refused at once in every process
)

T = TypeVar("T")
_copies: dict[str, tuple[str, float, object]] = {}  # name → (generation, taken at, value)


class Snapshot:
    """The configuration one message needs, all checked against one reading of the generation
    number (one look at the shared cache per message, however many parts it reads)."""

    def __init__(self):
        self.max_age = settings.CONFIG_CACHE_SECONDS
        # Read before loading anything: a change that commits meanwhile bumps past this number,
        # so what is loaded now is never kept past that change.
        self.generation = _generation() if self.max_age > 0 else None

    def provider(self) -> PhoneProvider | None:
        return self._get("provider", selectors.provider_get)

    def template(self, message_type: str) -> PhoneTemplate | None:
        return self._get(
            f"template:{message_type}", lambda: selectors.template_for_type(message_type)
        )

    def policy(self) -> DeliveryPolicy:
        return self._get("policy", selectors.policy_get)

    def custom_handler(self) -> tuple[ActionVersion | None, dict[str, str]]:
        """The deployed custom-phone-provider version and its decrypted secrets."""

        def load():
            version = selectors.custom_provider_version()
            return version, (version.secrets if version else {})

        return self._get("custom-handler", load)

    def routes(self) -> tuple[routing.Rule, ...]:
        """Every routing rule in order, with its connections (credentials included)."""
        return self._get("routes", routing.rules_load)

    def token(self, token_hash: str) -> ApiToken | None:
        """The API token with this hash. Unknown hashes are not kept: they would let anyone
        fill the process's memory with made-up tokens."""
        return self._get(
            f"token:{token_hash}",
            lambda: ApiToken.objects.filter(token_hash=token_hash).first(),
            keep_none=False,
        )

    def _get(self, name: str, load: Callable[[], T], keep_none: bool = True) -> T:
        if self.generation is None:
            return load()
        now = time.monotonic()
        copy = _copies.get(name)
        if copy is not None and copy[0] == self.generation and now - copy[1] < self.max_age:
            return copy[2]
        value = load()
        if value is not None or keep_none:
            _copies[name] = (self.generation, now, value)
        return value


def _generation() -> str | None:
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:  # first use, or evicted: any new value drops every old copy
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            generation = cache.get(GENERATION_KEY)
        return generation
    except Exception:  # the cache is down: read the database, as without copies
        return None


def config_changed() -> None:
    """Drop this process's copies now and, once the transaction commits, every process's."""
    _copies.clear()
    transaction.on_commit(_announce)


def _announce() -> None:
    _copies.clear()
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning(
            "Could not announce a configuration change; other processes see it within %s s.",
            settings.CONFIG_CACHE_SECONDS,
            exc_info=True,
        )


def _on_config_write(sender, **kwargs) -> None:
    config_changed()


def connect_signals() -> None:
    for model in CONFIG_MODELS:
        post_save.connect(_on_config_write, sender=model, dispatch_uid=f"config-{model.__name__}")
        post_delete.connect(
            _on_config_write, sender=model, dispatch_uid=f"config-del-{model.__name__}"
        )
