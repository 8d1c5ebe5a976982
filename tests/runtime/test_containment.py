"""Hostile or broken handlers end with a clear error, and this process keeps executing.

Every test ends with ``assert_healthy()``: a normal handler still runs in the same calling
process right after the bad one.
"""

from __future__ import annotations

import pytest

from phoneprovider.runtime import Limits
from tests.runtime.conftest import QUICK, assert_healthy, handler, run

TIMEOUT_CASES = {
    "sync loop": "while (true) {}",
    "loop in a promise chain": "await Promise.resolve().then(() => { for (;;) {} });",
    "microtask loop": "for (;;) { await null; }",
    "recursive microtasks": (
        "const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {});"
    ),
    "queueMicrotask loop": "const f = () => queueMicrotask(f); f(); await new Promise(() => {});",
    "timer loop": "const tick = () => setTimeout(tick, 0); tick(); await new Promise(() => {});",
    "busy timer": "setTimeout(() => { for (;;) {} }, 1); await new Promise(() => {});",
    "never-resolving promise": "await new Promise(() => {});",
    "loop at module load": None,
}


@pytest.mark.parametrize("case", list(TIMEOUT_CASES))
def test_runaway_code_is_stopped_at_the_deadline(case):
    body = TIMEOUT_CASES[case]
    source = "for (;;) {}\n" + handler("") if body is None else handler(body)
    outcome = run(source, limits=QUICK)
    assert outcome.status == "error"
    if case == "recursive microtasks" and outcome.error_kind == "memory":
        # Each step keeps the previous promise alive, so this one may hit the memory cap first.
        assert "memory" in outcome.reason
    else:
        assert outcome.error_kind == "timeout"
        assert outcome.reason == "The handler did not finish within 2 s and was stopped."
    assert_healthy()


@pytest.mark.parametrize("loop", ["while (true) {}", "setTimeout(() => { for (;;) {} }, 1);"])
def test_a_process_left_with_a_runaway_loop_is_replaced(loop):
    # A terminated worker stuck in a loop keeps a core busy and its memory: its process goes.
    from phoneprovider.runtime import _sandbox

    key = f"runaway:{loop[:5]}"
    assert run(handler("console.log('warm');"), key=key).status == "delivered"
    pool = _sandbox.get_pool()
    [sandbox] = [s for s in pool._idle if key in s.warm_keys]
    outcome = run(handler(loop + "\nawait new Promise(() => {});"), key=key, limits=QUICK)
    assert outcome.error_kind == "timeout"
    assert sandbox.proc.wait(timeout=5) == 0  # it exited by itself after answering
    assert sandbox not in pool._all
    assert_healthy()


def test_a_timed_out_execution_keeps_its_console_output_when_the_isolate_answers():
    outcome = run(
        handler("console.log('waiting for Godot'); await new Promise(() => {});"), limits=QUICK
    )
    assert outcome.error_kind == "timeout"
    assert outcome.logs[0]["message"] == "waiting for Godot"


@pytest.mark.parametrize(
    "leftover",
    [
        "(async () => { for (;;) { await null; } })();",
        "setTimeout(() => { for (;;) {} }, 0);",
        "Promise.resolve().then(() => { for (;;) {} });",
    ],
)
def test_a_loop_left_running_after_resolving_does_not_poison_the_next_execution(leftover):
    # The handler itself finished (so it counts as delivered); what it left behind must not
    # stall the next execution, whichever context or sandbox that lands on.
    source = handler(leftover + " console.log('done'); return;")
    first = run(source, key="bg:1", limits=QUICK)
    assert first.status in ("delivered", "error")
    again = run(handler("return;"), key="bg:1", limits=QUICK)
    assert again.status == "delivered", again
    assert_healthy()


MEMORY_CASES = {
    "heap growth": "const keep = []; for (;;) keep.push({ a: new Array(1000).fill(keep.length) });",
    "string growth": "const keep = []; for (let i = 0; ; i++) keep.push('x'.repeat(10000) + i);",
    "ArrayBuffer growth": (
        "const keep = []; for (;;) { const b = new Uint8Array(16 * 1024 * 1024); b.fill(1); "
        "keep.push(b); }"
    ),
    "one huge allocation": "const b = new Uint8Array(2 ** 32); b.fill(7); console.log(b[5]);",
    "one huge array": "const a = new Array(2e8).fill(0); console.log(a.length);",
    "array growing at once": (
        "const a = Array.from({ length: 1e8 }, (_, i) => i); console.log(a.length);"
    ),
}


