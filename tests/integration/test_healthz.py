"""``/healthz`` through a real web process, worker and beat on a private Redis: green while the
sweeper runs, red (503) once beat is SIGKILLed and the last sweep grows older than three
intervals."""

import os
import signal

import httpx
import pytest

from tests.conftest import wait_for, worker_environment
from tests.integration.conftest import FAST_SWEEP, served_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web(private_redis, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        env = worker_environment(REDIS_URL=private_redis.url, CONFIG_CACHE_SECONDS=0, **FAST_SWEEP)
    with served_web(env, tmp_path / "web.log") as url:
        yield url


def test_healthz_is_green_while_sweeping_and_red_once_beat_is_killed(web, worker_factory):
    worker = worker_factory()

    def health() -> httpx.Response:
        return httpx.get(f"{web}/healthz", timeout=30)

    wait_for(lambda: health().status_code == 200, timeout=60, interval=0.5)
    body = health().json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"] and body["sweeper"]["ok"]
    assert body["worker"]["ok"] is not False
    assert "retention" in body

    os.kill(worker.beat.pid, signal.SIGKILL)
    worker.beat.wait(timeout=10)

    wait_for(lambda: health().status_code == 503, timeout=60, interval=0.5)
    body = health().json()
    assert body["status"] == "unhealthy" and body["sweeper"]["ok"] is False
    assert "beat" in body["sweeper"]["error"]
    assert body["database"]["ok"] and body["broker"]["ok"]
