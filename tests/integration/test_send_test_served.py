"""Send Test under gunicorn (as `make serve` runs it), with a real worker: the dialog's long poll
gets each change of the test message from a sync worker, and the outcome right after the gateway
answered, in a few requests rather than one a second."""

import os
import re
import subprocess
import sys
import time
from html import unescape

import httpx
import pytest

from dashboard.starter import STARTER_HANDLER
from phoneprovider.services.providers import custom_provider_configure
from tests.conftest import LOOPBACK_ONLY, ROOT, WorkerProcess, wait_for, worker_environment
from tests.integration.conftest import accepts, free_port, served_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-served-staff-1"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def web(celery_worker, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        env = worker_environment(CONFIG_CACHE_SECONDS=0)
    with served_web(env, tmp_path / "web.log") as url:
        yield url


def _csrf(client: httpx.Client, html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _next_url(html: str) -> str | None:
    match = re.search(r'hx-get="([^"]+\?seen=[^"]+)"', html)
    return unescape(match.group(1)) if match else None


def _send_test(base_url: str) -> tuple[str, int, float]:
    """Sign in, send a test message as the dialog does and follow its long poll to the end:
    the final block, how many polls it took and the seconds from the POST."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.get("/login/")
        client.post(
            "/login/",
            data={
                "username": "ops",
                "password": PASSWORD,
                "csrfmiddlewaretoken": _csrf(client, login.text),
            },
        )
        form = client.get("/provider/test/", headers=HTMX).text

        started = time.monotonic()
        html = client.post(
            "/provider/test/",
            data={
                "to": "+14155550100",
                "delivery_method": "text",
                "csrfmiddlewaretoken": _csrf(client, form),
            },
            headers=HTMX,
        ).text
        asks = 0
        while (url := _next_url(html)) is not None:
            asks += 1
            assert asks < 20, html
            html = client.get(url, headers=HTMX).text
        took = time.monotonic() - started

    return html, asks, took


def test_send_test_outcome_arrives_by_long_poll_under_gunicorn(web, gateway, django_user_model):
    gateway.expect_request("/sms", method="POST").respond_with_json({"queued": True})
    django_user_model.objects.create_user("ops", password=PASSWORD, is_staff=True)
    custom_provider_configure(
        actor="setup",
        code=STARTER_HANDLER,
        delivery_methods=["text"],
        secret_upserts={"GATEWAY_URL": gateway.url_for("/sms"), "GATEWAY_TOKEN": "gw-served-1"},
    )
    html, asks, took = _send_test(web)

    assert '<strong class="outcome-label">Delivered</strong>' in html
    assert len(gateway.log) == 1  # the worker's handler reached the gateway once
    # A change per answer (claimed, then delivered), not an answer per second.
    assert asks <= 4
    print(f"\nSend Test under gunicorn: POST → outcome {took * 1000:.0f} ms in {asks} long polls")


CONFIGURE = """
from django.contrib.auth import get_user_model
from dashboard.starter import STARTER_HANDLER
from phoneprovider.services.providers import custom_provider_configure
get_user_model().objects.create_user("ops", password="{password}", is_staff=True)
custom_provider_configure(
    actor="setup", code=STARTER_HANDLER, delivery_methods=["text"],
    secret_upserts={{"GATEWAY_URL": "{url}", "GATEWAY_TOKEN": "gw-run-1"}},
)
"""


def test_send_test_outcome_arrives_by_long_poll_under_make_runs_setup(gateway, tmp_path):
    """`make run`'s parts: runserver, SQLite and the file broker, with a worker beside them."""
    gateway.expect_request("/sms", method="POST").respond_with_json({"queued": True})
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(tmp_path / "var"),
        DEBUG="true",
        OUTBOUND_ALLOWED_NETWORKS=LOOPBACK_ONLY,
        DJANGO_SETTINGS_MODULE="phoneprovider.settings",
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input"], ["shell", "-c", CONFIGURE.format(
        password=PASSWORD, url=gateway.url_for("/sms"))]):  # fmt: skip
        done = subprocess.run(
            [*manage, *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
    worker = WorkerProcess(env, tmp_path / "worker.log", concurrency=1)
    port = free_port()
    with open(tmp_path / "web.log", "w") as log:
        web = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: web.poll() is not None or accepts(port), timeout=60)
        assert web.poll() is None, (tmp_path / "web.log").read_text()
        html, asks, took = _send_test(f"http://127.0.0.1:{port}")
    finally:
        web.terminate()
        web.wait(timeout=30)
        worker.stop()
    assert '<strong class="outcome-label">Delivered</strong>' in html
    assert len(gateway.log) == 1
    assert asks <= 4
    print(
        f"\nSend Test under runserver + SQLite: POST → outcome {took * 1000:.0f} ms in {asks} polls"
    )