@pytest.mark.parametrize("case", list(MEMORY_CASES))
def test_memory_hogs_are_stopped_with_a_memory_error(case):
    outcome = run(handler(MEMORY_CASES[case]), limits=Limits(timeout_s=10, memory_mb=64))
    assert outcome.status == "error"
    assert outcome.error_kind == "memory", outcome
    assert "memory" in outcome.reason
    assert "64 MB" in outcome.reason
    assert_healthy()


def test_webassembly_shared_memory_and_atomics_are_not_available():
    outcome = run(
        handler("""
      console.log(typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics,
                  typeof globalThis.WebAssembly, 'WebAssembly' in globalThis);
      new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    """)
    )
    assert outcome.logs[0]["message"] == "undefined undefined undefined undefined false"
    assert outcome.status == "error" and outcome.error_kind == "runtime"
    assert "WebAssembly is not defined" in outcome.reason
    assert_healthy()


def test_deep_recursion_is_a_plain_runtime_error():
    outcome = run(handler("const f = (n) => f(n + 1) + 1; f(0);"))
    assert outcome.status == "error"
    assert outcome.error_kind == "runtime"
    assert outcome.error["name"] == "RangeError"
    assert "Maximum call stack size exceeded" in outcome.reason
    assert_healthy()


@pytest.mark.parametrize(
    "thrown,shown",
    [
        ("'just a string'", '"just a string"'),
        ("{ code: 42 }", "{ code: 42 }"),
        ("null", "null"),
        ("undefined", "undefined"),
    ],
)
def test_thrown_non_errors_are_reported_clearly(thrown, shown):
    outcome = run(handler(f"throw {thrown};"))
    assert outcome.status == "error"
    assert outcome.error_kind == "runtime"
    assert outcome.error["message"] == f"The handler threw a value that is not an Error: {shown}"
    assert_healthy()


def test_an_error_whose_properties_throw_or_loop_is_still_reported():
    outcome = run(
        handler("""
      const e = new Error('outer');
      Object.defineProperty(e, 'message', { get() { throw new Error('nope'); } });
      throw e;
    """)
    )
    assert outcome.status == "error" and outcome.error_kind == "runtime"
    assert_healthy()


@pytest.mark.parametrize(
    "code,needle",
    [
        ("process.exit(1);", "PROCESS"),
        ("require('child_process').execSync('id');", "Cannot find module 'child_process'"),
        ("require('fs').readFileSync('/etc/passwd');", "Cannot find module 'fs'"),
        ("require('node:net');", "Cannot find module 'node:net'"),
        (
            "globalThis.constructor.constructor('return process')().exit();",
            "PROCESS",
        ),
    ],
)
def test_process_and_system_modules_are_out_of_reach(code, needle):
    if needle == "PROCESS":  # Node's process, without exit (or the host's environment)
        needle = "process.exit() is not available"
    outcome = run(handler(code))
    assert outcome.status == "error"
    assert needle in outcome.reason
    assert_healthy()


def test_fetch_to_a_refused_loopback_address_is_blocked_before_connecting(blocked_server):
    outcome = run(handler(f"await fetch('{blocked_server.url('/x')}');"))
    assert outcome.status == "error"
    assert "Refusing to connect to 127.0.0.2: it is a loopback address" in outcome.reason
    assert outcome.fetches[0]["error"].startswith("Refusing to connect")
    assert blocked_server.received == []
    assert_healthy()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://0.0.0.0:9/",
        "http://[::ffff:127.0.0.2]:9/",
    ],
)
def test_fetch_to_metadata_and_special_addresses_is_refused(url):
    # Literal addresses are refused by the guard before any connection attempt.
    outcome = run(handler(f"await fetch('{url}');"))
    assert outcome.status == "error"
    assert "Refusing to connect" in outcome.reason


