// One context of the Deno runtime: a Web Worker (its own isolate and realm) that holds one
// handler module and runs its executions one at a time. Started by server.js from this text.
//
// Messages from server.js:  {op: 'define', source}   compile the handler (CommonJS wrapper)
//                           {op: 'run', ...payload}   one execution
//                           {op: 'fetched', fid, resp}  answer to a host fetch
//                           {op: 'snapshot'}          logs so far (for a timeout report)
//                           {op: 'started_flag', flag}  where to write the number of each run
//                                                     it starts (shared memory, no message back)
// Messages to server.js:    {op: 'defined', error?}, {op: 'fetch', fid, req},
//                           {op: 'done', result}, {op: 'snapshot', snap}
// The Node built-ins are imported while `Deno` is still whole: Deno's Node layer reads it while
// it loads a module. `lockDown` (before any handler code is evaluated) then leaves the handler a
// `Deno` with nothing but `build` (which the Node layer reads at run time) and a `process`
// without the host's environment; the process's permissions (net only, through the deny list)
// stay the wall under both.
import nodeBuffer from 'node:buffer';
import nodeCrypto from 'node:crypto';
import nodeEvents from 'node:events';
import nodeHttp from 'node:http';
import nodeHttps from 'node:https';
import nodeProcess from 'node:process';
import nodeQuerystring from 'node:querystring';
import nodeStream from 'node:stream';
import nodeStringDecoder from 'node:string_decoder';
import nodeTimers from 'node:timers';
import 'node:tls';
import nodeUrl from 'node:url';
import nodeUtil from 'node:util';
import nodeZlib from 'node:zlib';

const { Buffer } = nodeBuffer;
const nativeFetch = globalThis.fetch;
const nativeSetTimeout = globalThis.setTimeout;
const nativeSetInterval = globalThis.setInterval;
const nativeClearTimeout = globalThis.clearTimeout;
const post = globalThis.postMessage.bind(globalThis);
// Kept before lockDown removes Atomics: where this worker says which run it has started.
const atomicsStore = Atomics.store;
let startedRun = null;
const format = nodeUtil.format;
const dateNow = Date.now;
const encoder = new TextEncoder();
const utf8Length = (s) => encoder.encode(s).length;

