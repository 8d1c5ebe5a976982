// The Deno runtime process: started by runtime/_deno.py, it talks JSON lines over stdin/stdout
// (driven by runtime/_process.py):
//   parent -> here   {op: 'init', worker_source, max_contexts}  once, first: the context code
//                    (worker.js) and how many warm contexts to keep
//                    {op: 'exec', id, key, source, ...}   one execution (several may be in
//                                                         flight: each runs in its own worker)
//                    {op: 'fetch_result', id, fid, resp}  answer to a host fetch
//                    {op: 'exit'}
//   here -> parent   {op: 'ready'}, {op: 'fetch', id, fid, timeout_s, req}, {op: 'result', id, ...}
// This thread never runs handler code: every context is a Web Worker (its own isolate and
// realm) running one execution at a time: a context key has as many as it has executions in
// flight, kept warm between them. So this thread stays free to enforce deadlines and can stop a
// runaway context with terminate() without losing the process. A heap blow-up still aborts the
// whole process (V8's limit is process-wide); the parent reads that death as "memory".
const IDLE_CHECK_MS = 1000;
const SNAPSHOT_WAIT_MS = 300;
let maxContexts = 8; // warm contexts kept between executions (the init message may raise it)
const encoder = new TextEncoder();
// Straight reads and writes on the pipe (Deno's stream wrappers cost more per message than the
// rest of a warm execution's hops). Messages go out whole and in order: each write waits for
// the previous one, which may have taken several partial writes.
let writing = Promise.resolve();
async function writeAll(bytes) {
  while (bytes.length) bytes = bytes.subarray(await Deno.stdout.write(bytes));
}
const send = (msg) => {
  const bytes = encoder.encode(JSON.stringify(msg) + '\n');
  writing = writing.then(() => writeAll(bytes));
  return writing;
};

let workerUrl = null;
// A worker busy in a loop does not stop when terminated: its thread keeps a core busy for
// seconds and its memory is not given back. Once one is left behind, this process says so with
// the execution in hand (`recycle`): the caller sends it nothing more, lets the executions still
// in flight finish, and then stops it (the process is the hard wall).
let runawayLeft = false;
let spare = null;
const idle = new Map(); // key -> [Context] warm and free, the key's most recent last; keys LRU
let idleCount = 0;
const running = new Map(); // exec id -> Context

// A warm context of `key` that holds this code, or null (contexts of other code are dropped).
function takeIdle(key, req) {
  const list = idle.get(key);
  if (!list) return null;
  const packages = JSON.stringify(req.packages || []);
  let found = null;
  while (list.length && !found) {
    const ctx = list.pop();
    idleCount--;
    if (!ctx.dead && ctx.source === req.source && ctx.packages === packages) found = ctx;
    else ctx.kill();
  }
  if (!list.length) idle.delete(key);
  return found;
}

function putIdle(key, ctx) {
  if (ctx.dead) return;
  const list = idle.get(key) || [];
  idle.delete(key);
  idle.set(key, list);
  list.push(ctx);
  idleCount++;
  while (idleCount > maxContexts) {
    const [oldKey, oldList] = idle.entries().next().value;
    oldList.shift().kill();
    idleCount--;
    if (!oldList.length) idle.delete(oldKey);
  }
}

class Context {
  constructor() {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.waiters = [];
    this.exec = null;
    this.queue = Promise.resolve();
    this.dead = false;
    this.source = null;
    this.runs = 0;
    // The worker writes the number of the run it has started here: whether it took up the
    // execution in hand can be read without a message back (one thread hop less per execution).
    this.startedRun = new Int32Array(new SharedArrayBuffer(4));
    this.worker.onmessage = (e) => this.onMessage(e.data);
    this.worker.onerror = (e) => { e.preventDefault(); this.kill(); };
    this.worker.postMessage({ op: 'started_flag', flag: this.startedRun });
  }
  onMessage(m) {
    if (m.op === 'fetch' && this.exec) {
      const { id, timeoutS } = this.exec;
      send({ op: 'fetch', id, fid: m.fid, timeout_s: timeoutS, req: m.req });
      return;
    }
    const i = this.waiters.findIndex((w) => w.op === m.op);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
  }
  // The next message `op` from the worker, or null after `ms`. The timer is cleared when the
  // message comes: thousands of executions a second must not leave thousands of timers behind.
  next(op, ms) {
    return new Promise((resolve) => {
      let timer = null;
      const waiter = { op, resolve: (m) => { if (timer !== null) clearTimeout(timer); resolve(m); } };
      this.waiters.push(waiter);
      if (ms !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) { this.waiters.splice(i, 1); resolve(null); }
        }, Math.max(0, ms));
      }
    });
  }
  kill() {
    if (this.dead) return;
    this.dead = true;
    this.worker.terminate();
    for (const w of this.waiters.splice(0)) w.resolve(null);
  }
}