def test_a_redirect_to_a_refused_address_is_blocked(server, blocked_server):
    server.route("/hop", status=302, headers={"Location": blocked_server.url("/secret")})
    outcome = run(handler(f"await fetch('{server.url('/hop')}');"))
    assert outcome.status == "error"
    assert "Refusing to connect to 127.0.0.2" in outcome.reason
    assert len(server.received) == 1
    assert blocked_server.received == []
    assert_healthy()


def test_fetch_storms_are_capped(server):
    outcome = run(
        handler(f"""
      const results = await Promise.allSettled(
        Array.from({{ length: 80 }}, () => fetch('{server.url("/storm")}')));
      console.log(results.filter((r) => r.status === 'rejected').length);
    """),
        limits=Limits(max_fetches=10),
    )
    assert outcome.status == "error"
    assert outcome.error_kind == "fetch_limit"
    assert "at most 10" in outcome.reason
    assert len(server.received) <= 10
    assert_healthy()


def test_a_swallowed_fetch_limit_still_fails_the_execution(server):
    outcome = run(
        handler(f"""
      for (let i = 0; i < 5; i++) {{
        try {{ await fetch('{server.url("/one")}'); }} catch (e) {{ console.log(e.message); }}
      }}
    """),
        limits=Limits(max_fetches=3),
    )
    assert outcome.status == "error" and outcome.error_kind == "fetch_limit"
    assert len(server.received) == 3
    assert "fetch limit reached" in outcome.logs[-1]["message"]


HUGE_RESPONSES = {
    "declared length": (False, {}),
    "chunked": (True, {}),
    # Transfer-Encoding overrides Content-Length: the small declared length must not be trusted
    "chunked under a small declared length": (True, {"Content-Length": "10"}),
}


@pytest.mark.parametrize("case", list(HUGE_RESPONSES))
def test_huge_responses_are_refused(server, case):
    chunked, headers = HUGE_RESPONSES[case]
    server.route(
        "/huge",
        stream_bytes=5 * 1024 * 1024,
        chunked=chunked,
        headers={"Content-Type": "text/plain", **headers},
    )
    outcome = run(
        handler(f"const r = await fetch('{server.url('/huge')}'); await r.text();"),
        limits=Limits(max_response_bytes=1024 * 1024),
    )
    assert outcome.status == "error"
    assert "The response is larger than 1048576 bytes" in outcome.reason
    assert_healthy()


def test_slow_responses_time_out_per_request(server):
    server.route("/slow", delay_s=3)
    outcome = run(
        handler(f"await fetch('{server.url('/slow')}');"),
        limits=Limits(timeout_s=10, fetch_timeout_s=0.5),
    )
    assert outcome.status == "error"
    assert outcome.error_kind == "runtime"
    assert "did not complete within 0.5 s" in outcome.reason
    assert_healthy()


def test_console_floods_keep_what_fits_and_say_it_was_cut():
    outcome = run(
        handler("for (let i = 0; i < 1e6; i++) console.log('line', i, 'x'.repeat(100));"),
        limits=Limits(max_log_bytes=4096),
    )
    assert outcome.status == "delivered"
    assert outcome.logs_truncated is True
    assert outcome.logs[0]["message"].startswith("line 0 ")
    assert sum(len(e["message"]) + 32 for e in outcome.logs) <= 4096
    assert_healthy()


def test_contexts_do_not_leak_state_between_actions_or_versions():
    writer = handler("globalThis.leak = 'from A'; Object.prototype.polluted = 1;")
    reader = handler("console.log(typeof globalThis.leak, typeof ({}).polluted);")
    assert run(writer, key="actA:v1").status == "delivered"
    assert run(reader, key="actB:v1").logs[0]["message"] == "undefined undefined"
    assert run(reader, key="actA:v2").logs[0]["message"] == "undefined undefined"


def test_a_context_is_thrown_away_after_an_error():
    source = """
      let runs = 0;
      exports.onExecuteCustomPhoneProvider = async (event) => {
        runs += 1;
        console.log(runs);
        if (event.notification.code === 'boom') throw new Error('boom');
      };
    """
    from tests.runtime.conftest import sample_event

    assert run(source, key="err:1").logs[0]["message"] == "1"
    assert run(source, key="err:1").logs[0]["message"] == "2"
    failed = run(source, sample_event(code="boom"), key="err:1")
    assert failed.status == "error" and failed.logs[0]["message"] == "3"
    assert run(source, key="err:1").logs[0]["message"] == "1"


