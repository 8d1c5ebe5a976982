"""Hostile handlers in a real Celery worker: each execution ends with a clear recorded error, and
the same worker goes on delivering the next message.

One worker (one prefork child, so the next message lands where the hostile one ran) with beat on
a Redis of this module's own, ``ACTIONS_EXECUTION_TIMEOUT=2``, ``ACTIONS_MEMORY_LIMIT_MB=64``,
``ACTIONS_MAX_FETCHES=5``, a 64 kB response cap and ``MESSAGE_MAX_ATTEMPTS=1`` (a transient
failure shows as a ``retry`` attempt and then ends the message). The test process enqueues to
that Redis, so nothing here reaches another worker.

Network: the worker may reach 127.0.0.1 only; refused requests aim at 127.0.0.2.
"""

import json
import os
import signal
import subprocess

import pytest

from phoneprovider.models import ActionVersion, PhoneMessage
from phoneprovider.services import messages, queue
from tests.conftest import WorkerProcess, wait_for, worker_environment
from tests.integration.conftest import hold_first_request
from tests.integration.test_delivery_worker import deploy_custom
from tests.runtime.conftest import Loopback

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "s3cret-token"  # the GATEWAY_TOKEN deploy_custom stores


@pytest.fixture(scope="module")
def sandbox_worker(django_db_setup, django_db_blocker, module_redis, tmp_path_factory):
    """One worker with tight limits that every case runs on."""
    with django_db_blocker.unblock():
        env = worker_environment(
            REDIS_URL=module_redis,
            CONFIG_CACHE_SECONDS="0",  # its cache is not the test process's
            MESSAGE_MAX_ATTEMPTS="1",
            ACTIONS_EXECUTION_TIMEOUT="2",
            ACTIONS_MEMORY_LIMIT_MB="64",
            ACTIONS_MAX_FETCHES="5",
            ACTIONS_MAX_RESPONSE_BYTES=str(64 * 1024),
            ACTIONS_MAX_LOG_BYTES="4096",
        )
    worker = WorkerProcess(
        env, tmp_path_factory.mktemp("sandbox-worker") / "worker.log", concurrency=1
    )
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def enqueue_to_the_sandbox_worker(monkeypatch, module_redis):
    from phoneprovider.celery import app
    from phoneprovider.tasks import deliver_due_task

    def enqueue(message_pk, countdown=None):
        with app.connection_for_write(module_redis) as connection:
            deliver_due_task.apply_async((), countdown=countdown, connection=connection)

    monkeypatch.setattr(queue, "message_enqueue", enqueue)


@pytest.fixture(scope="module")
def refused_server():
    server = Loopback("127.0.0.2")
    yield server
    server.stop()


def _handler(hostile: str, module_level: str = "") -> str:
    """A forwarder that turns hostile when the code is 'bad'."""
    return f"""{module_level}
exports.onExecuteCustomPhoneProvider = async (event, api) => {{
  if (event.notification.code === 'bad') {{
    {hostile}
  }}
  const res = await fetch(event.secrets.GATEWAY_URL, {{
    method: 'POST',
    headers: {{ 'Idempotency-Key': event.transaction.correlation_id }},
    body: event.notification.as_text,
  }});
  console.log('gateway answered', res.status);
}};
"""


def _deliver(code: str, timeout: float = 60) -> PhoneMessage:
    message = messages.message_queue(to="+14155550100", code=code)

    def final():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    wait_for(final, timeout=timeout)
    return message


def _then_a_normal_message_is_delivered(gateway) -> None:
    message = _deliver("123456")
    assert message.status == "delivered", message.reason
    keys = [request.headers.get("Idempotency-Key") for request, _ in gateway.log]
    assert message.public_id in keys


