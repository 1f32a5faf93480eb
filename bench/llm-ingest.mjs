#!/usr/bin/env node
// The sidecar's LLM history at size, on one storage engine: ingest N events through POST /llm/events
// (batches of 500), then one-event requests at that size, then a restart with a 90-day retention that
// deletes the 90 % of them that are 120+ days old and gives their space back. Prints one table: ingest
// rate (wall and per sidecar CPU-second), sidecar CPU per one-event request, the database and its
// write-ahead log (largest seen, at the end, after retention), RSS idle / loaded / after.
//   node bench/llm-ingest.mjs [--events 100000] [--node <node>] [--engine wasm|node] [--senders 1] [--single 2000] [--retention-wait <s>] [--malloc default]
// Runs the wheel's bundle (vigilo/sidecar/vigilo-sidecar.cjs, `npm run build:node`) with the V8 flag the
// launcher passes (--max-semi-space-size=2) and its malloc settings (--malloc default: without them); BENCH_SIDECAR_CJS=<bundle> runs another build.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliArgs, launcherEnv, procStatFields, ROOT } from './lib.mjs';

const args = cliArgs();
const total = Number(args.events ?? 100_000);
const nodeBin = args.node ?? process.execPath;
const senders = Number(args.senders ?? 1);
const singles = Number(args.single ?? 2000);
const TOKEN = 'bench-token';
const DAY = 86_400_000;
const MB = 1024 * 1024;
const bundle = process.env.BENCH_SIDECAR_CJS || join(ROOT, 'vigilo', 'sidecar', 'vigilo-sidecar.cjs');
const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-ingest-'));
const size = f => statSync(join(dataDir, f), { throwIfNoEntry: false })?.size ?? 0;
const cpuS = pid => { const f = procStatFields(pid); return (Number(f[11]) + Number(f[12])) / 100; };
const rssMb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function start(env = {}) {
  const child = spawn(nodeBin, ['--max-semi-space-size=2', '-e', 'require(process.argv[1]).main(process.argv)', bundle, 'serve', '--port', '0', '--json', '--data-dir', dataDir], {
    env: { ...launcherEnv(args), ...process.env, VIGILO_TOKEN: TOKEN, VIGILO_INTERNET_PROBE: 'off', ...(args.engine ? { VIGILO_SQLITE: args.engine } : {}), ...env },
    stdio: ['ignore', 'pipe', process.env.BENCH_DEBUG ? 'inherit' : 'ignore']
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', code => reject(new Error(`sidecar exited ${code}`)));
  });
  const port = Number(new URL(JSON.parse(line).url).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: senders });
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const headers = { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) };
      const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers }, res => {
        const chunks = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`${method} ${path} → ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    child,
    request,
    stop: async () => {
      agent.destroy();
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
  };
}

/** Event i: the first 90 % are 120–150 days old (retention deletes them), the rest from the last week. */
function event(i, now) {
  const old = i < total * 0.9;
  const provider = ['openai', 'anthropic', 'google'][i % 3];
  const usage = provider === 'openai' ? { prompt_tokens: 1200, completion_tokens: 300 } : provider === 'anthropic' ? { input_tokens: 1200, output_tokens: 300 } : { promptTokenCount: 1200, candidatesTokenCount: 300 };
  const model = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5', google: 'gemini-2.5-flash' }[provider];
  return {
    id: randomUUID(), provider, operation: { openai: 'chat.completions', anthropic: 'messages', google: 'generateContent' }[provider], requestModel: model, responseModel: model,
    startedAt: new Date(now - (old ? 120 * DAY + (i % 30) * DAY : (i % 7) * DAY) - (i % 86_400) * 1000).toISOString(), ttftMs: null, latencyMs: 800 + (i % 400),
    stream: false, status: 'ok', error: null, usage, usageEstimated: false, conversationId: `conv-${i % 2000}`, fingerprint: null, tags: { bench: '1' },
    messages: [{ role: 'user', content: `Question number ${i}: what is the capital of France?` }], output: 'Paris.', sdk: { language: 'python', name: provider, version: '1.0' }
  };
}

const loadBefore = os.loadavg();
const version = await new Promise(res => {
  const c = spawn(nodeBin, ['--version']);
  let out = '';
  c.stdout.on('data', d => (out += d));
  c.on('exit', () => res(out.trim()));
});
const rows = [];
const row = (what, value) => rows.push(`| ${what} | ${value} |`);
try {
  let sc = await start();
  const status = await sc.request('GET', '/status');
  const engine = status.lifecycle?.storageEngine ?? args.engine ?? 'default';
  await sleep(3000);
  row('RSS idle, empty history', `${rssMb(sc.child.pid).toFixed(0)} MB`);

  const now = Date.now();
  let next = 0;
  let maxWal = 0;
  let maxRss = 0;
  const c0 = cpuS(sc.child.pid);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: senders }, async () => {
    while (next < total) {
      const from = next;
      const n = Math.min(500, total - from);
      next += n;
      await sc.request('POST', '/llm/events', JSON.stringify({ events: Array.from({ length: n }, (_, k) => event(from + k, now)) }));
      if ((from / 500) % 10 === 0) {
        maxWal = Math.max(maxWal, size('llm.sqlite-wal'));
        maxRss = Math.max(maxRss, rssMb(sc.child.pid));
      }
    }
  }));
  const ingestS = (performance.now() - t0) / 1000;
  const ingestCpu = cpuS(sc.child.pid) - c0;
  maxWal = Math.max(maxWal, size('llm.sqlite-wal'));
  row(`ingest ${total.toLocaleString('en')} events, batches of 500, ${senders} sender(s)`, `**${Math.round(total / ingestS).toLocaleString('en')} ev/s** wall (${ingestS.toFixed(1)} s); ${Math.round(total / ingestCpu).toLocaleString('en')} per sidecar CPU-second`);

  const s0 = cpuS(sc.child.pid);
  const st = performance.now();
  for (let i = 0; i < singles; i++) {
    await sc.request('POST', '/llm/events', JSON.stringify({ events: [event(total + i, now + DAY)] }));
  }
  const singleS = (performance.now() - st) / 1000;
  row(`then ${singles} one-event requests, 1 sender`, `**${Math.round(((cpuS(sc.child.pid) - s0) * 1e6) / singles)} µs** sidecar CPU per event; ${Math.round(singles / singleS)} /s wall`);
  maxRss = Math.max(maxRss, rssMb(sc.child.pid));
  row('RSS during ingest (largest sample)', `${maxRss.toFixed(0)} MB`);
  // V8 gives the heap of the large request bodies back after a few idle seconds (its memory reducer).
  await sleep(5000);
  const rss5 = rssMb(sc.child.pid);
  await sleep(25_000);
  row(`RSS idle after, ${(total + singles).toLocaleString('en')} calls stored: 5 s / 30 s after the load`, `${rss5.toFixed(0)} MB / ${rssMb(sc.child.pid).toFixed(0)} MB`);
  row('write-ahead log: largest seen / at the end', `${(maxWal / MB).toFixed(1)} MB / ${(size('llm.sqlite-wal') / MB).toFixed(1)} MB`);
  const fullDb = size('llm.sqlite');
  row('database file at the end', `${(fullDb / MB).toFixed(0)} MB`);
  await sc.stop();

  // Restart with the default 90-day retention: the 90 % older than that go, and their space with them.
  const r0 = performance.now();
  sc = await start({ VIGILO_LLM_RETENTION_DAYS: '90' });
  // Done when the log is truncated: the last step after the space went back (the file's size does not
  // move while rows are deleted, only once their pages are given back). Read here; GET /status
  // `database` says the same. A build without that step: --retention-wait <s> instead.
  const wait = Number(args['retention-wait'] ?? 0);
  for (let i = 0; i < (wait || 1800); i++) {
    await sleep(1000);
    if (!wait && size('llm.sqlite-wal') === 0) break;
  }
  const db = { dbBytes: size('llm.sqlite'), walBytes: size('llm.sqlite-wal') };
  row('after a restart with 90-day retention (90 % of the calls older)', `database ${(db.dbBytes / MB).toFixed(0)} MB (from ${(fullDb / MB).toFixed(0)}), write-ahead log ${(db.walBytes / MB).toFixed(1)} MB, done in ${((performance.now() - r0) / 1000).toFixed(0)} s; RSS ${rssMb(sc.child.pid).toFixed(0)} MB`);
  await sc.stop();
  const loadAfter = os.loadavg();
  const f = l => l.map(x => x.toFixed(1)).join(' / ');
  console.log([
    `Node ${version}, engine ${engine}, ${os.cpus().length} cores; load average ${f(loadBefore)} before, ${f(loadAfter)} after${Math.max(...loadBefore, ...loadAfter) > 1.5 ? ' (taken under load)' : ''}`,
    '',
    '| figure | value |',
    '|---|---|',
    ...rows
  ].join('\n'));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
