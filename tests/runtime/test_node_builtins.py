"""Node built-ins on the Deno engine, and egress containment for node:http(s).

Loopback only: 127.0.0.1 is allowed (``LOOPBACK_POLICY``), 127.0.0.2 must be refused, also when
written as a decimal number.
"""

from __future__ import annotations

import pytest

from tests.runtime.conftest import handler, run


def test_every_listed_builtin_loads_and_works():
    outcome = run(
        handler(
            """
const events = require('events'), stream = require('stream'), util = require('node:util');
const url = require('url'), qs = require('querystring'), { Buffer } = require('buffer');
const crypto = require('crypto'), zlib = require('zlib'), timers = require('timers');
const { StringDecoder } = require('string_decoder');
require('http'); require('https');
const e = new events(); let got = null; e.on('x', (v) => { got = v; }); e.emit('x', 7);
const chunks = [];
await new Promise((res) => stream.Readable.from(['a', 'b'])
  .on('data', (c) => chunks.push(c)).on('end', res));
await util.promisify(timers.setTimeout)(1);
console.log([got, chunks.join(''), new url.URL('https://x.test/p?q=1').searchParams.get('q'),
  qs.stringify({ a: 1, b: 'c d' }), Buffer.from('hi').toString('base64'),
  crypto.createHmac('sha256', 'k').update('m').digest('hex').slice(0, 12),
  zlib.gunzipSync(zlib.gzipSync('zipped')).toString(),
  new StringDecoder('utf8').write(Buffer.from('sd'))].join('|'));
"""
        )
    )
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "7|ab|1|a=1&b=c%20d|aGk=|b60090e30522|zipped|sd"


def test_process_has_no_host_environment_and_cannot_exit():
    outcome = run(
        handler(
            """
console.log(JSON.stringify(process.env), typeof process.nextTick, process === require('process'));
try { process.exit(1); } catch (e) { console.log(e.message); }
console.log(Object.keys(Deno).join(','), typeof Deno.readTextFile, typeof Deno.env);
"""
        )
    )
    assert outcome.status == "delivered", outcome
    assert [log["message"] for log in outcome.logs] == [
        "{} function true",
        "process.exit() is not available to handlers",
        "build undefined undefined",
    ]


NODE_POST = """
const mod = require(event.notification.custom.mod);
const result = await new Promise((resolve) => {
  const options = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const req = mod.request(event.notification.custom.url, options, (res) => {
    let d = '';
    res.on('data', (c) => { d += c; });
    res.on('end', () => resolve('status ' + res.statusCode + ' ' + d));
  });
  req.on('error', (e) => resolve('error ' + e.message));
  req.end(JSON.stringify({ to: event.notification.recipient }));
});
console.log(result);
"""


def _event(mod: str, url: str) -> dict:
    from tests.runtime.conftest import sample_event

    return sample_event(custom={"mod": mod, "url": url})


def test_node_http_reaches_an_allowed_loopback_server(server):
    server.route("/send", json={"sid": "SM1"})
    outcome = run(handler(NODE_POST), _event("http", server.url("/send")))
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == 'status 200 {"sid": "SM1"}'
    assert server.received[0].json() == {"to": "+15555550123"}


@pytest.mark.parametrize("mod", ["http", "https"])
@pytest.mark.parametrize("form", ["dotted", "decimal"])
def test_node_http_and_https_cannot_reach_a_refused_address(blocked_server, mod, form):
    host = "127.0.0.2" if form == "dotted" else "2130706434"
    url = f"{mod}://{host}:{blocked_server.port}/send"
    outcome = run(handler(NODE_POST), _event(mod, url))
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"].startswith("error "), outcome.logs
    assert "127.0.0.2" in outcome.logs[0]["message"]
    assert blocked_server.received == []


@pytest.mark.parametrize("name", ["net", "dgram", "fs", "child_process", "worker_threads"])
def test_other_node_modules_are_not_available(name):
    outcome = run(handler(f"require('node:{name}');"))
    assert outcome.status == "error"
    assert f"Cannot find module 'node:{name}'" in outcome.reason
