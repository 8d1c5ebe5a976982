"""Errors read like a developer expects, and secrets never show."""

from __future__ import annotations

import base64
import json
import urllib.parse

from tests.runtime.conftest import handler, run


def test_syntax_errors_give_line_and_column():
    outcome = run(
        "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n  const x = {;\n};\n"
    )
    assert outcome.status == "error"
    assert outcome.error_kind == "syntax"
    assert outcome.error["name"] == "SyntaxError"
    assert "(line 2, column 14)" in outcome.reason
    assert "handler.js:2:14" in outcome.error["stack"]


def test_runtime_errors_point_into_the_handler_without_engine_internals():
    source = (
        "function helper(x) {\n"
        "  return x.missing.field;\n"
        "}\n"
        "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n"
        "  await null;\n"
        "  helper({});\n"
        "};\n"
    )
    outcome = run(source)
    assert outcome.status == "error" and outcome.error_kind == "runtime"
    assert outcome.error["name"] == "TypeError"
    assert outcome.reason == "TypeError: Cannot read properties of undefined (reading 'field')"
    stack = outcome.error["stack"].splitlines()
    assert stack[0] == "TypeError: Cannot read properties of undefined (reading 'field')"
    assert stack[1] == "    at helper (handler.js:2:20)"
    assert stack[2].endswith("(handler.js:6:3)")
    assert "pp-runtime" not in outcome.error["stack"]
    assert "<anonymous>" not in outcome.error["stack"]


def test_errors_inside_fetch_callbacks_and_timers_are_caught():
    outcome = run(
        handler(
            "setTimeout(() => { throw new Error('late'); }, 1); "
            "await new Promise((r) => setTimeout(r, 50));"
        )
    )
    assert outcome.status == "error"
    assert outcome.reason == "Error: late"


def test_a_missing_or_sync_export_fails_loading_with_the_expected_signature():
    missing = run("exports.somethingElse = async () => {};")
    assert missing.status == "error" and missing.error_kind == "load"
    assert "exports.onExecuteCustomPhoneProvider = async (event, api) =>" in missing.reason
    sync = run("exports.onExecuteCustomPhoneProvider = function () {};")
    assert sync.error_kind == "load"
    assert "must be an async function" in sync.reason
    throwing = run("throw new Error('at load');\n" + handler(""))
    assert throwing.error_kind == "load" and "at load" in throwing.reason


def test_secret_values_are_redacted_everywhere(server):
    secrets = {"API_KEY": "sk_live_verysecret", "PASSWORD": "hunter2!x"}
    server.route("/echo", status=500)
    outcome = run(
        handler("""
      console.log('key is', event.secrets.API_KEY, encodeURIComponent(event.secrets.PASSWORD));
      const r = await fetch(event.secrets.URL + '?key=' + event.secrets.API_KEY);
      api.notification.retry('failed with ' + event.secrets.PASSWORD);
      throw new Error('bad key ' + event.secrets.API_KEY);
    """),
        secrets={**secrets, "URL": server.url("/echo")},
    )
    text = repr(outcome.to_dict())
    assert "sk_live_verysecret" not in text
    assert "hunter2" not in text
    assert outcome.logs[0]["message"] == "key is [redacted] [redacted]"
    # A URL names the secrets it was built from; their values never show.
    assert outcome.fetches[0]["url"] == "${URL}?key=${API_KEY}"
    assert outcome.error["message"] == "bad key [redacted]"
    # the server did receive the real key: redaction is about what we store
    assert server.received[0].path == "/echo?key=sk_live_verysecret"


def test_outcome_is_json_ready():
    import json

    outcome = run(handler("console.log('x');"))
    data = json.loads(json.dumps(outcome.to_dict()))
    assert set(data) == {
        "status",
        "reason",
        "error",
        "error_kind",
        "logs",
        "logs_truncated",
        "fetches",
        "stats",
    }
    assert {"total_ms", "boot_ms", "execution_ms", "fetch_ms", "warm"} <= set(data["stats"])


def test_warm_up_starts_sandboxes_ahead_of_the_first_execution():
    from phoneprovider import runtime

    runtime.warm_up(1)
    outcome = run(handler("return;"))
    assert outcome.status == "delivered"
    assert "spawn_ms" not in outcome.stats


def test_encoded_forms_of_a_secret_are_redacted_too(server):
    """A secret with a quote, a backslash and a newline, logged through JSON.stringify (once and
    twice), URL-encoded, and base64-encoded alone and inside a Basic credential."""
    secret = 'pa"ss\\wo\nrd-Zq9'
    server.route("/echo", status=200)
    outcome = run(
        handler("""
      const s = event.secrets.TOKEN;
      console.log(JSON.stringify({token: s}));
      console.log(JSON.stringify(JSON.stringify({token: s})));
      console.log('q=' + encodeURIComponent(s));
      console.log('b64 ' + btoa(s));
      console.log('basic ' + btoa('user:' + s));
      console.log('basic2 ' + btoa('us:' + s + ':x'));
      await fetch(event.secrets.URL + '?t=' + encodeURIComponent(s), {
        method: 'POST', body: JSON.stringify({t: s}),
      });
    """),
        secrets={"TOKEN": secret, "URL": server.url("/echo")},
    )
    assert outcome.status == "delivered", outcome.reason
    text = json.dumps(outcome.to_dict())
    leaks = {
        "plain": secret,
        "json": json.dumps(secret)[1:-1],
        "json twice": json.dumps(json.dumps(secret)[1:-1])[1:-1],
        "url": urllib.parse.quote(secret, safe=""),
        "base64": base64.b64encode(secret.encode()).decode(),
        "base64 inside": base64.b64encode(b"user:" + secret.encode()).decode()[8:24],
        "base64 inside 2": base64.b64encode(b"us:" + secret.encode()).decode()[4:24],
    }
    found = {name: form for name, form in leaks.items() if form in text}
    assert found == {}, found
    messages = [entry["message"] for entry in outcome.logs]
    assert messages[0] == '{"token":"[redacted]"}'
    assert messages[2] == "q=[redacted]"
    assert messages[3] == "b64 [redacted]"
