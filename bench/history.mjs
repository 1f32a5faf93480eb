#!/usr/bin/env node
// LLM history at size: for each stored-call count, seed the history (LlmStore.insert, 5000 per
// transaction), start the real sidecar on it and measure
//   - every /llm/* read: p50 / p99 / max over 20 requests (and the first, cold, request),
//   - ingest through POST /llm/events: batches of 500 (2 senders) and one event per request (8 senders),
//   - event-loop delay inside the sidecar (perf_hooks.monitorEventLoopDelay via bench/history-probe.cjs)
//     and RSS, while ingest and reads run together;
// then (--kills N) N kill -9s of a sidecar at random moments under load: restarts and acknowledged events lost.
//   node bench/history.mjs [--sizes 10000,100000] [--kills 100] [--node /path/to/node] [--node-flags '--max-semi-space-size=2']
// Needs the build: npx tsc -p tsconfig.node.json. --node picks the Node that runs the sidecar (engine:
// node:sqlite on Node >= 22.13, else WASM); VIGILO_SQLITE=wasm forces the WASM engine.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliArgs, procUsage, ROOT, summary } from './lib.mjs';

const args = cliArgs();
const sizes = String(args.sizes ?? '10000,100000').split(',').map(Number).filter(n => n > 0);
const kills = Number(args.kills ?? 0);
const nodeBin = args.node ?? process.execPath;
const TOKEN = 'bench-token';
const fmt = v => (v < 10 ? v.toFixed(2) : v.toFixed(0));

function seed(dataDir, n) {
  const r = spawnSync(nodeBin, [join(ROOT, 'bench', 'history-seed.cjs'), 'seed', dataDir, String(n)], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`seed failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function start(dataDir, probeFile) {
  const child = spawn(nodeBin, [join(ROOT, 'bin', 'vigilo.js'), 'serve', '--port', '0', '--json', '--data-dir', dataDir], {
    env: { ...process.env, VIGILO_TOKEN: TOKEN, VIGILO_INTERNET_PROBE: 'off', VIGILO_BENCH_PROBE: probeFile ?? '', NODE_OPTIONS: `--require ${join(ROOT, 'bench', 'history-probe.cjs')} ${args['node-flags'] ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let err = '';
  child.stderr.on('data', c => (err += c));
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', code => reject(new Error(`sidecar exited ${code}: ${err}`)));
  });
  return { child, url: JSON.parse(line).url, stderr: () => err };
}

