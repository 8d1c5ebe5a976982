// Runs the benchmark handler in plain Node.js with its native fetch: the baseline.
// argv: handler file, gateway url, max executions per phase, max seconds per phase, concurrency.
'use strict';
const fs = require('fs');
const [file, url, maxCount, maxSeconds, concurrency] = process.argv.slice(2);
const mod = { exports: {} };
new Function('exports', 'require', 'module', fs.readFileSync(file, 'utf8'))(mod.exports, require, mod);
const handler = mod.exports.onExecuteCustomPhoneProvider;
const event = JSON.parse(fs.readFileSync(file + '.event.json', 'utf8'));
event.secrets.GATEWAY_URL = url;

async function once() {
  let status = 'delivered';
  const api = { notification: { drop: () => { status = 'drop'; }, retry: () => { status = 'retry'; } }, cache: {} };
  await handler(JSON.parse(JSON.stringify(event)), api);
  if (status !== 'delivered') throw new Error(status);
}

async function phase(workers) {
  const limit = Number(maxCount), deadline = Date.now() + Number(maxSeconds) * 1000;
  let done = 0, started = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (started < limit && Date.now() < deadline) { started++; await once(); done++; }
  }
  await Promise.all(Array.from({ length: workers }, worker));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { count: done, seconds: s, per_second: done / s };
}

(async () => {
  for (let i = 0; i < 200; i++) await once();  // warm-up: JIT, connection pool
  const sequential = await phase(1);
  const concurrent = await phase(Number(concurrency));
  process.stdout.write(JSON.stringify({ sequential, concurrent }) + '\n');
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
