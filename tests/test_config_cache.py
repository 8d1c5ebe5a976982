"""Per-process copies of the configuration: reused while nothing changes, dropped when anything
does (here or in another process), after CONFIG_CACHE_SECONDS, and bypassed when the cache is
down."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phoneprovider import config_cache
from phoneprovider.services.limits import policy_update
from phoneprovider.services.providers import provider_update
from tests.factories import TwilioProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def provider():
    return config_cache.Snapshot().provider()


def policy():
    return config_cache.Snapshot().policy()


def queries(read) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        value = read()
    return value, len(captured)


def test_a_copy_is_reused_until_the_configuration_changes():
    stored = TwilioProviderFactory()
    first, asked = queries(provider)
    assert first.pk == stored.pk and asked == 1
    again, asked = queries(provider)
    assert again is first and asked == 0

    provider_update(stored, actor="test", delivery_methods=["text", "voice"])
    changed, asked = queries(provider)
    assert asked == 1 and changed.delivery_methods == ["text", "voice"]


def test_each_kind_of_configuration_has_its_own_copy():
    TwilioProviderFactory()
    policy()  # its first read creates the policy row, which is a change
    provider()
    policy()
    _, asked = queries(lambda: (provider(), policy()))
    assert asked == 0
    policy_update(actor="test", recipient_per_hour=3)
    stored, asked = queries(policy)
    assert asked == 1 and stored.recipient_per_hour == 3


def test_a_change_announced_by_another_process_drops_the_copy():
    TwilioProviderFactory()
    provider()
    # What another process's commit does: a new generation in the shared cache.
    config_cache.cache.set(config_cache.GENERATION_KEY, "from-another-process", timeout=None)
    _, asked = queries(provider)
    assert asked == 1


def test_copies_expire_after_config_cache_seconds(monkeypatch, settings):
    settings.CONFIG_CACHE_SECONDS = 5
    TwilioProviderFactory()
    clock = [1000.0]
    monkeypatch.setattr(config_cache.time, "monotonic", lambda: clock[0])
    provider()
    clock[0] += 4.9
    assert queries(provider)[1] == 0
    clock[0] += 0.2
    assert queries(provider)[1] == 1


def test_zero_seconds_turns_copies_off(settings):
    settings.CONFIG_CACHE_SECONDS = 0
    TwilioProviderFactory()
    provider()
    assert queries(provider)[1] == 1


def test_with_the_cache_down_the_database_is_read_every_time(monkeypatch):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    TwilioProviderFactory()
    monkeypatch.setattr(config_cache, "cache", Down())
    assert queries(provider)[1] == 1
    assert queries(provider)[1] == 1
    # A change still commits; announcing it fails quietly (copies expire by themselves).
    config_cache.config_changed()


def test_one_snapshot_looks_at_the_shared_cache_once(monkeypatch):
    TwilioProviderFactory()
    policy()
    looks = []
    real = config_cache._generation
    monkeypatch.setattr(config_cache, "_generation", lambda: looks.append(1) or real())
    config = config_cache.Snapshot()
    config.provider(), config.template("otp_verify"), config.policy(), config.custom_handler()
    assert len(looks) == 1