function stop(child) {
  child.kill('SIGTERM');
  return new Promise(r => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
}

// node:http with keep-alive: a lighter client than fetch, so on a small machine the figures are the sidecar's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) };
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function timed(url) {
  const t = performance.now();
  const r = await request('GET', url);
  if (r.status !== 200) throw new Error(`${url} → ${r.status} ${r.text.slice(0, 200)}`);
  return performance.now() - t;
}

function event(i) {
  const provider = ['openai', 'anthropic', 'google'][i % 3];
  const usage = provider === 'openai' ? { prompt_tokens: 1200, completion_tokens: 300 } : provider === 'anthropic' ? { input_tokens: 1200, output_tokens: 300 } : { promptTokenCount: 1200, candidatesTokenCount: 300 };
  const model = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5', google: 'gemini-2.5-flash' }[provider];
  return {
    id: randomUUID(), provider, operation: { openai: 'chat.completions', anthropic: 'messages', google: 'generateContent' }[provider], requestModel: model, responseModel: model, startedAt: new Date().toISOString(), ttftMs: null,
    latencyMs: 800 + (i % 400), stream: false, status: 'ok', error: null, usage, usageEstimated: false, conversationId: `live-${i % 100}`, fingerprint: null,
    tags: { bench: '1' }, messages: [{ role: 'user', content: `Question ${i}` }], output: 'Paris.', sdk: { language: 'python', name: provider, version: '1.0' }
  };
}

async function post(url, events) {
  const r = await request('POST', `${url}/llm/events`, JSON.stringify({ events }));
  if (r.status !== 200) throw new Error(`POST /llm/events → ${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text);
}

/** Send `total` events in requests of `batch` from `senders` concurrent clients; events/s. */
async function ingest(url, total, batch, senders) {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: senders }, async () => {
    while (next < total) {
      const n = Math.min(batch, total - next);
      const from = next;
      next += n;
      await post(url, Array.from({ length: n }, (_, k) => event(from + k)));
    }
  }));
  return total / ((performance.now() - t) / 1000);
}

const probe = file => JSON.parse(readFileSync(file, 'utf8'));
/**
 * A control: an idle Node process with the same probe. On a shared machine the
 * scheduler alone delays an idle event loop; its figures are the noise floor
 * the sidecar's are read against.
 */
let control = null;
const resetProbe = async (child, file) => {
  child.kill('SIGUSR2');
  control?.child.kill('SIGUSR2');
  await new Promise(r => setTimeout(r, 300));
  return probe(file);
};
const loopLine = (what, p) => {
  const c = control ? probe(control.file) : null;
  return `event loop ${what}: p99 ${fmt(p.p99Ms)} ms, max ${fmt(p.maxMs)} ms${c ? ` (idle control process meanwhile: p99 ${fmt(c.p99Ms)} ms, max ${fmt(c.maxMs)} ms)` : ''}`;
};

async function atSize(n) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-history-'));
  const probeFile = join(dataDir, 'probe.json');
  let sc = null;
  try {
    const seeded = seed(dataDir, n);
    console.log(`\n## ${n.toLocaleString('en-US')} stored calls (engine ${seeded.engine}, seeded at ${Math.round(seeded.perSecond).toLocaleString('en-US')} calls/s)`);
    const t0 = performance.now();
    sc = await start(dataDir, probeFile);
    console.log(`start on the seeded history: ${fmt(performance.now() - t0)} ms`);
    const reads = [
      ['/llm/usage', '/llm/usage'],
      ['/llm/cost', '/llm/cost'],
      ['/llm/cost?days=90', '/llm/cost?days=90'],
      ['/llm/conversations', '/llm/conversations'],
      ['/llm/health/{id}', '/llm/health/conv-7'],
      ['/llm/calls?limit=100', '/llm/calls?limit=100'],
      ['/llm/calls?conversationId=…', '/llm/calls?conversationId=conv-7&limit=50'],
      ['/llm/conversations/{id}/summary', '/llm/conversations/conv-7/summary'],
      ['/llm/conversations/{id}/messages', '/llm/conversations/conv-7/messages'],
      ['/llm/budgets', '/llm/budgets'],
      ['/llm/pricing', '/llm/pricing']
    ];
    await resetProbe(sc.child, probeFile);
    console.log('| read | cold ms | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|');
    for (const [name, path] of reads) {
      const cold = await timed(sc.url + path);
      const s = summary(await (async () => { const v = []; for (let k = 0; k < 20; k++) v.push(await timed(sc.url + path)); return v; })());
      console.log(`| ${name} | ${fmt(cold)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} |`);
    }
    const afterReads = probe(probeFile);
    console.log(loopLine('during reads', afterReads));

    await resetProbe(sc.child, probeFile);
    // The sidecar's own CPU seconds per phase (/proc): events per CPU-second do not depend on what else runs on the machine.
    const cpu = () => procUsage(sc.child.pid).cpuS;
    let c0 = cpu();
    const batched = await ingest(sc.url, 20000, 500, 2);
    const batchedCpu = 20000 / (cpu() - c0);
    c0 = cpu();
    const single = await ingest(sc.url, 3000, 1, 8);
    const singleCpu = 3000 / (cpu() - c0);
    const singleSeq = await ingest(sc.url, 1000, 1, 1);
    const afterIngest = probe(probeFile);
    const k = v => Math.round(v).toLocaleString('en-US');
    console.log(`ingest: batches of 500 × 2 senders ${k(batched)} events/s (${k(batchedCpu)} per sidecar CPU-second); one event per request × 8 senders ${k(single)}/s (${k(singleCpu)} per CPU-second), × 1 sender ${k(singleSeq)}/s`);
    console.log(loopLine('during ingest', afterIngest));

    // Mixed: 4 single-event senders and 1 batch sender while a reader walks every endpoint.
    await resetProbe(sc.child, probeFile);
    let stopReads = false;
    const readLat = [];
    const reader = (async () => {
      while (!stopReads) for (const [, path] of reads) readLat.push(await timed(sc.url + path));
    })();
    const mixed = await Promise.all([ingest(sc.url, 2000, 1, 4), ingest(sc.url, 10000, 500, 1)]);
    stopReads = true;
    await reader;
    const afterMixed = probe(probeFile);
    const rl = summary(readLat);
    console.log(`mixed load (reads + ${Math.round(mixed[0])} single/s + ${Math.round(mixed[1])} batched/s): reads p50 ${fmt(rl.p50)} ms p99 ${fmt(rl.p99)} ms max ${fmt(rl.max)} ms; RSS ${Math.round(afterMixed.rss / 1048576)} MB (max ${Math.round(Math.max(afterReads.maxRss, afterIngest.maxRss, afterMixed.maxRss) / 1048576)} MB; V8 heap ${Math.round(afterMixed.heapTotal / 1048576)} MB of which used ${Math.round(afterMixed.heapUsed / 1048576)} MB, external ${Math.round(afterMixed.external / 1048576)} MB)`);
    console.log(loopLine('during mixed load', afterMixed));
  } finally {
    if (sc) await stop(sc.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function killLoop(rounds) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-kill-'));
  const idsFile = join(dataDir, 'acknowledged.txt');
  const acknowledged = [];
  let restarts = 0;
  let failedStarts = 0;
  const startErrors = [];
  try {
    seed(dataDir, 10000);
    for (let round = 0; round < rounds; round++) {
      let sc;
      try {
        sc = await start(dataDir);
        restarts++;
      } catch (error) {
        failedStarts++;
        startErrors.push(String(error.message).split('\n')[0]);
        continue;
      }
      let dead = false;
      // Three senders (two single-event, one batch of 50) until the kill.
      const sender = async batch => {
        let i = 0;
        while (!dead) {
          const events = Array.from({ length: batch }, () => event(i++));
          try {
            const r = await post(sc.url, events);
            if (r.accepted + r.duplicates === events.length) acknowledged.push(...events.map(e => e.id));
          } catch {
            return; // the connection died with the process: those events were never acknowledged
          }
        }
      };
      const senders = [sender(1), sender(1), sender(50)];
      // At a random moment once this sidecar has acknowledged writes (a slow start is not what is tested).
      const before = acknowledged.length;
      for (let i = 0; i < 1000 && acknowledged.length === before; i++) await new Promise(r => setTimeout(r, 10));
      await new Promise(r => setTimeout(r, Math.random() * 400));
      dead = true;
      sc.child.kill('SIGKILL');
      await new Promise(r => sc.child.once('exit', r));
      await Promise.all(senders);
    }
    writeFileSync(idsFile, acknowledged.join('\n'));
    const check = spawnSync(nodeBin, [join(ROOT, 'bench', 'history-seed.cjs'), 'check', dataDir, idsFile], { encoding: 'utf8', env: process.env });
    const { found, engine } = JSON.parse(check.stdout);
    console.log(`\n## kill -9 under load (engine ${engine}): ${rounds} kills, ${restarts} restarts, ${failedStarts} failed starts${startErrors.length ? ` (${[...new Set(startErrors)].join('; ')})` : ''}; ${acknowledged.length.toLocaleString('en-US')} acknowledged events, ${acknowledged.length - found} lost`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const v = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`load average before the run: ${(await import('node:os')).loadavg().map(l => l.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores`);
console.log(`bench/history.mjs — sidecar on Node ${v}${process.env.VIGILO_SQLITE ? ` (VIGILO_SQLITE=${process.env.VIGILO_SQLITE})` : ''}, ${new Date().toISOString().slice(0, 16)}Z`);
const controlFile = join(mkdtempSync(join(tmpdir(), 'vigilo-control-')), 'probe.json');
control = { file: controlFile, child: spawn(process.execPath, ['--require', join(ROOT, 'bench', 'history-probe.cjs'), '-e', 'setInterval(() => {}, 1000)'], { env: { ...process.env, VIGILO_BENCH_PROBE: controlFile }, stdio: 'ignore' }) };
await new Promise(r => setTimeout(r, 500));
try {
  for (const n of sizes) await atSize(n);
} finally {
  control.child.kill();
}
if (kills > 0) await killLoop(kills);