# (hostile body, attempt outcome, words the recorded reason contains)
CASES = {
    "sync infinite loop": ("while (true) {}", "retry", "did not finish within 2 s"),
    "loop in a promise": (
        "await Promise.resolve().then(() => { for (;;) {} });",
        "retry",
        "did not finish within 2 s",
    ),
    "microtask loop": ("for (;;) { await null; }", "retry", "did not finish within 2 s"),
    "timer loop": (
        "const tick = () => setTimeout(tick, 0); tick(); await new Promise(() => {});",
        "retry",
        "did not finish within 2 s",
    ),
    "never-resolving promise": ("await new Promise(() => {});", "retry", "did not finish"),
    "heap growth": (
        "const keep = []; for (;;) keep.push({ a: new Array(1000).fill(keep.length) });",
        "failed",
        "more memory than allowed (64 MB)",
    ),
    "ArrayBuffer growth": (
        "const keep = []; for (;;) { const b = new Uint8Array(16 * 1024 * 1024); b.fill(1); "
        "keep.push(b); }",
        "failed",
        "more memory than allowed (64 MB)",
    ),
    "one huge allocation": (
        "const b = new Uint8Array(2 ** 32); b.fill(7); console.log(b[5]);",
        "failed",
        "more memory than allowed (64 MB)",
    ),
    "deep recursion": (
        "const f = (n) => f(n + 1) + 1; f(0);",
        "failed",
        "Maximum call stack size exceeded",
    ),
    "thrown non-Error": ("throw { code: 42 };", "failed", "not an Error: { code: 42 }"),
    "process": (
        "process.exit(1);",
        "failed",
        "process.exit() is not available",
    ),
    "child_process": (
        "require('child_process').execSync('id');",
        "failed",
        "Cannot find module 'child_process'",
    ),
    "fs": ("require('fs').readFileSync('/etc/passwd');", "failed", "Cannot find module 'fs'"),
    "WebAssembly memory": (
        "new WebAssembly.Memory({ initial: 1, maximum: 65536 });",
        "failed",
        "WebAssembly is not defined",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_handler_is_stopped_and_the_worker_keeps_delivering(case, sandbox_worker, gateway):
    hostile, attempt_outcome, words = CASES[case]
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))

    bad = _deliver("bad")
    assert bad.status == "failed"
    assert words in bad.reason, bad.reason
    attempt = bad.attempts.get()
    assert attempt.outcome == attempt_outcome
    assert words in attempt.error
    assert attempt.execution.status == "error"
    assert words in attempt.execution.reason
    assert "pp-runtime" not in json.dumps(attempt.execution.error)
    _then_a_normal_message_is_delivered(gateway)


def test_a_load_error_fails_for_good(sandbox_worker, gateway):
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    code = _handler(
        "", module_level="if (globalThis.__x === undefined) throw new Error('at load');"
    )
    # Deploy now refuses code that throws at load; a version stored before that check still
    # reaches the worker, which must fail it for good too. So the version is written directly.
    deploy_custom(gateway.url_for("/sms"), code=_handler(""))
    ActionVersion.objects.filter(deployed=True).update(code=code)
    message = _deliver("123456")
    assert message.status == "failed" and "at load" in message.reason
    assert message.attempts.get().outcome == "failed"
    assert gateway.log == []


def test_a_killed_sandbox_is_a_transient_failure_and_the_worker_recovers(sandbox_worker, gateway):
    arrived, release = hold_first_request(gateway)
    deploy_custom(gateway.url_for("/sms"), code=_handler(""))
    # ACTIONS_EXECUTION_TIMEOUT is 2 s: the handler is killed from outside before that.
    message = messages.message_queue(to="+14155550100", code="1")
    try:
        assert arrived.wait(30), "the handler never reached the gateway"
        sandboxes = [
            pid
            for child in sandbox_worker.children()
            for pid in subprocess.run(
                ["pgrep", "-P", str(child)], capture_output=True, text=True, check=False
            ).stdout.split()
        ]
        assert sandboxes, "no sandbox process found under the worker"
        for pid in sandboxes:
            os.kill(int(pid), signal.SIGKILL)
    finally:
        release.set()

    def final():
        message.refresh_from_db()
        return message.status not in ("queued", "sending")

    wait_for(final, timeout=60)
    attempt = message.attempts.get()
    assert attempt.outcome == "retry", attempt.error
    assert "stopped unexpectedly" in attempt.error
    assert message.status == "failed" and "Retries exhausted" in message.reason
    _then_a_normal_message_is_delivered(gateway)