const PENDING = Symbol('pending');
// `promise`'s value, or PENDING after `ms` (the timer is cleared when the value comes first).
function within(promise, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(PENDING), Math.max(0, ms));
    promise.then((v) => { clearTimeout(timer); resolve(v); });
  });
}

function takeSpare() {
  const ctx = spare || new Context();
  spare = null;
  setTimeout(() => { if (!spare) spare = new Context(); }, 0);
  return ctx;
}

// V8 does not say where code that fails to compile stops parsing; the caller asks Deno's
// parser (runtime/validate.py) and adds the line and column.
const syntaxError = (message) => ({ name: 'SyntaxError', message, stack: '' });

const memoryMessage = (l) => `The handler used more memory than allowed (${l.memory_mb} MB) and was stopped.`;

function fill(res, r, limits) {
  res.logs = r.logs || [];
  res.logs_truncated = !!r.logsTruncated;
  res.cache_changes = r.cacheChanges || {};
  res.fetches = r.fetches || [];
  if (r.limitHit === 'fetch_limit') {
    const n = limits.max_fetches;
    res.status = 'error';
    res.error_kind = 'fetch_limit';
    res.reason = `The handler made more than ${n} fetch requests; an execution may make at most ${n}.`;
    res.error = { name: 'Error', message: res.reason, stack: '' };
    return;
  }
  let error = r.error;
  if (error) {
    let kind = { missing: 'load', not_async: 'load', throw: 'load' }[r.loadError] || 'runtime';
    if (error.name === 'RangeError' && /allocation failed/.test(error.message || '')) {
      error = { ...error, message: `${memoryMessage(limits)} (${error.message})` };
      Object.assign(res, { status: 'error', error_kind: 'memory', error, reason: error.message });
      return;
    }
    if (error.nonError) kind = 'runtime';
    delete error.nonError;
    const reason = kind === 'load' ? error.message : `${error.name}: ${error.message}`;
    Object.assign(res, { status: 'error', error_kind: kind, error, reason });
    return;
  }
  const outcome = r.outcome || { status: 'delivered', reason: '' };
  res.status = outcome.status || 'delivered';
  res.reason = outcome.reason || '';
}

async function boot(req, deadline) {
  const ctx = takeSpare();
  ctx.source = req.source;
  ctx.packages = JSON.stringify(req.packages || []);
  ctx.worker.postMessage({ op: 'define', source: req.source, packages: req.packages || [] });
  const defined = await ctx.next('defined', deadline - Date.now());
  if (!defined) { ctx.kill(); return { timeout: true }; }
  if (defined.error && defined.error.load) {
    ctx.kill();
    return { load: { name: 'Error', message: defined.error.message, stack: '' } };
  }
  if (defined.error) {
    ctx.kill();
    return { syntax: syntaxError(defined.error.message) };
  }
  return { ctx };
}

