"""Handlers written the way Auth0's docs write them run unchanged against loopback gateways."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse

from phoneprovider.runtime import FetchResponse
from tests.runtime.conftest import handler, run, sample_event

JSON_FORWARDER = """
/**
 * Forward every notification to our messaging gateway.
 * @param {Event} event
 * @param {CustomPhoneProviderAPI} api
 */
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const payload = {
    to: event.notification.recipient,
    body: event.notification.as_text,
    channel: event.notification.delivery_method,
    kind: event.notification.message_type,
    correlation: event.transaction && event.transaction.correlation_id,
  };
  const response = await fetch(event.secrets.GATEWAY_URL, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${event.secrets.GATEWAY_TOKEN}`,
      'Idempotency-Key': payload.correlation,
    },
    body: JSON.stringify(payload),
  });
  if (!response.ok) {
    throw new Error(`Gateway answered ${response.status}`);
  }
  const data = await response.json();
  console.log('queued as', data.id);
};
"""


def test_json_forwarder_posts_the_notification_with_a_bearer_token(server):
    server.route("/messages", status=202, json={"id": "gw_42"})
    outcome = run(
        JSON_FORWARDER,
        secrets={"GATEWAY_URL": server.url("/messages"), "GATEWAY_TOKEN": "tok_live_abcdef"},
    )
    assert outcome.status == "delivered", outcome
    [req] = server.received
    assert req.method == "POST"
    assert req.header("Authorization") == "Bearer tok_live_abcdef"
    assert req.header("Content-Type") == "application/json"
    assert req.header("Idempotency-Key") == "msg_abc"
    assert req.json() == {
        "to": "+15555550123",
        "body": "Your code is 123456",
        "channel": "text",
        "kind": "otp_verify",
        "correlation": "msg_abc",
    }
    assert outcome.logs[0]["message"] == "queued as gw_42"
    assert outcome.fetches[0]["status"] == 202


PASSWORDLESS_SENDER = """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const { recipient, code, as_text, as_voice, delivery_method } = event.notification;
  let res;
  try {
    res = await fetch(event.secrets.SMS_API + '/v1/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': event.secrets.SMS_KEY },
      body: JSON.stringify({ phone: recipient, otp: code,
                             text: delivery_method === 'voice' ? as_voice : as_text }),
    });
  } catch (err) {
    api.notification.retry(`network error: ${err.message}`);
    return;
  }
  if (res.status >= 500) {
    api.notification.retry(`provider unavailable (${res.status})`);
    return;
  }
  if (res.status >= 400) {
    const detail = await res.text();
    api.notification.drop(`rejected: ${detail}`);
  }
};
"""


def test_passwordless_sender_asks_for_a_retry_on_5xx(server):
    server.route("/v1/send", status=503, body=b"busy")
    outcome = run(PASSWORDLESS_SENDER, secrets={"SMS_API": server.url(""), "SMS_KEY": "k-1"})
    assert outcome.status == "retry"
    assert outcome.reason == "provider unavailable (503)"
    assert server.received[0].json() == {
        "phone": "+15555550123",
        "otp": "123456",
        "text": "Your code is 123456",
    }


def test_passwordless_sender_drops_on_4xx_and_delivers_on_2xx(server):
    server.route("/v1/send", status=400, body=b"bad number")
    outcome = run(
        PASSWORDLESS_SENDER,
        sample_event(delivery_method="voice"),
        secrets={"SMS_API": server.url(""), "SMS_KEY": "k-1"},
    )
    assert (outcome.status, outcome.reason) == ("drop", "rejected: bad number")
    assert server.received[0].json()["text"] == "Your code is 1 2 3 4 5 6"
    server.route("/v1/send", status=200)
    assert (
        run(PASSWORDLESS_SENDER, secrets={"SMS_API": server.url(""), "SMS_KEY": "k-1"}).status
        == "delivered"
    )


def twilio_verify(auth_expr: str) -> str:
    return """
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const { TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_VERIFY_SID, TWILIO_BASE } = event.secrets;
  const channel = event.notification.delivery_method === 'voice' ? 'call' : 'sms';
  const to = event.notification.recipient.replace(/\\s+/g, '');
  const form = new URLSearchParams();
  form.append('To', to);
  form.append('Channel', channel);
  form.append('CustomCode', event.notification.code);
  const auth = AUTH_EXPR;
  const res = await fetch(`${TWILIO_BASE}/v2/Services/${TWILIO_VERIFY_SID}/Verifications`, {
    method: 'POST',
    headers: { Authorization: `Basic ${auth}` },
    body: form,
  });
  const data = await res.json();
  if (res.status === 429 || res.status >= 500) return api.notification.retry(data.message);
  if (!res.ok) return api.notification.drop(`Twilio ${data.code}: ${data.message}`);
  console.log('verification', data.sid, data.status);
};
""".replace("AUTH_EXPR", auth_expr)


def _twilio_secrets(server):
    return {
        "TWILIO_ACCOUNT_SID": "AC123",
        "TWILIO_AUTH_TOKEN": "s3cr3t-token",
        "TWILIO_VERIFY_SID": "VA999",
        "TWILIO_BASE": server.url(""),
    }


def _assert_verify_request(server):
    [req] = server.received
    assert req.path == "/v2/Services/VA999/Verifications"
    expected = base64.b64encode(b"AC123:s3cr3t-token").decode()
    assert req.header("Authorization") == f"Basic {expected}"
    assert req.header("Content-Type").startswith("application/x-www-form-urlencoded")
    assert urllib.parse.parse_qs(req.body.decode()) == {
        "To": ["+15555550123"],
        "Channel": ["call"],
        "CustomCode": ["123456"],
    }


def test_twilio_verify_with_basic_auth_built_by_buffer(server):
    server.route(
        "/v2/Services/VA999/Verifications", status=201, json={"sid": "VE1", "status": "pending"}
    )
    source = twilio_verify(
        "Buffer.from(`${TWILIO_ACCOUNT_SID}:${TWILIO_AUTH_TOKEN}`).toString('base64')"
    )
    outcome = run(
        source,
        sample_event(delivery_method="voice", recipient="+1 555 555 0123"),
        secrets=_twilio_secrets(server),
    )
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "verification VE1 pending"
    _assert_verify_request(server)


def test_twilio_verify_with_basic_auth_built_by_btoa(server):
    server.route(
        "/v2/Services/VA999/Verifications",
        status=400,
        json={"code": 60200, "message": "Invalid parameter"},
    )
    source = twilio_verify("btoa(TWILIO_ACCOUNT_SID + ':' + TWILIO_AUTH_TOKEN)")
    outcome = run(source, sample_event(delivery_method="voice"), secrets=_twilio_secrets(server))
    assert (outcome.status, outcome.reason) == ("drop", "Twilio 60200: Invalid parameter")
    _assert_verify_request(server)


def test_the_last_notification_call_wins_and_reasons_are_cut_at_1024_chars():
    outcome = run(handler("api.notification.drop('a'); api.notification.retry('b'.repeat(5000));"))
    assert outcome.status == "retry"
    assert outcome.reason == "b" * 1024
    outcome = run(handler("api.notification.retry('a'); api.notification.drop('no');"))
    assert (outcome.status, outcome.reason) == ("drop", "no")


def test_resolving_without_a_notification_call_means_delivered():
    outcome = run(handler("return 42;"))
    assert outcome.status == "delivered"
    assert outcome.error is None and outcome.error_kind is None


def test_the_full_event_reaches_the_handler():
    event = sample_event()
    event["organization"] = {"id": "org_1", "name": "acme"}
    outcome = run(
        handler("console.log(JSON.stringify(event));"), event, secrets={"API_KEY": "abc12345"}
    )
    seen = json.loads(outcome.logs[0]["message"])
    assert seen["notification"] == event["notification"]
    assert seen["organization"] == {"id": "org_1", "name": "acme"}
    assert seen["transaction"] == {"correlation_id": "msg_abc"}
    assert seen["request"]["geoip"] == {"countryCode": "US"}
    assert seen["secrets"] == {"API_KEY": "[redacted]"}
    assert seen["configuration"] == {}


def test_web_globals_behave_like_node():
    outcome = run(
        handler(r"""
      const u = new URL('/v1/x?a=1&b=two words', 'https://Api.Example.com:443/base/');
      u.searchParams.append('c', 'ä&=');
      console.log(u.href, u.host, u.pathname, u.origin);
      console.log(new URLSearchParams('a=1&a=2&b=%20x+y').getAll('a').join(','),
                  new URLSearchParams({ q: 'x y' }).toString());
      console.log(Array.from(new TextEncoder().encode('é€')).join(','),
                  new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac])));
      console.log(atob(btoa('hi:there')), typeof structuredClone({ a: [1] }).a);
      const c = structuredClone(new Map([[1, { d: new Date(0) }]]));
      console.log(c.get(1).d.toISOString());
      const h = new Headers({ 'X-A': '1' }); h.append('x-a', '2');
      console.log(h.get('x-a'), h.has('X-A'), [...h.keys()].join());
      const ac = new AbortController(); ac.abort();
      console.log(ac.signal.aborted, ac.signal.reason.name);
      await new Promise((r) => setTimeout(r, 5));
      const id = setTimeout(() => { throw new Error('cleared timers must not fire'); }, 1);
      clearTimeout(id);
      await new Promise((r) => setTimeout(r, 10));
      console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
      const buf = new Uint8Array(8); crypto.getRandomValues(buf);
      console.log(buf.some((b) => b !== 0));
      console.log(typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof process);
    """)
    )
    assert outcome.status == "delivered", outcome
    lines = [entry["message"] for entry in outcome.logs]
    assert lines[0] == (
        "https://api.example.com/v1/x?a=1&b=two+words&c=%C3%A4%26%3D "
        "api.example.com /v1/x https://api.example.com"
    )
    assert lines[1] == "1,2 q=x+y"
    assert lines[2] == "195,169,226,130,172 €"
    assert lines[3] == "hi:there object"
    assert lines[4] == "1970-01-01T00:00:00.000Z"
    assert lines[5] == "1, 2 true x-a"
    assert lines[6] == "true AbortError"
    assert lines[7:9] == ["true", "true"]
    # Node's process (without the host's environment)
    assert lines[9] == "undefined undefined undefined object"


def test_node_crypto_matches_python_hashlib():
    outcome = run(
        handler("""
      const crypto = require('crypto');
      for (const alg of ['md5', 'sha1', 'sha256', 'sha384', 'sha512']) {
        console.log(crypto.createHash(alg).update('abc').update(Buffer.from('déf')).digest('hex'));
        console.log(crypto.createHmac(alg, 'key').update('msg'.repeat(100)).digest('base64'));
      }
      console.log(crypto.createHmac('sha256', 'k'.repeat(200)).update('x').digest('hex'));
      console.log(crypto.randomBytes(16).length, typeof crypto.randomUUID());
      console.log(crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')));
      const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('key'),
        { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('msg'));
      console.log(Buffer.from(sig).toString('hex'));
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
      console.log(Buffer.from(digest).toString('hex'));
    """)
    )
    assert outcome.status == "delivered", outcome
    lines = [entry["message"] for entry in outcome.logs]
    data = "abcdéf".encode()
    expected = []
    for alg in ["md5", "sha1", "sha256", "sha384", "sha512"]:
        expected.append(hashlib.new(alg, data).hexdigest())
        expected.append(base64.b64encode(hmac.new(b"key", b"msg" * 100, alg).digest()).decode())
    expected.append(hmac.new(b"k" * 200, b"x", "sha256").hexdigest())
    expected.append("16 string")
    expected.append("true")
    expected.append(hmac.new(b"key", b"msg", "sha256").hexdigest())
    expected.append(hashlib.sha256(b"abc").hexdigest())
    assert lines == expected


def test_buffer_querystring_url_and_util_modules():
    outcome = run(
        handler("""
      const { Buffer: B } = require('buffer');
      const qs = require('querystring');
      const url = require('node:url');
      const util = require('util');
      console.log(B.from('68656c6c6f', 'hex').toString(),
                  B.from('aGk=', 'base64').toString('utf8'),
                  Buffer.from('hi').toString('hex'),
                  Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString(),
                  Buffer.byteLength('é'), Buffer.isBuffer(Buffer.alloc(2)),
                  Buffer.from('x').equals(Buffer.from('x')));
      console.log(qs.stringify({ a: 'x y', b: [1, 2] }),
                  JSON.stringify(qs.parse('a=1&b=2&b=3&c=%20')));
      console.log(url.parse('https://h.example/p?q=1').hostname,
                  new url.URL('https://h.example/a').pathname);
      console.log(util.format('%s=%d %j %%', 'n', 42, { a: 1 }),
                  util.inspect({ deep: { er: [1, 2] } }));
    """)
    )
    assert outcome.status == "delivered", outcome
    lines = [entry["message"] for entry in outcome.logs]
    assert lines[0] == "hello hi 6869 ab 2 true true"
    assert lines[1] == 'a=x%20y&b=1&b=2 {"a":"1","b":["2","3"],"c":" "}'
    assert lines[2] == "h.example /a"
    assert lines[3] == 'n=42 {"a":1} % { deep: { er: [ 1, 2 ] } }'


def test_requiring_an_unavailable_module_names_it_and_lists_what_is_available():
    outcome = run(handler("require('axios');"))
    assert outcome.status == "error"
    assert outcome.error_kind == "runtime"
    assert "Cannot find module 'axios'" in outcome.reason
    assert "buffer, crypto, events, http, https, process, querystring, stream" in outcome.reason
    assert "declared in the Action's dependencies" in outcome.reason


def test_module_level_require_and_state_are_kept_for_the_same_context():
    source = """
      const crypto = require('crypto');
      let runs = 0;
      exports.onExecuteCustomPhoneProvider = async () => { runs += 1; console.log(runs); };
    """
    first = run(source, key="warm:1")
    second = run(source, key="warm:1")
    assert [first.logs[0]["message"], second.logs[0]["message"]] == ["1", "2"]
    assert first.stats["warm"] is False and second.stats["warm"] is True
    assert second.stats["boot_ms"] == 0


def test_legacy_send_phone_message_handlers_get_message_options_and_only_cache(server):
    source = """
    exports.onExecuteSendPhoneMessage = async (event, api) => {
      const o = event.message_options;
      await fetch(event.secrets.URL, { method: 'POST', body: JSON.stringify(o) });
      console.log(Object.keys(api).join(), typeof event.notification);
    };
    """
    outcome = run(
        source,
        sample_event(message_type="otp_enroll", delivery_method="voice"),
        trigger="send-phone-message",
        secrets={"URL": server.url("/legacy")},
    )
    assert outcome.status == "delivered", outcome
    assert server.received[0].json() == {
        "action": "enrollment",
        "code": "123456",
        "message_type": "voice",
        "recipient": "+15555550123",
        "text": "Your code is 1 2 3 4 5 6",
    }
    assert outcome.logs[0]["message"] == "cache undefined"
    sms = run(
        source, sample_event(), trigger="send-phone-message", secrets={"URL": server.url("/legacy")}
    )
    assert sms.status == "delivered"
    assert server.received[1].json()["action"] == "second-factor-authentication"
    assert server.received[1].json()["message_type"] == "sms"


def test_a_host_fetch_capability_replaces_the_network():
    seen = []

    def fake_fetch(request):
        seen.append(request)
        return FetchResponse(
            status=201, headers=[("content-type", "application/json")], body=b'{"ok":true}'
        )

    outcome = run(
        handler("""
      const r = await fetch('https://gateway.example/send', { method: 'PUT', body: 'hi' });
      console.log(r.status, (await r.json()).ok);
    """),
        fetch=fake_fetch,
    )
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == "201 true"
    assert (seen[0].method, seen[0].url, seen[0].body) == (
        "PUT",
        "https://gateway.example/send",
        b"hi",
    )


def test_dry_run_records_requests_and_sends_nothing(server):
    outcome = run(
        handler("""
      const r = await fetch(event.secrets.URL, { method: 'POST',
        headers: { authorization: 'Bearer ' + event.secrets.TOKEN }, body: '{"a":1}' });
      console.log(r.status, await r.text());
    """),
        secrets={"URL": server.url("/x"), "TOKEN": "tok-999999"},
        dry_run=True,
    )
    assert outcome.status == "delivered"
    assert server.received == []
    assert outcome.logs[0]["message"] == "200 {}"
    [record] = outcome.fetches
    assert record["method"] == "POST" and record["status"] == 200
    assert record["body"] == '{"a":1}'
    assert ["authorization", "Bearer [redacted]"] in record["headers"]


def test_non_ascii_text_survives_every_hop(server):
    server.route(
        "/u",
        status=200,
        body='{"echo":"ça va 👍"}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    event = sample_event(as_text="Votre code est 123456 — ça marche 👍")
    outcome = run(
        handler("""
      const r = await fetch(event.secrets.URL, { method: 'POST',
        body: JSON.stringify({ text: event.notification.as_text }) });
      const data = await r.json();
      console.log(event.notification.as_text, '|', data.echo);
      api.notification.drop('raison : déjà envoyé ✓');
    """),
        event,
        secrets={"URL": server.url("/u")},
    )
    assert outcome.status == "drop", outcome
    assert outcome.reason == "raison : déjà envoyé ✓"
    assert outcome.logs[0]["message"] == "Votre code est 123456 — ça marche 👍 | ça va 👍"
    assert server.received[0].json() == {"text": "Votre code est 123456 — ça marche 👍"}


def test_large_and_binary_bodies_and_parallel_fetches(server):
    big = ("x" * 1000 + "\n") * 700  # ~700 kB: more than the shared channel holds at once
    server.route("/big", status=200, body=big.encode(), headers={"Content-Type": "text/plain"})
    server.route(
        "/bin",
        status=200,
        body=bytes(range(256)) * 4,
        headers={"Content-Type": "application/octet-stream"},
    )
    server.route(
        "/gz",
        status=200,
        body=__import__("gzip").compress(b'{"z":1}'),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    outcome = run(
        handler("""
      const base = event.secrets.BASE;
      const [a, b, c] = await Promise.all(['/big', '/bin', '/gz'].map((p) => fetch(base + p)));
      const text = await a.text();
      const bytes = new Uint8Array(await b.arrayBuffer());
      console.log(text.length, bytes.length, bytes[255], bytes[256], (await c.json()).z);
      const body = new Uint8Array([0, 255, 7]);
      const posted = await fetch(base + '/echo', { method: 'POST', body });
      console.log(posted.status);
    """),
        secrets={"BASE": server.url("")},
    )
    assert outcome.status == "delivered", outcome
    assert outcome.logs[0]["message"] == f"{len(big)} 1024 255 0 1"
    assert server.received[-1].body == bytes([0, 255, 7])
    assert len(outcome.fetches) == 4


def test_abort_controller_cancels_a_pending_fetch(server):
    server.route("/slow", delay_s=2)
    outcome = run(
        handler("""
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      try {
        await fetch(event.secrets.URL, { signal: ac.signal });
      } catch (e) {
        console.log(e.name);
      }
      try {
        await fetch(event.secrets.URL, { signal: AbortSignal.timeout(50) });
      } catch (e) {
        console.log(e.name);
      }
    """),
        secrets={"URL": server.url("/slow")},
    )
    assert outcome.status == "delivered", outcome
    assert [e["message"] for e in outcome.logs] == ["AbortError", "TimeoutError"]


def test_timers_return_node_style_timeout_objects():
    outcome = run(
        handler("""
      const t = setTimeout(() => console.log('never'), 5).unref();
      clearTimeout(t);
      const n = +setTimeout(() => {}, 1);
      clearTimeout(n);
      let ticks = 0;
      await new Promise((resolve) => {
        const i = setInterval(() => {
          ticks += 1;
          if (ticks === 3) { clearInterval(i); resolve(); }
        }, 1);
      });
      await new Promise((r) => setTimeout(r, 20));
      console.log(typeof n, ticks);
    """)
    )
    assert outcome.status == "delivered", outcome
    assert [e["message"] for e in outcome.logs] == ["number 3"]


def test_request_response_and_headers_objects_behave_like_fetch_in_node(server):
    server.route(
        "/teapot",
        status=418,
        body=b'{"error":"short and stout"}',
        headers={"Content-Type": "application/json", "X-Trace": "t-1"},
    )
    server.route("/bytes", status=200, body=b"\x00\x01\xfe\xff", headers={})
    outcome = run(
        handler("""
      const req = new Request(event.secrets.BASE + '/teapot', {
        method: 'post',
        headers: new Headers({ 'X-Client': 'pp' }),
        body: JSON.stringify({ a: 1 }),
      });
      console.log(req.method, req.url.endsWith('/teapot'), req.headers.get('x-client'));
      const res = await fetch(req);
      console.log(res.status, res.ok, res.statusText, res.headers.get('x-trace'),
                  res.headers.get('content-type'), res instanceof Response);
      const copy = res.clone();
      console.log(JSON.stringify(await res.json()), (await copy.text()).length);
      const bin = await fetch(event.secrets.BASE + '/bytes');
      const bytes = new Uint8Array(await bin.arrayBuffer());
      console.log(bin.ok, Array.from(bytes).join(','));
      const made = new Response('{"x":2}', {
        status: 201, headers: { 'content-type': 'application/json' } });
      console.log(made.status, made.ok, (await made.json()).x);
    """),
        secrets={"BASE": server.url("")},
    )
    assert outcome.status == "delivered", outcome
    # Node passes the server's reason phrase on; Deno gives the standard one for the status.
    assert [e["message"].replace("I'm a teapot", "I'm a Teapot") for e in outcome.logs] == [
        "POST true pp",
        "418 false I'm a Teapot t-1 application/json true",
        '{"error":"short and stout"} 27',
        "true 0,1,254,255",
        "201 true 2",
    ]
    [req, _] = server.received
    assert (req.method, req.header("X-Client"), req.json()) == ("POST", "pp", {"a": 1})


def test_console_levels_are_recorded():
    outcome = run(
        handler("""
      console.log('l'); console.info('i'); console.warn('w'); console.error('e');
      console.debug('d');
    """)
    )
    assert [(e["level"], e["message"]) for e in outcome.logs] == [
        ("log", "l"),
        ("info", "i"),
        ("warn", "w"),
        ("error", "e"),
        ("debug", "d"),
    ]


def test_the_unavailable_module_error_is_a_module_not_found_error_handlers_can_catch():
    outcome = run(
        handler("""
      let twilio;
      try { twilio = require('twilio'); } catch (e) { console.log(e.code); }
      console.log(typeof twilio, typeof require('node:crypto').createHmac);
    """)
    )
    assert [e["message"] for e in outcome.logs] == ["MODULE_NOT_FOUND", "undefined function"]
