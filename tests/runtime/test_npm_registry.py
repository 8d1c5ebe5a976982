"""npm packages from a registry on loopback (tests/npm_registry.py): installed, pinned, required,
and contained: install scripts never run, a package's own reach is the handler's."""

from __future__ import annotations

import pytest

from phoneprovider.runtime import DependencyError, resolve_dependencies
from tests.runtime.conftest import assert_healthy, handler, run


def test_a_package_from_the_registry_is_pinned_and_required(npm_registry):
    npm_registry.publish("pp-greet", "1.0.0", {"index.js": "exports.greet = (n) => 'hello ' + n;"})
    npm_registry.publish(
        "pp-greet", "1.2.0", {"index.js": "exports.greet = (n) => 'hi ' + n;"}, latest=True
    )
    pinned = resolve_dependencies([{"name": "pp-greet", "version": "^1.0.0"}])
    assert pinned == [{"name": "pp-greet", "version": "1.2.0"}]
    source = handler("console.log(require('pp-greet').greet('ann'));")
    outcome = run(source, packages=pinned)
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "hi ann"


def test_a_package_missing_from_the_registry_is_named(npm_registry):
    with pytest.raises(DependencyError) as err:
        resolve_dependencies([{"name": "pp-not-published", "version": "1.0.0"}])
    assert err.value.name == "pp-not-published"
    assert "pp-not-published" in err.value.message


def test_install_scripts_never_run(npm_registry, tmp_path):
    marker = tmp_path / "install-script-ran"
    write = f"node -e \"require('fs').writeFileSync('{marker}', 'ran')\""
    npm_registry.publish(
        "pp-scripted",
        "1.0.0",
        {"index.js": "exports.ok = true;"},
        scripts={"preinstall": write, "install": write, "postinstall": f"touch {marker}"},
    )
    pinned = resolve_dependencies([{"name": "pp-scripted", "version": "1.0.0"}])
    outcome = run(handler("console.log(require('pp-scripted').ok);"), packages=pinned)
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "true"
    assert not marker.exists()


@pytest.mark.parametrize(
    "index_js",
    [
        "module.exports = require('fs').readFileSync('/etc/hostname', 'utf8');",
        "module.exports = Deno.readTextFileSync('/etc/hostname');",
        "module.exports = Deno.env.toObject();",
        "require('child_process').execSync('true'); module.exports = 1;",
    ],
    ids=["node-fs", "deno-read", "deno-env", "subprocess"],
)
def test_a_package_reaching_for_the_host_at_import_fails_contained(npm_registry, index_js):
    npm_registry.publish("pp-nosy", "1.0.0", {"index.js": index_js})
    pinned = resolve_dependencies([{"name": "pp-nosy", "version": "1.0.0"}])
    outcome = run(handler("require('pp-nosy');"), packages=pinned)
    assert outcome.status == "error", outcome
    assert outcome.error_kind == "load", outcome
    assert "pp-nosy@1.0.0 could not be loaded" in outcome.reason
    assert "access" in outcome.reason  # refused by the process's permissions
    assert_healthy()


def test_a_package_sees_no_host_environment(npm_registry, monkeypatch):
    monkeypatch.setenv("PP_HOST_SECRET", "s3cr3t-value")
    npm_registry.publish(
        "pp-env", "1.0.0", {"index.js": "module.exports = JSON.stringify(process.env);"}
    )
    pinned = resolve_dependencies([{"name": "pp-env", "version": "1.0.0"}])
    outcome = run(handler("console.log(require('pp-env'));"), packages=pinned)
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "{}"
