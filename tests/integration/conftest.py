"""Fixtures of the integration tests: Redis servers of their own (stopping one disturbs nothing
else) and workers with beat on them."""

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug import Response

from tests.conftest import ROOT, WorkerProcess, wait_for, worker_environment

# The sweeper runs every half second and takes any queued row at once.
FAST_SWEEP = {"MESSAGE_SWEEP_INTERVAL": "0.5", "MESSAGE_SWEEP_GRACE_SECONDS": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def served_web(env: dict, log_path: Path) -> Iterator[str]:
    """gunicorn serving the app with ``env`` on a free loopback port; yields its base URL."""
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "phoneprovider.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--keep-alive", "0",
             "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(lambda: process.poll() is not None or accepts(port), timeout=60)
            assert process.poll() is None, log_path.read_text()
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


class RedisServer:
    """A redis-server on a free loopback port that keeps nothing on disk."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: accepts(self.port), timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory):
    """A Redis of one test module's own (its URL), for a worker the module's tests share."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def worker_factory(tmp_path, django_db_blocker, private_redis):
    """Start a worker and its beat on this test's own Redis broker."""
    started = []

    def start(**env):
        # CONFIG_CACHE_SECONDS=0: this worker's cache is not the test process's, so it would not
        # hear of the configuration changes the test makes.
        env = {"REDIS_URL": private_redis.url, "CONFIG_CACHE_SECONDS": "0", **FAST_SWEEP, **env}
        with django_db_blocker.unblock():
            environment = worker_environment(ACTIONS_EXECUTION_TIMEOUT=5, **env)
        worker = WorkerProcess(environment, tmp_path / f"worker{len(started)}.log", beat=True)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        # Shown by pytest only when the test failed.
        lines = [line for line in worker.log().splitlines() if "sweep" not in line]
        print(f"--- {worker.log_path.name} ---", *lines[-80:], sep="\n")


def hold_first_request(gateway, path: str = "/sms") -> tuple[threading.Event, threading.Event]:
    """Make the gateway hold the first request to ``path`` until ``release`` is set (``arrived``
    says it came in), then answer it and every later request with 200."""
    arrived, release = threading.Event(), threading.Event()

    def held(request):
        arrived.set()
        release.wait(15)
        return Response("{}", content_type="application/json")

    gateway.expect_ordered_request(path).respond_with_handler(held)
    gateway.expect_request(path).respond_with_json({"ok": True})
    return arrived, release
