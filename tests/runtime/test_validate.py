"""validate_source parses (never runs) code and checks the export the trigger needs."""

from __future__ import annotations

import pytest

from phoneprovider.runtime import CodeValidationError, validate_source

ACCEPTED = [
    "exports.onExecuteCustomPhoneProvider = async (event, api) => {};",
    "exports.onExecuteCustomPhoneProvider = async function (event, api) {};",
    "module.exports.onExecuteCustomPhoneProvider = async (e, a) => {};",
    (
        "async function onExecuteCustomPhoneProvider() {}\n"
        "module.exports = { onExecuteCustomPhoneProvider };"
    ),
    "async function handler() {}\nexports.onExecuteCustomPhoneProvider = handler;",
    "const h = async () => {};\nexports['onExecuteCustomPhoneProvider'] = h;",
    "module.exports = { async onExecuteCustomPhoneProvider(event, api) {} };",
    "const wrap = (f) => f;\nexports.onExecuteCustomPhoneProvider = wrap(async () => {});",
    "Object.assign(exports, { onExecuteCustomPhoneProvider: async () => {} });",
    (
        "#!/usr/bin/env node\nconst x = a?.b ?? 1;\n"
        "exports.onExecuteCustomPhoneProvider = async () => { for await (const y of []) {} };"
    ),
]


@pytest.mark.parametrize("source", ACCEPTED)
def test_common_export_forms_are_accepted(source):
    validate_source(source)


def test_legacy_trigger_needs_its_own_export():
    validate_source(
        "exports.onExecuteSendPhoneMessage = async (event, api) => {};", "send-phone-message"
    )
    with pytest.raises(CodeValidationError) as err:
        validate_source(
            "exports.onExecuteCustomPhoneProvider = async () => {};", "send-phone-message"
        )
    assert "exports.onExecuteSendPhoneMessage = async (event, api)" in err.value.message


def test_syntax_errors_have_line_and_column():
    with pytest.raises(CodeValidationError) as err:
        validate_source("exports.onExecuteCustomPhoneProvider = async () => {\n  let x = ;\n};")
    assert err.value.message == "SyntaxError: Expression expected"  # Deno's parser says it
    assert (err.value.line, err.value.column) == (2, 11)


def test_missing_export_names_the_signature():
    with pytest.raises(CodeValidationError) as err:
        validate_source("exports.other = async () => {};")
    assert err.value.message == (
        "The code must export onExecuteCustomPhoneProvider: "
        "exports.onExecuteCustomPhoneProvider = async (event, api) => "
        "{ ... }"
    )
    assert err.value.line is None


@pytest.mark.parametrize(
    "source,line",
    [
        ("exports.onExecuteCustomPhoneProvider = (event, api) => {};", 1),
        ("\nfunction h() {}\nexports.onExecuteCustomPhoneProvider = h;", 2),
        ("exports.onExecuteCustomPhoneProvider = 'nope';", 1),
    ],
)
def test_non_async_exports_are_refused(source, line):
    with pytest.raises(CodeValidationError) as err:
        validate_source(source)
    assert "must be an async function" in err.value.message
    assert err.value.line == line


def test_es_modules_get_a_clear_hint():
    with pytest.raises(CodeValidationError) as err:
        validate_source("export const onExecuteCustomPhoneProvider = async () => {};")
    assert "CommonJS" in err.value.message


def test_size_limit_is_100_kb():
    body = "exports.onExecuteCustomPhoneProvider = async () => {};\n"
    validate_source(body + "//" + "x" * (100 * 1024 - len(body) - 3))
    with pytest.raises(CodeValidationError) as err:
        validate_source(body + "//" + "x" * (100 * 1024))
    assert "at most 100 kB" in err.value.message


def test_validation_never_runs_the_code():
    # If this were evaluated it would loop forever; parsing it is instant.
    validate_source("while (true) {}\nexports.onExecuteCustomPhoneProvider = async () => {};")


def test_validation_still_works_in_a_process_forked_after_it_was_used():
    # V8 is not fork-safe; a forked web worker falls back to a fresh interpreter.
    import json
    import os

    validate_source("exports.onExecuteCustomPhoneProvider = async () => {};")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            try:
                validate_source("exports.onExecuteCustomPhoneProvider = () => {};")
                answer = "accepted"
            except CodeValidationError as exc:
                answer = exc.message
            os.write(write_fd, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data = os.read(read_fd, 4096)
    os.waitpid(pid, 0)
    assert "must be an async function" in json.loads(data)
    validate_source("exports.onExecuteCustomPhoneProvider = async () => {};")


def test_code_the_parser_can_only_recover_from_is_refused():
    # Deno's parser reads on past an unclosed function (a warning); V8 would refuse the code.
    with pytest.raises(CodeValidationError) as err:
        validate_source("exports.onExecuteCustomPhoneProvider = async (event, api) => {\n")
    assert err.value.message == "SyntaxError: Expected '}', got '<eof>'"
    assert err.value.line == 1
