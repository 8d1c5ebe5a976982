"""npm dependencies on the Deno engine: resolved and pinned at deploy, required by handlers.

The packages come from the npm registry (reachable from CI); every request a handler makes goes
to a loopback server on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from phoneprovider.runtime import DependencyError, resolve_dependencies
from tests.runtime.conftest import handler, run, sample_event

EXACT = r"^\d+\.\d+\.\d+$"


@pytest.fixture(scope="module")
def pinned():
    return resolve_dependencies([{"name": "axios", "version": "^1"}, {"name": "twilio"}])


def test_declared_versions_are_pinned_to_exact_ones(pinned):
    import re

    assert [d["name"] for d in pinned] == ["axios", "twilio"]
    assert all(re.match(EXACT, d["version"]) for d in pinned), pinned
    assert pinned[0]["version"].startswith("1.")
    # Pinned versions resolve to themselves (what a fresh worker installs).
    assert resolve_dependencies(pinned) == pinned


def test_a_handler_delivers_with_axios(server, pinned):
    server.route("/sms", json={"id": "m1"})
    source = handler(
        """
const axios = require('axios');
const res = await axios.post(event.notification.custom.url, { to: event.notification.recipient },
  { headers: { Authorization: 'Bearer ' + event.secrets.TOKEN } });
console.log('sent', res.status, res.data.id);
"""
    )
    event = sample_event(custom={"url": server.url("/sms")})
    outcome = run(source, event, secrets={"TOKEN": "tok"}, packages=pinned)
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "sent 200 m1"
    assert server.received[0].json() == {"to": "+15555550123"}
    assert server.received[0].header("authorization") == "Bearer tok"


def test_a_handler_delivers_with_twilio_pointed_at_a_loopback_fake(server, pinned):
    sid = "AC" + "0" * 32
    server.route(f"/2010-04-01/Accounts/{sid}/Messages.json", status=201, json={"sid": "SM9"})
    source = handler(
        """
const twilio = require('twilio');
const base = event.notification.custom.base;
const requests = new twilio.RequestClient();
// The SDK's own option: an httpClient (here its RequestClient, aimed at the fake gateway).
const httpClient = {
  request: (o) => requests.request({ ...o, uri: o.uri.replace('https://api.twilio.com', base) }),
};
const client = twilio(event.secrets.SID, event.secrets.TOKEN, { httpClient });
const n = event.notification;
const msg = await client.messages.create({ to: n.recipient, from: n.from, body: n.as_text });
console.log('twilio', msg.sid);
"""
    )
    event = sample_event(custom={"base": server.url("")})
    outcome = run(source, event, secrets={"SID": sid, "TOKEN": "t0k"}, packages=pinned)
    assert outcome.status == "delivered", outcome
    assert outcome.logs[-1]["message"] == "twilio SM9"
    got = server.received[0]
    assert got.method == "POST" and got.path.endswith("/Messages.json")
    assert b"To=%2B15555550123" in got.body
    assert got.header("authorization").startswith("Basic ")


def test_undeclared_packages_cannot_be_required_or_imported(pinned):
    axios_only = [d for d in pinned if d["name"] == "axios"]
    outcome = run(handler("require('twilio');"), packages=axios_only)
    assert outcome.status == "error"
    assert "Cannot find module 'twilio'" in outcome.reason
    assert "declared dependencies: axios" in outcome.reason


@pytest.mark.parametrize(
    "how",
    [
        "await import(SPEC)",
        "await (0, eval)('import(SPEC)')",
        "await new Function('return import(SPEC)')()",
        "await (async () => {}).constructor('return import(SPEC)')()",
        "await Object.getPrototypeOf(function* () {}).constructor('yield import(SPEC)')()"
        ".next().value",
    ],
)
def test_undeclared_packages_cannot_be_imported_either(pinned, how):
    axios_only = [d for d in pinned if d["name"] == "axios"]
    spec = '"npm:twilio@' + pinned[1]["version"] + '"'
    code = how.replace("SPEC", spec) + "; console.log('imported');"
    outcome = run(handler(code), packages=axios_only)
    assert outcome.status == "error", outcome
    assert "import() is not available to handlers" in outcome.reason
    assert not any(log["message"] == "imported" for log in outcome.logs)


def test_a_package_that_does_not_exist_is_named():
    name = "pp-no-such-package-9f3c1e7a"
    with pytest.raises(DependencyError) as info:
        resolve_dependencies([{"name": "axios", "version": "^1"}, {"name": name}])
    assert info.value.name == name
    assert name in info.value.message


@pytest.mark.parametrize("name", ["../etc", "npm:axios", "Axios", ""])
def test_a_bad_package_name_is_refused_before_anything_runs(name):
    with pytest.raises(DependencyError) as info:
        resolve_dependencies([{"name": name}])
    assert "not a valid npm package name" in info.value.message
