"""Which handler failures delivery retries: a network failure of ``fetch`` that escapes the
handler is transient; the handler's own errors stay permanent. Handlers run in the real sandbox
against loopback; a refused address is a loopback port nobody listens on."""

from __future__ import annotations

import socket
import uuid

import pytest

from phoneprovider import runtime
from phoneprovider.providers import custom

pytestmark = pytest.mark.django_db


def _handler(body: str) -> str:
    return f"exports.onExecuteCustomPhoneProvider = async (event, api) => {{\n{body}\n}};\n"


@pytest.fixture
def refused_url(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.ACTIONS_EXECUTION_TIMEOUT = 5
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/sms"  # closed again: connections are refused


def _run(code: str, url: str) -> runtime.Outcome:
    return custom.run(
        code=code,
        trigger="custom-phone-provider",
        event={"notification": {}},
        secrets={"URL": url},
        context_key=f"network:{uuid.uuid4().hex}",
        cache_namespace="act_network",
    )


@pytest.mark.parametrize(
    "body,outcome",
    [
        # Auth0's common style: the rejection escapes.
        ("await fetch(event.secrets.URL, {method: 'POST'});", "retry"),
        # Escaping from a helper the handler awaits is the same rejection.
        ("const send = (u) => fetch(u); await send(event.secrets.URL);", "retry"),
        # The handler caught it and decided: its own error, permanent.
        (
            "try { await fetch(event.secrets.URL); }"
            " catch (e) { throw new Error('gateway down'); }",
            "failed",
        ),
        # Caught and swallowed: the handler resolved, so the message counts as delivered.
        ("try { await fetch(event.secrets.URL); } catch (e) {}", "delivered"),
    ],
)
def test_a_refused_fetch_is_transient_only_when_it_escapes_the_handler(refused_url, body, outcome):
    ran = _run(_handler(body), refused_url)
    result = custom.result_for(ran)
    assert result.outcome == outcome, ran
    if outcome != "delivered":
        assert result.reason
    if outcome == "retry":
        assert custom.escaped_network_failure(ran)["error_kind"] == "connect"
        assert result.reason.startswith("TypeError: fetch failed"), result.reason


def test_an_error_that_only_looks_like_a_fetch_failure_is_the_handlers_own(refused_url):
    ran = _run(
        _handler("throw new TypeError('fetch failed: The connection failed: refused');"),
        refused_url,
    )
    assert ran.error_kind == "runtime"
    assert custom.result_for(ran).outcome == "failed"


def _outcome(message: str, fetch_error: str, fetch_kind: str | None) -> runtime.Outcome:
    return runtime.Outcome(
        status="error",
        reason=f"TypeError: {message}",
        error={"name": "TypeError", "message": message, "stack": ""},
        error_kind="runtime",
        fetches=[{"method": "POST", "url": "https://gw.example/", "status": None,
                  "duration_ms": 1.0, "error": fetch_error, "error_kind": fetch_kind}],
    )  # fmt: skip


@pytest.mark.parametrize(
    "fetch_error,fetch_kind,outcome",
    [
        ("The request timed out", "timeout", "retry"),
        ("Could not resolve gw.example: [Errno -2] Name or service not known", "connect", "retry"),
        ("The server closed the connection", "connect", "retry"),
        ("gw.example resolves to a refused address.", "blocked", "failed"),
        ("The response is larger than 1048576 bytes", "too_large", "failed"),
        ("More than 5 redirects", "redirects", "failed"),
    ],
)
def test_fetch_failures_are_classified_by_their_kind(fetch_error, fetch_kind, outcome):
    ran = _outcome(f"fetch failed: {fetch_error}", fetch_error, fetch_kind)
    assert custom.result_for(ran).outcome == outcome
