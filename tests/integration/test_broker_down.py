"""The sending API while Redis (broker and cache) is down: sends are accepted into the outbox,
and once Redis is back the sweeper enqueues them and a worker delivers each once.

The web app runs as its own process (gunicorn) on this test's private Redis, so what is down is
exactly what production would lose.
"""

import time
from collections import Counter

import httpx
import pytest

from phoneprovider.models import PhoneMessage
from phoneprovider.services.tokens import token_create
from tests.conftest import wait_for, worker_environment
from tests.integration.conftest import served_web
from tests.integration.test_delivery_worker import deploy_custom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web(private_redis, django_db_blocker, tmp_path):
    """gunicorn serving the app on a free loopback port, its broker and cache the private Redis."""
    with django_db_blocker.unblock():
        env = worker_environment(REDIS_URL=private_redis.url, CONFIG_CACHE_SECONDS=0)
    try:
        with served_web(env, tmp_path / "web.log") as url:
            yield url
    finally:
        print("--- web.log ---", (tmp_path / "web.log").read_text()[-4000:], sep="\n")


def test_sends_are_accepted_while_redis_is_down_and_delivered_once_it_is_back(
    web, private_redis, worker_factory, gateway
):
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))
    token = token_create(actor="test", name="app", scopes=["create:phone_messages"]).raw

    private_redis.stop()
    accepted = []
    with httpx.Client(base_url=web, headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(3):
            started = time.monotonic()
            response = client.post(
                "/api/v2/phone/messages",
                json={"to": f"+1415555070{i}", "code": "246810"},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "queued"
            accepted.append(response.json()["id"])
            print(f"accepted with Redis down in {time.monotonic() - started:.2f} s")
    assert PhoneMessage.objects.filter(public_id__in=accepted, status="queued").count() == 3

    private_redis.start()
    worker_factory()

    def all_delivered():
        statuses = set(
            PhoneMessage.objects.filter(public_id__in=accepted).values_list("status", flat=True)
        )
        return statuses == {"delivered"}

    wait_for(all_delivered, timeout=90)
    keys = Counter(request.headers["Idempotency-Key"] for request, _ in gateway.log)
    assert keys == Counter({message_id: 1 for message_id in accepted})
