"""PostgreSQL down: a real web process answers 503 with Retry-After (Auth0's body under /api/),
never 500. The process is pointed at a closed loopback port, so the shared PostgreSQL keeps
running for everyone else."""

import httpx
import pytest

from tests.conftest import worker_environment
from tests.integration.conftest import accepts, free_port, served_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def web_without_database(django_db_blocker, tmp_path):
    closed = free_port()
    assert not accepts(closed)
    with django_db_blocker.unblock():
        env = worker_environment(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed}/phoneprovider",
            CONFIG_CACHE_SECONDS=0,
        )
    with served_web(env, tmp_path / "web.log") as url:
        yield url


def test_the_api_answers_503_with_retry_after_while_the_database_is_down(web_without_database):
    response = httpx.post(
        f"{web_without_database}/api/v2/phone/messages",
        json={"to": "+14155550100"},
        headers={"Authorization": "Bearer some-token"},
        timeout=30,
    )
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["statusCode"] == 503 and body["error"] == "Service Unavailable"
    assert "database" in body["message"]


def test_pages_answer_503_with_retry_after_while_the_database_is_down(web_without_database):
    client = httpx.Client(base_url=web_without_database, timeout=30)
    login = client.get("/login/")
    token = login.cookies.get("csrftoken") or ""
    response = client.post(
        "/login/",
        data={"username": "a", "password": "b", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 503, response.text[:500]
    assert int(response.headers["Retry-After"]) > 0
