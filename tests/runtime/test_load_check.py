"""load_check loads the module once in a sandbox (on each engine) without calling the handler,
and refuses code that throws, hangs or fails as it loads, with the error and its line."""

from __future__ import annotations

import pytest

from phoneprovider.runtime import CodeValidationError, load_check

GOOD = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};\n"


def test_code_that_loads_is_accepted_and_its_handler_is_not_called(server):
    # Were the handler called, it would reach the loopback server.
    load_check(
        "const started = Date.now();\n"
        "exports.onExecuteCustomPhoneProvider = async () => {\n"
        f"  await fetch({server.url('/called')!r});\n"
        "};\n"
    )
    assert server.received == []


def test_top_level_throw_is_refused_with_the_message_and_its_line():
    source = 'const x = 1;\n\nif (x) throw new Error("boom at load");\n' + GOOD
    with pytest.raises(CodeValidationError) as err:
        load_check(source)
    assert "boom at load" in err.value.message
    assert err.value.line == 3


def test_a_throw_in_a_function_called_at_load_points_at_the_throw():
    source = "function setup() {\n  return config.missing.value;\n}\nsetup();\n" + GOOD
    with pytest.raises(CodeValidationError) as err:
        load_check(source)
    assert "ReferenceError" in err.value.message and "config" in err.value.message
    assert err.value.line == 2


def test_a_thrown_non_error_is_refused():
    with pytest.raises(CodeValidationError) as err:
        load_check("throw 'not configured';\n" + GOOD)
    assert "not configured" in err.value.message


def test_a_missing_export_found_only_at_load_is_refused():
    # Built dynamically, so the static check cannot judge it; loading shows it is missing.
    with pytest.raises(CodeValidationError) as err:
        load_check("const name = 'onExecuteSomethingElse';\nexports[name] = async () => {};\n")
    assert "onExecuteCustomPhoneProvider" in err.value.message


def test_a_legacy_handler_loads_for_its_trigger():
    load_check("exports.onExecuteSendPhoneMessage = async () => {};", "send-phone-message")