async function execute(req) {
  const limits = req.limits;
  const started = Date.now();
  const deadline = started + limits.timeout_s * 1000;
  const res = { op: 'result', id: req.id, stats: {} };
  let bootMs = 0;
  let ctx = takeIdle(req.key, req);
  const warm = !!ctx;
  for (let attempt = 0; ; attempt++) {
    if (!ctx) {
      const t = performance.now();
      const b = await boot(req, deadline);
      bootMs += performance.now() - t;
      if (b.syntax) {
        Object.assign(res, { status: 'error', error_kind: 'syntax', reason: b.syntax.message, error: b.syntax });
        res.stats = { boot_ms: bootMs, execution_ms: 0, fetch_ms: 0, warm };
        return res;
      }
      if (b.load) {
        Object.assign(res, { status: 'error', error_kind: 'load', reason: b.load.message, error: b.load });
        res.stats = { boot_ms: bootMs, execution_ms: 0, fetch_ms: 0, warm };
        return res;
      }
      if (b.timeout) return timedOut(res, null, limits, started, bootMs, warm);
      ctx = b.ctx;
    }
    const t = performance.now();
    ctx.exec = { id: req.id, timeoutS: limits.fetch_timeout_s };
    running.set(req.id, ctx);
    const run = ctx.runs = (ctx.runs % 0x7fffffff) + 1; // stays an Int32
    const done = ctx.next('done', deadline - Date.now());
    ctx.worker.postMessage({
      op: 'run', run, trigger: req.trigger, event: req.event, cache: req.cache || {}, dry_run: req.dry_run,
      host_fetch: req.host_fetch, policy: req.policy, limits,
    });
    // Code a previous execution left running (an un-awaited loop) keeps the worker from
    // starting this one: replace the worker and run this execution on a fresh one.
    let msg = await within(done, Math.min(IDLE_CHECK_MS, deadline - Date.now()));
    if ((msg === PENDING || msg === null) && Atomics.load(ctx.startedRun, 0) !== run) {
      runawayLeft = true;
      running.delete(req.id);
      ctx.kill();
      ctx = null;
      if (attempt === 0 && Date.now() < deadline) continue;
      return timedOut(res, null, limits, started, bootMs, warm);
    }
    if (msg === PENDING) msg = await done;
    running.delete(req.id);
    ctx.exec = null;
    if (!msg) return timedOut(res, ctx, limits, started, bootMs, warm);
    const r = msg.result;
    fill(res, r, limits);
    const loadMs = r.loadMs || 0;
    res.stats = {
      boot_ms: Math.round((bootMs + loadMs) * 1000) / 1000,
      execution_ms: Math.max(0, Math.round((performance.now() - t - loadMs) * 1000) / 1000),
      fetch_ms: Math.round((r.fetchMs || 0) * 1000) / 1000,
      warm,
    };
    if (res.status === 'error') ctx.kill();
    else putIdle(req.key, ctx);
    return res;
  }
}

async function timedOut(res, ctx, limits, started, bootMs, warm) {
  if (ctx) {
    // A never-settling promise leaves the worker idle: keep what it logged. A busy one
    // (a loop) gives nothing back in time, which is fine.
    ctx.worker.postMessage({ op: 'snapshot' });
    const snap = await ctx.next('snapshot', SNAPSHOT_WAIT_MS);
    if (!snap) runawayLeft = true;
    if (snap && snap.snap) {
      res.logs = snap.snap.logs || [];
      res.logs_truncated = !!snap.snap.logsTruncated;
      res.cache_changes = snap.snap.cacheChanges || {};
      res.fetches = snap.snap.fetches || [];
    }
    ctx.kill();
  }
  res.status = 'error';
  res.error_kind = 'timeout';
  res.reason = `The handler did not finish within ${limits.timeout_s} s and was stopped.`;
  res.error = { name: 'Error', message: res.reason, stack: '' };
  res.stats = { boot_ms: bootMs, execution_ms: Date.now() - started, fetch_ms: 0, warm };
  return res;
}

async function handle(msg) {
  if (msg.op === 'exec') {
    let res;
    try {
      res = await execute(msg);
    } catch (e) {
      res = { op: 'result', id: msg.id, status: 'error', error_kind: 'crashed', reason: `The sandbox failed: ${e && e.message}`, stats: {}, recycle: true };
    }
    if (runawayLeft) res.recycle = true;
    await send(res);
  } else if (msg.op === 'fetch_result') {
    const ctx = running.get(msg.id);
    if (ctx && !ctx.dead) ctx.worker.postMessage({ op: 'fetched', fid: msg.fid, resp: msg.resp });
  } else if (msg.op === 'init') {
    if (msg.max_contexts > maxContexts) maxContexts = msg.max_contexts;
    workerUrl = URL.createObjectURL(new Blob([msg.worker_source], { type: 'application/javascript' }));
    spare = new Context();
    // Warm the engine (a worker's first start pays for loading the Node modules) before ready.
    spare.worker.postMessage({ op: 'define', warm: true });
    await spare.next('defined');
    await send({ op: 'ready', pid: Deno.pid });
  } else if (msg.op === 'exit') {
    Deno.exit(0);
  }
}

let buffered = '';
const decoder = new TextDecoder();
const chunk = new Uint8Array(1 << 16);
for (;;) {
  const n = await Deno.stdin.read(chunk);
  if (n === null) break;
  buffered += decoder.decode(chunk.subarray(0, n), { stream: true });
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line.trim()) handle(JSON.parse(line));
  }
}
Deno.exit(0);