def test_the_sandbox_process_being_killed_is_reported_and_survived():
    import os
    import signal

    from phoneprovider.runtime import _sandbox

    outcome = run(handler("console.log('ok');"), key="kill:1")
    assert outcome.status == "delivered"
    pool = _sandbox.get_pool()
    victims = [s for s in pool._idle if "kill:1" in s.warm_keys]
    os.kill(victims[0].proc.pid, signal.SIGKILL)
    victims[0].proc.wait()
    after = run(handler("console.log('ok again');"), key="kill:1")
    assert after.status == "delivered"
    assert_healthy()


def test_a_forked_process_starts_its_own_sandboxes():
    # Celery's prefork pool forks after the parent may have used the runtime.
    import json
    import os

    assert run(handler("return;")).status == "delivered"
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            outcome = run(handler("console.log('from the fork');"))
            os.write(write_fd, json.dumps([outcome.status, outcome.logs[0]["message"]]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data = os.read(read_fd, 4096)
    os.waitpid(pid, 0)
    assert json.loads(data) == ["delivered", "from the fork"]
    assert_healthy()


LIMIT_HITS = {
    "timeout": ("for (;;) {}", Limits(timeout_s=2.0)),
    "memory": (
        "const keep = []; for (;;) keep.push({ a: new Array(1000).fill(keep.length) });",
        Limits(timeout_s=10, memory_mb=64),
    ),
    "fetch_limit": (
        "for (let i = 0; i < 3; i++) { try { await fetch(event.secrets.URL); } catch (e) {} }",
        Limits(max_fetches=1),
    ),
}


@pytest.mark.parametrize("kind", list(LIMIT_HITS))
def test_a_context_is_thrown_away_after_a_timeout_or_a_limit_hit(kind, server):
    from tests.runtime.conftest import sample_event

    bad, limits = LIMIT_HITS[kind]
    source = f"""
      let runs = 0;
      exports.onExecuteCustomPhoneProvider = async (event) => {{
        runs += 1;
        console.log(runs);
        if (event.notification.code === 'bad') {{ {bad} }}
      }};
    """
    key = f"limit:{kind}"
    secrets = {"URL": server.url("/one")}
    assert run(source, key=key, secrets=secrets).logs[0]["message"] == "1"
    assert run(source, key=key, secrets=secrets).logs[0]["message"] == "2"
    failed = run(source, sample_event(code="bad"), key=key, secrets=secrets, limits=limits)
    assert failed.status == "error" and failed.error_kind == kind, failed
    # The next execution of the same version starts from a fresh module, not from run 3.
    again = run(source, key=key, secrets=secrets)
    assert again.status == "delivered"
    assert again.logs[0]["message"] == "1"
    assert again.stats["warm"] is False


def test_a_context_never_serves_another_version_of_the_same_key():
    # The pool keys contexts by Action and version; the sandbox also checks the code itself, so
    # even a reused key never runs new code on top of old module state.
    first = "globalThis.counter = (globalThis.counter || 0) + 1;\n" + handler(
        "console.log('v1', globalThis.counter);"
    )
    second = "globalThis.counter = (globalThis.counter || 0) + 1;\n" + handler(
        "console.log('v2', globalThis.counter);"
    )
    assert run(first, key="ver:1").logs[0]["message"] == "v1 1"
    assert run(second, key="ver:1").logs[0]["message"] == "v2 1"


def test_the_fetch_cap_counts_requests_that_were_refused_too(blocked_server):
    # A storm aimed at refused addresses must not cost more than the cap either.
    outcome = run(
        handler(f"""
      for (let i = 0; i < 20; i++) {{
        try {{ await fetch('{blocked_server.url("/x")}'); }} catch (e) {{}}
      }}
    """),
        limits=Limits(max_fetches=5),
    )
    assert outcome.error_kind == "fetch_limit"
    assert len(outcome.fetches) <= 6
    assert blocked_server.received == []