function refuse(name) {
  return () => { throw new Error(`process.${name}() is not available to handlers`); };
}
let lockedDown = false;
const realEval = globalThis.eval;
function lockDown() {
  if (lockedDown) return;
  lockedDown = true;
  const build = globalThis.Deno.build;
  for (const name of ['Deno', 'WebAssembly', 'SharedArrayBuffer', 'Atomics']) {
    try { delete globalThis[name]; } catch (_e) { /* not configurable */ }
  }
  Object.defineProperty(globalThis, 'Deno', { value: Object.freeze({ build }), configurable: false, writable: false });
  // Declared packages only: code compiled from here on (the handler, eval, the Function
  // constructors) may not import modules, and no further workers can be started.
  for (const name of ['Worker', 'ShadowRealm']) {
    try { delete globalThis[name]; } catch (_e) { /* not configurable */ }
  }
  Object.defineProperty(globalThis, 'eval', { value: (code) => realEval(noImports(code)), writable: true, configurable: true });
  for (const proto of [Function.prototype, Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function* () {})]) {
    const Real = proto.constructor;
    const Guarded = function (...args) { return Real(...args.map(noImports)); };
    Guarded.prototype = proto;
    Object.defineProperty(proto, 'constructor', { value: Guarded, writable: true, configurable: true });
  }
  globalThis.Function = Function.prototype.constructor;
}
const IMPORT_CALL = /\bimport\s*\(|\bimport\s*\/\*/;
function noImports(code) {
  if (typeof code === 'string' && IMPORT_CALL.test(code)) {
    throw new Error("import() is not available to handlers: require() the Action's declared dependencies instead");
  }
  return code;
}
// Node's process, as packages (which read it as they load) and handlers see it: no host
// environment, no way to end or signal the process.
Object.defineProperty(nodeProcess, 'env', { value: {}, writable: true, configurable: true, enumerable: true });
for (const name of ['exit', 'reallyExit', 'abort', 'kill', 'dlopen', 'binding', '_linkedBinding', 'chdir']) {
  try { Object.defineProperty(nodeProcess, name, { value: refuse(name), writable: true, configurable: true }); } catch (_e) { /* keep */ }
}
// Errors a handler leaves unhandled belong to its execution, not to this worker.
globalThis.addEventListener('unhandledrejection', (e) => { e.preventDefault(); fail(EX, e.reason); });
globalThis.addEventListener('error', (e) => { e.preventDefault(); fail(EX, e.error); });

const BUILTINS = {
  buffer: nodeBuffer, crypto: nodeCrypto, events: nodeEvents, http: nodeHttp, https: nodeHttps,
  process: nodeProcess, querystring: nodeQuerystring, stream: nodeStream, string_decoder: nodeStringDecoder,
  url: nodeUrl, util: nodeUtil, zlib: nodeZlib,
};
const BUILTIN_NAMES = [...Object.keys(BUILTINS), 'timers'].sort().join(', ');
let packages = {}; // declared npm packages of this handler, name -> module.exports
function requireModule(name) {
  const n = String(name);
  const bare = n.replace(/^node:/, '');
  if (Object.prototype.hasOwnProperty.call(BUILTINS, bare)) return BUILTINS[bare];
  if (!n.startsWith('node:') && Object.prototype.hasOwnProperty.call(packages, n)) return packages[n];
  const declared = Object.keys(packages);
  const e = new Error(`Cannot find module '${name}'. Handlers can require these Node built-ins: ${BUILTIN_NAMES}` +
    (declared.length ? `, and the Action's declared dependencies: ${declared.join(', ')}` : '') +
    ' (other npm packages must be declared in the Action\'s dependencies).');
  e.code = 'MODULE_NOT_FOUND';
  throw e;
}

let EX = null; // the running execution
let wrapper = null;
let moduleObj = null;

// ------------------------------------------------------------------ console
function makeConsole() {
  const log = (level) => (...args) => {
    const ex = EX;
    if (!ex || ex.logsTruncated) return;
    let message;
    try { message = format(...args); } catch (_e) { message = '[unprintable value]'; }
    const cost = utf8Length(message) + 32;
    if (ex.logBytes + cost > ex.limits.max_log_bytes) {
      const room = ex.limits.max_log_bytes - ex.logBytes - 32;
      if (room > 0) ex.logs.push({ level, message: message.slice(0, Math.floor(room / 3)), t_ms: dateNow() - ex.t0 });
      ex.logsTruncated = true;
      ex.logBytes = ex.limits.max_log_bytes;
      return;
    }
    ex.logBytes += cost;
    ex.logs.push({ level, message, t_ms: dateNow() - ex.t0 });
  };
  const c = {
    log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'),
    trace: log('debug'), dir: log('log'), table: log('log'), group: log('log'), groupEnd: () => {},
  };
  const timers = new Map();
  c.time = (label = 'default') => { timers.set(label, dateNow()); };
  c.timeEnd = (label = 'default') => { const t = timers.get(label); timers.delete(label); if (t !== undefined) c.log(`${label}: ${dateNow() - t}ms`); };
  c.timeLog = (label = 'default', ...rest) => { const t = timers.get(label); if (t !== undefined) c.log(`${label}: ${dateNow() - t}ms`, ...rest); };
  c.assert = (cond, ...rest) => { if (!cond) c.error('Assertion failed' + (rest.length ? ': ' + format(...rest) : '')); };
  c.count = (l = 'default') => c.log(`${l}: 1`);
  return c;
}

// ------------------------------------------------------------------ timers
// Node returns Timeout objects (unref() and friends) that also work as numbers. A timer only
// fires for the execution that set it.
class Timeout {
  constructor(id) { this.id = id; }
  ref() { return this; }
  unref() { return this; }
  hasRef() { return true; }
  refresh() { return this; }
  [Symbol.toPrimitive]() { return +this.id; }
}
function timer(native) {
  return (fn, ms, ...args) => {
    const ex = EX;
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const id = native(() => {
      if (EX !== ex || !ex) return;
      try { fn(...args); } catch (e) { fail(ex, e); }
    }, ms);
    return new Timeout(id);
  };
}
const clearTimer = (t) => { if (t !== undefined && t !== null) nativeClearTimeout(t instanceof Timeout ? t.id : Number(t)); };

// ------------------------------------------------------------------ fetch
import { guardedFetch } from './fetch.js';

function fetch(input, init) {
  const ex = EX;
  if (!ex) return Promise.reject(new TypeError('fetch failed: fetch can only be called while the handler runs'));
  return guardedFetch(ex, input, init, hostFetch);
}
function hostFetch(ex, req) {
  return new Promise((resolve) => {
    const fid = ++ex.seq;
    ex.hostWaiters.set(fid, resolve);
    post({ op: 'fetch', fid, req });
  });
}

// ------------------------------------------------------------------ api.cache
import { makeCache } from './cache.js';

// ------------------------------------------------------------------ errors
function cleanStack(err) {
  let stack;
  try { stack = String(err.stack || ''); } catch (_e) { stack = ''; }
  const out = [];
  for (let line of stack.split('\n')) {
    if (!/^\s+at /.test(line)) { if (out.length === 0 || !/^\s+at /.test(out[out.length - 1])) out.push(line); continue; }
    line = line.replace(/handler\.js, <anonymous>:/g, 'handler.js:');
    if (!line.includes('handler.js:')) continue;
    out.push(line.replace(/handler\.js:(\d+):(\d+)/g, (_m, l, c) => `handler.js:${Math.max(1, l - 1)}:${c}`));
  }
  return out.join('\n');
}
function describeValue(v) {
  try {
    if (typeof v === 'string') return JSON.stringify(v.length > 500 ? v.slice(0, 500) + '...' : v);
    return nodeUtil.inspect(v).slice(0, 500);
  } catch (_e) { return '[unprintable value]'; }
}
function serializeError(e) {
  let isErr = false;
  try { isErr = e instanceof Error || (e !== null && typeof e === 'object' && typeof e.message === 'string' && typeof e.stack === 'string'); } catch (_x) { isErr = false; }
  if (!isErr) return { name: 'Error', message: `The handler threw a value that is not an Error: ${describeValue(e)}`, stack: '', nonError: true };
  let name = 'Error', message = '';
  try { name = String(e.name); } catch (_x) { /* keep */ }
  try { message = String(e.message); } catch (_x) { /* keep */ }
  let stack = '';
  try { stack = cleanStack(e); } catch (_x) { stack = `${name}: ${message}`; }
  const out = { name, message, stack };
  try { if (e.code !== undefined) out.code = String(e.code); } catch (_x) { /* ignore */ }
  return out;
}
function fail(ex, e) {
  if (!ex || ex.settled) return;
  ex.settled = true;
  ex.error = serializeError(e);
  finish(ex);
}

// ------------------------------------------------------------------ executions
function settle(ex, status, reason) {
  if (EX !== ex || ex.settled) return;
  let r = '';
  try { r = reason === undefined || reason === null ? '' : String(reason); } catch (_e) { r = '[unprintable reason]'; }
  ex.outcome = { status, reason: r.slice(0, 1024) };
}
function buildApi(ex, trigger, entries) {
  const cache = makeCache(ex, entries, () => EX === ex);
  if (trigger === 'send-phone-message') return Object.freeze({ cache });
  const api = {
    notification: Object.freeze({
      drop(reason) { settle(ex, 'drop', reason); return api; },
      retry(reason) { settle(ex, 'retry', reason); return api; },
    }),
    cache,
  };
  return Object.freeze(api);
}
function result(ex) {
  return {
    outcome: ex.outcome, error: ex.error, loadError: ex.loadError, logs: ex.logs,
    logsTruncated: ex.logsTruncated, cacheChanges: ex.cacheChanges, limitHit: ex.limitHit,
    loadMs: ex.loadMs, fetches: ex.fetches, fetchMs: ex.fetchMs,
  };
}
function finish(ex) {
  if (ex.finished) return;
  ex.finished = true;
  ex.done = true;
  post({ op: 'done', result: result(ex) });
  if (EX === ex) EX = null;
}

function loadModule(exportName) {
  if (moduleObj) return moduleObj.exports[exportName];
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, requireModule, module, '/handler.js', '/');
  moduleObj = module;
  return module.exports[exportName];
}

