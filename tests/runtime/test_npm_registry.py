"""npm packages from a registry on loopback (tests/npm_registry.py): installed, pinned, required,
and contained: install scripts never run, a package's own reach is the handler's."""

from __future__ import annotations

import os

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


# A package is loaded before the handler's lock-down, so it can keep Deno's namespace and Node's
# socket modules: the process's permissions are what refuses them.
SOCKETS = r"""
const net = require('net');
const dgram = require('dgram');
const D = globalThis.Deno;  // kept from import time, when it is still whole
exports.cases = {
  tcp: (port) => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.2', () => resolve('connected'));
    s.on('error', reject);
  }),
  tcpListen: () => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '0.0.0.0', () => resolve('listening'));
  }),
  udp: (port) => new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.send('leak', port, '127.0.0.2', (e) => (e ? reject(e) : resolve('sent')));
  }),
  denoConnect: (port) => D.connect({ hostname: '127.0.0.2', port }),
  denoListen: () => D.listen({ port: 0 }),
  denoCommand: () => new D.Command('true').output(),
  denoEnv: () => D.env.get('PATH'),
  denoRead: () => D.readTextFile('/etc/hostname'),
  denoWrite: () => D.writeTextFile('/tmp/pp-package-wrote-this', 'x'),
  denoFfi: () => D.dlopen('libc.so.6', {}),
  denoSys: () => D.hostname(),
};
"""


@pytest.fixture
def sockets_package(npm_registry):
    npm_registry.publish("pp-sockets", "1.0.0", {"index.js": SOCKETS})
    return resolve_dependencies([{"name": "pp-sockets", "version": "1.0.0"}])


@pytest.mark.parametrize(
    "case,refusal",
    [
        ("tcp", 'Requires net access to "127.0.0.2:'),
        ("tcpListen", 'Requires net access to "0.0.0.0:0"'),
        ("denoConnect", 'Requires net access to "127.0.0.2:'),
        ("denoListen", 'Requires net access to "0.0.0.0:0"'),
        ("denoCommand", 'Requires run access to "true"'),
        ("denoEnv", 'Requires env access to "PATH"'),
        ("denoRead", 'Requires read access to "/etc/hostname"'),
        ("denoWrite", "Requires write access"),
        ("denoFfi", "Requires ffi access"),
        ("denoSys", 'Requires sys access to "hostname"'),
    ],
)
def test_a_package_keeping_sockets_or_deno_apis_is_refused(
    sockets_package, blocked_server, case, refusal
):
    source = handler(
        f"console.log(await require('pp-sockets').cases.{case}({blocked_server.port}));"
    )
    outcome = run(source, packages=sockets_package)
    assert outcome.status == "error", outcome
    assert refusal in outcome.reason, outcome.reason
    assert outcome.logs == []
    assert blocked_server.received == []
    assert not os.path.exists("/tmp/pp-package-wrote-this")
    assert_healthy()


def test_a_package_sending_udp_to_a_refused_address_sends_nothing(sockets_package):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.2", 0))
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        outcome = run(
            handler(f"console.log(await require('pp-sockets').cases.udp({port}));"),
            packages=sockets_package,
        )
        with pytest.raises(TimeoutError):
            listener.recvfrom(64)
    assert outcome.status == "error", outcome
    assert outcome.logs == []
    assert_healthy()
