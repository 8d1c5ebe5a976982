// The handler's fetch: Deno's own fetch with the execution's limits around it. The process's
// --deny-net list is the wall (it is checked against the address connected to, for fetch and
// node:http alike); this layer adds what a wall cannot: the fetch count, per-request timeouts,
// a bounded response body, redirects followed one hop at a time, readable refusals, and the
// record of every request for the outcome.
const realFetch = globalThis.fetch;
const RealResponse = globalThis.Response;
const RealRequest = globalThis.Request;
const hostSetTimeout = globalThis.setTimeout;
const hostClearTimeout = globalThis.clearTimeout;

// ---------------------------------------------------------------- addresses (mirrors phoneprovider/net/guard.py)
function v4(host) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return BigInt(((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]);
}
function v6(host) {
  let h = host.replace(/^\[|\]$/g, '');
  if (!h.includes(':')) return null;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (tail) {
    const n = v4(tail[1]);
    if (n === null) return null;
    h = h.slice(0, -tail[1].length) + (n >> 16n).toString(16) + ':' + (n & 0xffffn).toString(16);
  }
  const [head, rest] = h.split('::');
  const a = head ? head.split(':') : [];
  const b = rest !== undefined && rest ? rest.split(':') : [];
  const fill = 8 - a.length - b.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return null;
  const groups = [...a, ...Array(rest === undefined ? 0 : fill).fill('0'), ...b];
  let n = 0n;
  for (const g of groups) n = (n << 16n) + BigInt(parseInt(g || '0', 16));
  return n;
}
function parseIp(host) {
  const a = v4(host);
  if (a !== null) return { v: 4, n: a, text: host };
  const b = v6(host);
  return b === null ? null : { v: 6, n: b, text: host.replace(/^\[|\]$/g, '') };
}
function inNet(ip, cidr) {
  const [base, len] = String(cidr).trim().split('/');
  const net = parseIp(base);
  if (!net || net.v !== ip.v) return false;
  const bits = ip.v === 4 ? 32n : 128n;
  const l = BigInt(len === undefined ? bits : Number(len));
  const shift = bits - l;
  return (ip.n >> shift) === (net.n >> shift);
}
const V4_RULES = [
  ['169.254.169.254/32', 'a cloud metadata address'], ['169.254.170.2/32', 'a cloud metadata address'],
  ['100.100.100.200/32', 'a cloud metadata address'], ['0.0.0.0/32', 'an unspecified address'],
  ['127.0.0.0/8', 'a loopback address'], ['169.254.0.0/16', 'a link-local address'],
  ['224.0.0.0/4', 'a multicast address'], ['100.64.0.0/10', 'a shared (carrier-grade NAT) address'],
  ['0.0.0.0/8', 'a private address'], ['10.0.0.0/8', 'a private address'], ['172.16.0.0/12', 'a private address'],
  ['192.168.0.0/16', 'a private address'], ['192.0.0.0/24', 'a private address'], ['192.0.2.0/24', 'a private address'],
  ['198.18.0.0/15', 'a private address'], ['198.51.100.0/24', 'a private address'], ['203.0.113.0/24', 'a private address'],
  ['240.0.0.0/4', 'a private address'],
];
const V6_RULES = [
  ['::/128', 'an unspecified address'], ['::1/128', 'a loopback address'], ['fe80::/10', 'a link-local address'],
  ['ff00::/8', 'a multicast address'], ['fc00::/7', 'a private address'], ['2001:db8::/32', 'a private address'],
  ['fec0::/10', 'a site-local address'],
];
function blockedReason(ip) {
  if (ip.v === 6) {
    let inner = null;
    if (inNet(ip, '::ffff:0:0/96') || inNet(ip, '64:ff9b::/96') || (ip.n >> 32n === 0n && ip.n > 1n)) inner = ip.n & 0xffffffffn;
    if (inner !== null) {
      const r = blockedReason({ v: 4, n: inner });
      return r ? `${r} (inside an IPv6 address)` : null;
    }
  }
  for (const [cidr, reason] of ip.v === 4 ? V4_RULES : V6_RULES) if (inNet(ip, cidr)) return reason;
  return null;
}
function refusal(host, allowed) {
  const ip = parseIp(host);
  if (!ip) return null;
  if ((allowed || []).some((c) => inNet(ip, c))) return null;
  if (ip.v === 6 && inNet(ip, '::ffff:0:0/96') && (allowed || []).some((c) => inNet({ v: 4, n: ip.n & 0xffffffffn }, c))) return null;
  const reason = blockedReason(ip);
  if (!reason) return null;
  return `Refusing to connect to ${ip.text}: it is ${reason}. Outbound requests may only reach ` +
    'public addresses unless the address is in OUTBOUND_ALLOWED_NETWORKS.';
}
// Deno's own refusal (NotCapable) names "host:port"; say it the way the guard above does.
function explainDenied(message) {
  const m = /Requires net access to "(.+):(\d+)"/.exec(message);
  if (!m) return null;
  const host = m[1].replace(/^\[|\]$/g, '');
  return refusal(host, []) || `Refusing to connect to ${host}: it resolves to an address outside the public ` +
    'internet. Outbound requests may only reach public addresses unless the address is in OUTBOUND_ALLOWED_NETWORKS.';
}

