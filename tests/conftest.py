"""Shared fixtures: loopback servers (a gateway, a fake Twilio) and a real Celery worker process.

The worker is a separate OS process started with the same settings as the tests, pointed at the
test database, the test broker and the loopback servers, exactly as `celery -A phoneprovider
worker` runs in production.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from pytest_httpserver import HTTPServer

from tests.api_client import api, api_as, make_token  # noqa: F401 - the API client's fixtures

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_ONLY = "127.0.0.1/32"


def _serve() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    return server


@pytest.fixture(autouse=True)
def fresh_configuration_copies():
    """Each test starts with no process holding a copy of an earlier test's configuration (the
    database is emptied between tests behind Django's back, which no signal reports)."""
    from phoneprovider import config_cache

    config_cache._announce()


@pytest.fixture(autouse=True)
def fresh_limit_counters():
    """Each test starts with no abuse-limit counts in Redis (database rows go with the test)."""
    from phoneprovider.services import limit_counters

    # A test that took Redis down left no counts there to clear.
    with contextlib.suppress(Exception):
        limit_counters.reset(in_database=False)


@pytest.fixture(autouse=True)
def fresh_chart_hours():
    """Each test starts with no chart hours kept in the cache from an earlier test's messages."""
    from phoneprovider import selectors_charts

    with contextlib.suppress(Exception):  # a test that took the cache down kept nothing
        selectors_charts.forget_kept_hours()


@pytest.fixture(scope="session")
def gateway_server():
    """A loopback HTTP server that handler code sends to; tests set its answers and read its log."""
    server = _serve()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="session")
def twilio_server():
    """A fake Twilio REST API on loopback."""
    server = _serve()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def gateway(gateway_server):
    gateway_server.clear()
    yield gateway_server
    gateway_server.clear()


@pytest.fixture
def fake_twilio(twilio_server):
    twilio_server.clear()
    yield twilio_server
    twilio_server.clear()


@contextlib.contextmanager
def npm_registry_in_use(registry, monkeypatch, settings, deno_dir):
    """Deploys in this process, and worker processes started with ``worker_environment()``
    meanwhile, install from ``registry`` (``NPM_CONFIG_REGISTRY``) into an empty Deno cache
    (``DENO_DIR``)."""
    from phoneprovider import runtime

    previous_dir = settings.DENO_DIR
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", registry.url)
    monkeypatch.setenv("DENO_DIR", str(deno_dir))
    settings.DENO_DIR = deno_dir
    # Runtime processes started before know neither the registry nor the cache: start anew.
    runtime.shutdown()
    runtime.configure(deno_dir=str(deno_dir))  # what was installed elsewhere is looked for again
    try:
        yield registry
    finally:
        runtime.shutdown()
        runtime.configure(deno_dir=str(previous_dir))


@pytest.fixture
def npm_registry(monkeypatch, settings, tmp_path_factory):
    """A fake npm registry on loopback (tests/npm_registry.py) that deploys install from (see
    ``npm_registry_in_use``)."""
    from tests.npm_registry import NpmRegistry

    server = _serve()
    deno_dir = tmp_path_factory.mktemp("deno")
    with npm_registry_in_use(NpmRegistry(server), monkeypatch, settings, deno_dir) as registry:
        yield registry
    server.clear()
    server.stop()


def _database_url() -> str:
    """The URL of the database the tests use (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_environment(**overrides) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="phoneprovider.settings",
        DATABASE_URL=_database_url(),
        VAR_DIR=str(settings.VAR_DIR),
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(settings.FIELD_ENCRYPTION_KEY),
        OUTBOUND_ALLOWED_NETWORKS=LOOPBACK_ONLY,
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class WorkerProcess:
    """A `celery -A phoneprovider worker` child process with its log captured to a file."""

    def __init__(self, env: dict, log_path: Path, concurrency: int = 2, beat: bool = False):
        self.log_path = log_path
        self.restarts = 0
        self._args = (env, concurrency, beat)
        self._log = open(log_path, "a")  # noqa: SIM115 - closed in stop()
        self._start(env, concurrency, beat)

    def _start(self, env: dict, concurrency: int, beat: bool) -> None:
        ready_marks = self.log().count(" ready.")
        celery = [sys.executable, "-m", "celery", "-A", "phoneprovider"]
        self.process = subprocess.Popen(
            [
                *celery,
                "worker",
                "--purge",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Beat (the sweeper's clock) runs beside the worker, as in production, so that killing
        # the worker's children never stops it.
        self.beat = (
            subprocess.Popen(
                [
                    *celery,
                    "beat",
                    "--loglevel=INFO",
                    "--schedule",
                    str(self.log_path.with_suffix(".schedule")),
                ],
                cwd=ROOT,
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if beat
            else None
        )
        self._wait_ready(ready_marks)

    def supervise(self) -> None:
        """Do what a process supervisor (compose's restart policy, systemd) does: restart a worker
        that exited."""
        if self.process.poll() is not None:
            self.restarts += 1
            self.stop()
            self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
            self._start(*self._args)

    def _wait_ready(self, ready_marks: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The worker exited at start:\n{self.log()}")
            if self.log().count(" ready.") > ready_marks:
                return
            time.sleep(0.2)
        raise RuntimeError(f"The worker did not get ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def stop(self) -> None:
        for process in (self.beat, self.process):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup, django_db_blocker, gateway_server, twilio_server, tmp_path_factory
):
    """One real worker process for the session, sharing the test database and broker."""
    with django_db_blocker.unblock():
        env = worker_environment(
            TWILIO_API_BASE_URL=twilio_server.url_for("").rstrip("/"),
            ACTIONS_EXECUTION_TIMEOUT=5,
        )
    worker = WorkerProcess(env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield worker
    worker.stop()


def wait_for(predicate, timeout: float = 30, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")