function run(p) {
  if (startedRun) atomicsStore(startedRun, 0, p.run);
  const ex = {
    t0: dateNow(), limits: p.limits, logs: [], logBytes: 0, logsTruncated: false,
    outcome: { status: 'delivered', reason: '' }, error: null, loadError: null, limitHit: null,
    fetchCount: 0, seq: 0, fetches: [], fetchMs: 0, hostWaiters: new Map(), cacheWrites: 0,
    cacheChanges: {}, settled: false, finished: false, loadMs: 0, dryRun: !!p.dry_run,
    hostFetch: !!p.host_fetch, policy: p.policy || {}, deadline: dateNow() + p.limits.timeout_s * 1000,
  };
  EX = ex;
  const exportName = p.trigger === 'send-phone-message' ? 'onExecuteSendPhoneMessage' : 'onExecuteCustomPhoneProvider';
  let fn;
  const t = dateNow();
  const wasLoaded = moduleObj !== null;
  try {
    fn = loadModule(exportName);
  } catch (e) {
    ex.loadError = 'throw';
    fail(ex, e);
    return;
  } finally {
    if (!wasLoaded) ex.loadMs = dateNow() - t;
  }
  if (typeof fn !== 'function') {
    ex.loadError = 'missing';
    ex.settled = true;
    ex.error = { name: 'Error', message: `The code must export ${exportName} as an async function, for example: exports.${exportName} = async (event, api) => { ... }`, stack: '' };
    finish(ex);
    return;
  }
  if (Object.prototype.toString.call(fn) !== '[object AsyncFunction]') {
    ex.loadError = 'not_async';
    ex.settled = true;
    ex.error = { name: 'Error', message: `${exportName} must be an async function: exports.${exportName} = async (event, api) => { ... }`, stack: '' };
    finish(ex);
    return;
  }
  try {
    const promise = fn(p.event, buildApi(ex, p.trigger, p.cache));
    Promise.resolve(promise).then(() => {
      if (ex.settled) return;
      ex.settled = true;
      finish(ex);
    }, (e) => fail(ex, e));
  } catch (e) {
    fail(ex, e);
  }
}