def test_fetch_to_a_refused_address_is_blocked_in_the_worker(
    sandbox_worker, gateway, refused_server
):
    refused_server.received.clear()
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = f"await fetch('{refused_server.url('/metadata')}');"
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    bad = _deliver("bad")
    assert bad.status == "failed"
    assert "Refusing to connect to 127.0.0.2" in bad.reason
    assert refused_server.received == []
    _then_a_normal_message_is_delivered(gateway)


def test_a_redirect_to_a_refused_address_is_blocked_in_the_worker(
    sandbox_worker, gateway, refused_server
):
    refused_server.received.clear()
    gateway.expect_request("/hop").respond_with_data(
        "", status=302, headers={"Location": refused_server.url("/inside")}
    )
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = "await fetch(event.secrets.GATEWAY_URL.replace('/sms', '/hop'));"
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    bad = _deliver("bad")
    assert bad.status == "failed"
    assert "Refusing to connect to 127.0.0.2" in bad.reason
    assert refused_server.received == []
    _then_a_normal_message_is_delivered(gateway)


def test_fetch_storms_are_capped_in_the_worker(sandbox_worker, gateway):
    gateway.expect_request("/storm").respond_with_json({})
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = (
        "await Promise.allSettled(Array.from({ length: 80 }, () => "
        "fetch(event.secrets.GATEWAY_URL.replace('/sms', '/storm'))));"
    )
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    bad = _deliver("bad")
    assert bad.status == "failed" and "at most 5" in bad.reason
    assert bad.attempts.get().outcome == "failed"
    assert sum(1 for request, _ in gateway.log if request.path == "/storm") <= 5
    _then_a_normal_message_is_delivered(gateway)


def test_huge_responses_are_refused_in_the_worker(sandbox_worker, gateway):
    gateway.expect_request("/huge").respond_with_data("x" * (1024 * 1024))
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = "await (await fetch(event.secrets.GATEWAY_URL.replace('/sms', '/huge'))).text();"
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    bad = _deliver("bad")
    assert bad.status == "failed"
    assert "The response is larger than 65536 bytes" in bad.reason
    _then_a_normal_message_is_delivered(gateway)


def test_console_floods_are_cut_and_said_to_be_cut_in_the_worker(sandbox_worker, gateway):
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = "for (let i = 0; i < 1e6; i++) console.log('line', i, 'x'.repeat(100));"
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    flooded = _deliver("bad")
    assert flooded.status == "delivered", flooded.reason
    execution = flooded.attempts.get().execution
    assert execution.logs_truncated is True
    assert execution.logs[0]["message"].startswith("line 0 ")
    assert sum(len(e["message"]) + 32 for e in execution.logs) <= 4096
    _then_a_normal_message_is_delivered(gateway)


def test_secret_values_are_redacted_from_attempts_and_messages(sandbox_worker, gateway):
    gateway.expect_request("/sms").respond_with_json({"ok": True})
    hostile = (
        "console.error('using', event.secrets.GATEWAY_TOKEN);"
        "throw new Error('gateway refused token ' + event.secrets.GATEWAY_TOKEN);"
    )
    deploy_custom(gateway.url_for("/sms"), code=_handler(hostile))
    bad = _deliver("bad")
    attempt = bad.attempts.get()
    execution = attempt.execution
    assert bad.reason == "Error: gateway refused token [redacted]"
    assert attempt.error == bad.reason
    assert execution.logs[0]["message"] == "using [redacted]"
    stored = json.dumps(
        [bad.reason, attempt.error, execution.reason, execution.error, execution.logs]
    )
    assert SECRET not in stored
