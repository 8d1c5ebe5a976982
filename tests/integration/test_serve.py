"""`make serve` (bin/serve): production mode's processes, supervised, on PostgreSQL and Redis."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from phoneprovider.services.tokens import token_create
from tests.conftest import ROOT, wait_for, worker_environment
from tests.integration.conftest import free_port
from tests.integration.test_delivery_worker import deploy_custom

SERVE = [sys.executable, str(ROOT / "bin" / "serve")]
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _without(*names: str) -> dict:
    return {k: v for k, v in os.environ.items() if k not in names}


def test_serve_says_which_settings_are_missing(tmp_path):
    env = _without("DATABASE_URL", "REDIS_URL")
    run = subprocess.run(
        SERVE, env={**env, "VAR_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=60
    )

    assert run.returncode == 2
    assert "DATABASE_URL  (e.g. postgres://" in run.stderr
    assert "REDIS_URL  (e.g. redis://" in run.stderr


def test_serve_check_names_what_it_cannot_reach(tmp_path):
    closed = free_port()
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/nothing",
        "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
        "SECRET_KEY": "k" * 50,
        "FIELD_ENCRYPTION_KEY": "A" * 43 + "=",
    }
    run = subprocess.run([*SERVE, "check"], env=env, capture_output=True, text=True, timeout=60)

    assert run.returncode == 2
    assert f"cannot reach PostgreSQL at 127.0.0.1:{closed}/nothing (DATABASE_URL)" in run.stderr
    assert "cannot reach Redis (REDIS_URL)" in run.stderr


def _pid_of(log, name: str, nth: int = 1) -> int:
    started = re.findall(rf"serve: {name} started \(pid (\d+)\)", log())
    return int(started[nth - 1]) if len(started) >= nth else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()  # a zombie is dead too
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="production mode runs on PostgreSQL")
def test_serve_delivers_through_its_processes_restarts_a_dead_one_and_stops_all(
    tmp_path, private_redis, gateway
):
    gateway.expect_request("/sms", method="POST").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"))
    token = token_create(actor="tests", name="serve", scopes=["create:phone_messages"]).raw
    port = free_port()
    env = worker_environment(
        REDIS_URL=private_redis.url,
        VAR_DIR=tmp_path / "var",
        HOST="127.0.0.1",
        PORT=port,
        DEBUG="true",  # serve turns it off whatever the environment says
        WEB_CONCURRENCY=1,
        WORKER_CONCURRENCY=1,
        CONFIG_CACHE_SECONDS=0,
    )
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log_file:
        serve = subprocess.Popen(
            SERVE, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def log() -> str:
        return log_path.read_text(errors="replace")

    base = f"http://127.0.0.1:{port}"
    try:

        def ready():
            """web answers and the worker is ready"""
            assert serve.poll() is None, log()
            try:
                httpx.get(f"{base}/login/", timeout=2)
            except httpx.TransportError:
                return False
            return "worker1@" in log() and " ready." in log()

        wait_for(ready, timeout=120, interval=0.5)

        page = httpx.get(f"{base}/login/")
        # DEBUG off: static files under hashed names, no debug page for an unknown URL.
        assert re.search(r"/static/dashboard/dashboard\.[0-9a-f]{12}\.css", page.text)
        missing = httpx.get(f"{base}/no-such-page/")
        assert missing.status_code == 404 and "URLconf" not in missing.text

        answer = httpx.post(
            f"{base}/api/v2/phone/messages",
            headers={"Authorization": f"Bearer {token}"},
            json={"to": "+14155550100", "message_type": "otp_verify", "code": "123456"},
        )
        assert answer.status_code == 202, answer.text
        wait_for(lambda: len(gateway.log) == 1, timeout=60)

        worker = _pid_of(log, "worker1")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: _pid_of(log, "worker1", nth=2), timeout=30)
        assert "worker1 exited with status -9" in log()
        assert _alive(_pid_of(log, "worker1", nth=2))
    finally:
        serve.send_signal(signal.SIGTERM)
        status = serve.wait(timeout=120)

    assert status == 0, log()
    pids = [_pid_of(log, "web"), _pid_of(log, "worker1", nth=2), _pid_of(log, "beat")]
    assert not [pid for pid in pids if _alive(pid)]
    assert "stopping web, worker(s) and beat" in log()