const globals = {
  console: makeConsole(),
  setTimeout: timer(nativeSetTimeout), clearTimeout: clearTimer,
  setInterval: timer(nativeSetInterval), clearInterval: clearTimer,
  setImmediate: (fn, ...args) => timer(nativeSetTimeout)(fn, 0, ...args), clearImmediate: clearTimer,
  Buffer, fetch, global: globalThis, require: requireModule, process: nodeProcess,
};
Object.defineProperty(globals.setTimeout, nodeUtil.promisify.custom, {
  value: (ms, value) => new Promise((resolve) => globals.setTimeout(resolve, ms, value)),
});
Object.defineProperty(globals.setImmediate, nodeUtil.promisify.custom, {
  value: (value) => new Promise((resolve) => globals.setImmediate(resolve, value)),
});
BUILTINS.timers = Object.freeze({
  setTimeout: globals.setTimeout, clearTimeout: clearTimer, setInterval: globals.setInterval,
  clearInterval: clearTimer, setImmediate: globals.setImmediate, clearImmediate: clearTimer,
  promises: nodeTimers.promises,
});
for (const [k, v] of Object.entries(globals)) {
  Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
}

globalThis.onmessage = (e) => {
  const m = e.data;
  if (m.op === 'run') { run(m); return; }
  if (m.op === 'fetched') {
    const ex = EX;
    const waiter = ex && ex.hostWaiters.get(m.fid);
    if (waiter) { ex.hostWaiters.delete(m.fid); waiter(m.resp); }
    return;
  }
  if (m.op === 'snapshot') {
    const ex = EX;
    post({ op: 'snapshot', snap: ex ? { logs: ex.logs, logsTruncated: ex.logsTruncated, cacheChanges: ex.cacheChanges, fetches: ex.fetches } : null });
    return;
  }
  if (m.op === 'define') define(m);
  else if (m.op === 'started_flag' && !startedRun) startedRun = m.flag;
};

// Compile the handler: its declared npm packages are imported first (from the cache filled at
// deploy time; the process runs with --cached-only), then the worker is locked down, then the
// code is compiled. A warm-up define (no source) leaves the worker open for the real one.
async function define(m) {
  if (m.warm) { post({ op: 'defined' }); return; }
  for (const dep of m.packages || []) {
    try {
      const mod = await import(`npm:${dep.name}@${dep.version}`);
      // A CommonJS package: its module.exports, as Node's require gives it. An ES module: its
      // namespace (or its default export when that holds every named one).
      if ('module.exports' in mod) packages[dep.name] = mod['module.exports'];
      else packages[dep.name] = mod.default !== undefined && Object.keys(mod).every((k) => k === 'default' || k in Object(mod.default)) ? mod.default : mod;
    } catch (err) {
      const message = `The dependency ${dep.name}@${dep.version} could not be loaded: ${String(err && err.message).split('\n')[0]}`;
      post({ op: 'defined', error: { name: 'Error', message, load: true } });
      return;
    }
  }
  try {
    lockDown();
  } catch (err) {
    post({ op: 'defined', error: { name: 'Error', message: `The sandbox could not be prepared: ${err && err.message}`, load: true } });
    return;
  }
  try {
    moduleObj = null;
    noImports(m.source);
    wrapper = (0, realEval)(`(function (exports, require, module, __filename, __dirname) {\n${m.source}\n})\n//# sourceURL=handler.js`);
    post({ op: 'defined' });
  } catch (err) {
    post({ op: 'defined', error: { name: String(err && err.name), message: String(err && err.message) } });
  }
}
