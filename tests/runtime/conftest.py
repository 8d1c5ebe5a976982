"""Loopback servers and helpers for the runtime tests. Nothing here needs Django.

Network safety: servers bind 127.0.0.1 (allowed through ``LOOPBACK_POLICY``) and 127.0.0.2
(refused by the guard, since only 127.0.0.1/32 is allowed). Nothing else is ever contacted.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from phoneprovider.runtime import HttpPolicy, Limits, execute

LOOPBACK_POLICY = HttpPolicy(allowed_networks=["127.0.0.1/32"])


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == name), None)


@dataclass
class Route:
    status: int = 200
    body: bytes = b"{}"
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0
    stream_bytes: int = 0  # send this many bytes of filler, chunk by chunk
    chunked: bool = False  # stream them without declaring a length (Transfer-Encoding: chunked)


class Loopback:
    """A small threaded HTTP server that records requests and answers per path."""

    def __init__(self, host: str = "127.0.0.1"):
        self.received: list[Received] = []
        self.routes: dict[str, Route] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.received.append(Received(self.command, self.path, dict(self.headers), body))
                route = server.routes.get(path, Route())
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if route.stream_bytes:
                    if route.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.send_header("Content-Length", str(route.stream_bytes))
                    self.end_headers()
                    sent, chunk = 0, b"x" * 65536
                    try:
                        while sent < route.stream_bytes:
                            n = min(len(chunk), route.stream_bytes - sent)
                            if route.chunked:
                                self.wfile.write(b"%x\r\n%s\r\n" % (n, chunk[:n]))
                            else:
                                self.wfile.write(chunk[:n])
                            sent += n
                        if route.chunked:
                            self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, **kwargs) -> None:
        if "json" in kwargs:
            kwargs["body"] = json.dumps(kwargs.pop("json")).encode()
        self.routes[path] = Route(**kwargs)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def _loopback_allowed():
    server = Loopback("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _loopback_blocked():
    server = Loopback("127.0.0.2")
    yield server
    server.stop()


@pytest.fixture
def server(_loopback_allowed):
    """A loopback server on 127.0.0.1 (reachable: 127.0.0.1/32 is allowed)."""
    _loopback_allowed.received.clear()
    _loopback_allowed.routes.clear()
    return _loopback_allowed


@pytest.fixture
def blocked_server(_loopback_blocked):
    """A loopback server on 127.0.0.2: the guard must refuse to reach it."""
    _loopback_blocked.received.clear()
    _loopback_blocked.routes.clear()
    return _loopback_blocked


_counter = iter(range(1, 10**9))


def run(
    source: str,
    event: dict | None = None,
    *,
    key: str | None = None,
    secrets=None,
    limits: Limits | None = None,
    **kwargs,
):
    """Execute ``source`` with loopback-only networking and a fresh context key by default."""
    kwargs.setdefault("http_policy", LOOPBACK_POLICY)
    return execute(
        source,
        event if event is not None else sample_event(),
        context_key=key or f"test:{next(_counter)}",
        secrets=secrets or {},
        limits=limits,
        **kwargs,
    )


def handler(body: str) -> str:
    return f"exports.onExecuteCustomPhoneProvider = async (event, api) => {{\n{body}\n}};\n"


def sample_event(**notification) -> dict:
    n = {
        "message_type": "otp_verify",
        "delivery_method": "text",
        "recipient": "+15555550123",
        "as_text": "Your code is 123456",
        "as_voice": "Your code is 1 2 3 4 5 6",
        "code": "123456",
        "from": "+15555550100",
        "locale": "en-US",
    }
    n.update(notification)
    return {
        "notification": n,
        "client": {"client_id": "cl_1", "name": "App", "metadata": {}},
        "tenant": {"id": "tenant"},
        "request": {"ip": "203.0.113.7", "method": "POST", "geoip": {"countryCode": "US"}},
        "user": {
            "user_id": "auth0|1",
            "email_verified": True,
            "app_metadata": {},
            "user_metadata": {},
        },
        "transaction": {"correlation_id": "msg_abc"},
        "configuration": {},
    }


QUICK = Limits(timeout_s=2.0)


def assert_healthy() -> None:
    """A normal execution in this same calling process still works."""
    outcome = run(handler("console.log('still alive'); api.notification.drop('fine');"))
    assert outcome.status == "drop", outcome
    assert outcome.reason == "fine"
    assert outcome.logs[0]["message"] == "still alive"