// ---------------------------------------------------------------- fetch
class FetchError extends Error {
  constructor(message, kind) { super(message); this.kind = kind || null; }
}

async function readLimited(resp, limit) {
  const declared = resp.headers.get('content-length');
  // A missing header is no length (Number(null) would be 0); a list of them is none either.
  const len = declared !== null && /^\s*\d+\s*$/.test(declared) ? Number(declared) : NaN;
  if (Number.isFinite(len) && len > limit) {
    try { await resp.body?.cancel(); } catch (_e) { /* gone */ }
    throw new FetchError(`The response is larger than ${limit} bytes`);
  }
  if (!resp.body) return new Uint8Array(0);
  // A declared length within the limit is read in one go (the HTTP client stops at the
  // declared length); otherwise chunk by chunk, counting. Not when the body is chunked (which
  // overrides a declared length) or compressed (the length is the compressed one).
  const whole = Number.isFinite(len) && resp.headers.get('content-encoding') === null &&
    resp.headers.get('transfer-encoding') === null;
  if (whole) return new Uint8Array(await resp.arrayBuffer());
  const reader = resp.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      try { await reader.cancel(); } catch (_e) { /* gone */ }
      throw new FetchError(`The response is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function made(body, status, statusText, headers, url, redirected) {
  const nullBody = status === 101 || status === 204 || status === 205 || status === 304;
  const resp = new RealResponse(nullBody ? null : body, { status: status < 200 ? 200 : status, statusText, headers });
  const props = { url: { value: url }, redirected: { value: !!redirected } };
  if (status < 200) props.status = { value: status };
  Object.defineProperties(resp, props);
  return resp;
}

async function network(ex, req, callerSignal, body, timeoutS) {
  const policy = ex.policy;
  const allowed = policy.allowed_networks || [];
  const maxRedirects = policy.max_redirects ?? 5;
  const limit = Math.min(ex.limits.max_response_bytes, policy.max_response_bytes ?? Infinity);
  const ours = new AbortController();
  const timer = hostSetTimeout(() => ours.abort(), timeoutS * 1000);
  // Every Request has a signal; combining is only worth its cost when the caller gave one.
  const signal = callerSignal ? AbortSignal.any([callerSignal, ours.signal]) : ours.signal;
  let url = req.url, method = req.method, headers = [...req.headers], hops = 0;
  try {
    for (;;) {
      const target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new FetchError(`Only http and https URLs can be fetched (got '${url}')`);
      const refused = refusal(target.hostname, allowed);
      if (refused) throw new FetchError(refused);
      let resp;
      try {
        resp = await realFetch(url, { method, headers, body, redirect: 'manual', signal });
      } catch (e) {
        if (ours.signal.aborted && !(req.signal && req.signal.aborted)) throw new FetchError(`The request did not complete within ${timeoutS} s`, 'timeout');
        if (req.signal && req.signal.aborted) throw req.signal.reason;
        const denied = explainDenied(String(e && e.message));
        if (denied) throw new FetchError(denied, 'blocked');
        const detail = String((e && e.cause && e.cause.message) || (e && e.message) || e).split('\n')[0];
        throw new FetchError(detail.replace(/^(TypeError: )?(Fetch failed: )?/i, '') || 'the connection failed', 'connect');
      }
      const location = resp.headers.get('location');
      if (resp.status >= 300 && resp.status < 400 && location && req.redirect !== 'manual') {
        try { await resp.body?.cancel(); } catch (_e) { /* gone */ }
        if (req.redirect === 'error') throw new FetchError(`The server redirected ${url} and redirect is 'error'`);
        if (++hops > maxRedirects) throw new FetchError(`More than ${maxRedirects} redirects`);
        const next = new URL(location, url).href;
        const dropBody = (resp.status === 303 && method !== 'HEAD') || ([301, 302].includes(resp.status) && method === 'POST');
        const crossOrigin = new URL(next).origin !== target.origin;
        headers = headers.filter(([k]) => {
          const lk = k.toLowerCase();
          if (dropBody && ['content-type', 'content-length', 'content-encoding'].includes(lk)) return false;
          return !(crossOrigin && ['authorization', 'cookie', 'proxy-authorization'].includes(lk));
        });
        if (dropBody) { method = 'GET'; body = undefined; }
        url = next;
        continue;
      }
      let bytes;
      try {
        bytes = await readLimited(resp, limit);
      } catch (e) {
        if (e instanceof FetchError) throw e;
        if (ours.signal.aborted) throw new FetchError(`The request did not complete within ${timeoutS} s`);
        if (req.signal && req.signal.aborted) throw req.signal.reason;
        throw new FetchError(String((e && e.message) || e));
      }
      return made(bytes, resp.status, resp.statusText, resp.headers, url, hops > 0);
    }
  } finally {
    hostClearTimeout(timer);
  }
}

async function viaHost(ex, req, body, hostFetch) {
  const msg = { method: req.method, url: req.url, headers: [...req.headers], redirect: req.redirect };
  if (body) msg.body_b64 = btoa(Array.from(body, (c) => String.fromCharCode(c)).join(''));
  const r = await hostFetch(ex, msg);
  if (r.error) throw new FetchError(r.error);
  const raw = Uint8Array.from(atob(r.body_b64 || ''), (c) => c.charCodeAt(0));
  const limit = ex.limits.max_response_bytes;
  if (raw.length > limit) throw new FetchError(`The response is larger than ${limit} bytes`);
  return made(raw, r.status, r.status_text || '', r.headers || [], r.url || req.url, r.redirected);
}

export async function guardedFetch(ex, input, init, hostFetch) {
  const req = new RealRequest(input, init);
  const proto = new URL(req.url).protocol;
  if (proto !== 'http:' && proto !== 'https:') throw new TypeError(`fetch failed: only http and https URLs can be fetched (got ${proto})`);
  if (req.signal && req.signal.aborted) throw req.signal.reason;
  if (ex.fetchCount >= ex.limits.max_fetches) {
    ex.limitHit = ex.limitHit || 'fetch_limit';
    throw new Error(`fetch limit reached: an execution may make at most ${ex.limits.max_fetches} requests`);
  }
  ex.fetchCount++;
  const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
  const record = { method: req.method, url: req.url, status: null, duration_ms: 0, error: null };
  if (ex.dryRun) {
    record.headers = [...req.headers];
    record.body = body ? (isText(body) ? new TextDecoder().decode(body) : `<${body.length} bytes>`) : null;
  }
  ex.fetches.push(record);
  const started = performance.now();
  try {
    let resp;
    if (ex.dryRun) {
      resp = made('{}', 200, 'OK', { 'content-type': 'application/json' }, req.url, false);
    } else if (ex.hostFetch) {
      resp = await viaHost(ex, req, body, hostFetch);
    } else {
      const left = Math.max(0.001, (ex.deadline - Date.now()) / 1000);
      const timeoutS = Math.min(ex.limits.fetch_timeout_s, ex.policy.timeout_s ?? Infinity, left);
      const callerSignal = (init && init.signal) || (input instanceof RealRequest ? input.signal : null);
      resp = await network(ex, req, callerSignal, body, timeoutS);
    }
    record.status = resp.status;
    return resp;
  } catch (e) {
    if (!(e instanceof FetchError)) {
      record.error = String((e && e.name) || 'Error');
      throw e;
    }
    record.error = e.message;
    if (e.kind) record.error_kind = e.kind;
    throw new TypeError(`fetch failed: ${e.message}`);
  } finally {
    const ms = performance.now() - started;
    record.duration_ms = Math.round(ms * 1000) / 1000;
    ex.fetchMs += ms;
  }
}

function isText(bytes) {
  try { new TextDecoder('utf-8', { fatal: true }).decode(bytes); return true; } catch (_e) { return false; }
}
