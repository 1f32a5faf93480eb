#!/usr/bin/env node
// Sidecar CPU per ingested LLM event, counted from /proc/<pid>/stat of the sidecar process (user +
// system, every thread), not wall clock: one event per request (what a notebook delivering each call
// on its own costs), then the same events in batches of 500. One sender, a kept-alive connection (the
// notebook's delivery); `--fresh-connections` also measures one TCP connection per request.
//   node bench/llm-ingest-cpu.mjs [--events 3000] [--warmup 200] [--node <node>] [--engine wasm|node] [--conversations 50] [--sse 1] [--malloc default]
//   [--node-flags '--cpu-prof --cpu-prof-dir=/tmp/prof'] (flags for the sidecar's Node)
// --sse 1 keeps one GET /events client (an open panel) reading the stream while events arrive.
// Runs the wheel's bundle (vigilo/sidecar/vigilo-sidecar.cjs, after `npm run build:node`);
// BENCH_SIDECAR_CJS=<copy of an older bundle> measures that build instead (before/after in one run).
// Prints one table; `--json` prints the figures as JSON too (test/sidecarCpu.spec.ts reads it).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliArgs, launcherEnv, procStatFields, ROOT } from './lib.mjs';

const args = cliArgs();
const total = Number(args.events ?? 3000);
const nodeBin = args.node ?? process.execPath;
const conversations = Number(args.conversations ?? 50);
const TOKEN = 'bench-token';
const USER_HZ = 100;

/** A chat call as the Python wrapper sends it: usage untouched, chain hashes, content captured. */
function event(i) {
  const hex = n => n.toString(16).padStart(64, '0');
  return {
    id: randomUUID(), provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18',
    startedAt: new Date().toISOString(), ttftMs: null, latencyMs: 800 + (i % 400), stream: false, status: 'ok', error: null,
    usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 0 } },
    usageEstimated: false, conversationId: null, fingerprint: hex(i % conversations), chain: [hex(1_000_000 + (i % conversations)), hex(2_000_000 + i)], replyHash: hex(3_000_000 + i),
    tags: {}, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: `Question number ${i}: what is the capital of France?` }],
    output: 'Paris.', sdk: { language: 'python', name: 'openai', version: '1.109.1' }
  };
}

/** CPU seconds (user + system) of a live process, all its threads. */
function cpuS(pid) {
  const f = procStatFields(pid);
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

async function startSidecar(env) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-cpu-'));
  const bundle = process.env.BENCH_SIDECAR_CJS || join(ROOT, 'vigilo', 'sidecar', 'vigilo-sidecar.cjs');
  const child = spawn(nodeBin, [...String(args['node-flags'] ?? '').split(' ').filter(Boolean), '-e', 'require(process.argv[1]).main(process.argv)', bundle, 'serve', '--port', '0', '--json', '--data-dir', dataDir], {
    env: { ...launcherEnv(args), ...process.env, VIGILO_TOKEN: TOKEN, VIGILO_INTERNET_PROBE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', code => reject(new Error(`sidecar exited ${code}`)));
  });
  const url = new URL(JSON.parse(line).url);
  return {
    pid: child.pid,
    port: Number(url.port),
    async stop() {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

function post(port, agent, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/llm/events', method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      res => {
        const chunks = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`POST /llm/events → ${res.statusCode}`))));
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sidecar CPU over sending `bodies` one after another; µs per event, with the idle CPU of the same wall time subtracted. */
async function measure(sc, bodies, events, agent, idleUsPerS) {
  const c0 = cpuS(sc.pid);
  const t0 = performance.now();
  let accepted = 0;
  for (const body of bodies) {
    accepted += (await post(sc.port, agent, body)).accepted;
  }
  const wallS = (performance.now() - t0) / 1000;
  // Work the sidecar defers past the last answer (debounced pushes) belongs to these events too.
  await new Promise(r => setTimeout(r, 300));
  const cpu = cpuS(sc.pid) - c0;
  if (accepted !== events) throw new Error(`accepted ${accepted} of ${events}`);
  const idleS = (idleUsPerS * (wallS + 0.3)) / 1e6;
  return { events, wallS, cpuS: cpu, usPerEvent: ((cpu - idleS) * 1e6) / events, perSecond: events / wallS };
}

export async function run({ env = {} } = {}) {
  const sc = await startSidecar(env);
  try {
    const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let sse = null;
    if ('sse' in args) {
      sse = http.get({ host: '127.0.0.1', port: sc.port, path: '/events', headers: { authorization: `Bearer ${TOKEN}` } }, res => res.resume());
      sse.on('error', () => undefined);
    }
    const single = Array.from({ length: total }, (_, i) => JSON.stringify({ events: [event(i)] }));
    const warm = Array.from({ length: Number(args.warmup ?? 200) }, (_, i) => JSON.stringify({ events: [event(total + i)] }));
    for (const body of warm) await post(sc.port, keep, body);
    // Idle CPU of this sidecar (collectors on their timers) over 2 s, subtracted from the figures below.
    await new Promise(r => setTimeout(r, 500));
    const i0 = cpuS(sc.pid);
    const it = performance.now();
    await new Promise(r => setTimeout(r, 2000));
    const idleUsPerS = ((cpuS(sc.pid) - i0) * 1e6) / ((performance.now() - it) / 1000);
    const rows = { idleUsPerS };
    rows.single = await measure(sc, single, total, keep, idleUsPerS);
    if ('fresh-connections' in args) {
      const fresh = Array.from({ length: Math.min(total, 1000) }, (_, i) => JSON.stringify({ events: [event(2 * total + i)] }));
      rows.fresh = await measure(sc, fresh, fresh.length, new http.Agent({ keepAlive: false }), idleUsPerS);
    }
    // Four events a request: the Python client's delivery for calls 0.25 s apart (one POST a second).
    const fours = [];
    for (let i = 0; i < total; i += 4) {
      fours.push(JSON.stringify({ events: Array.from({ length: Math.min(4, total - i) }, (_, k) => event(5 * total + i + k)) }));
    }
    rows.fours = await measure(sc, fours, total, keep, idleUsPerS);
    const batched = [];
    for (let i = 0; i < total * 4; i += 500) {
      batched.push(JSON.stringify({ events: Array.from({ length: Math.min(500, total * 4 - i) }, (_, k) => event(3 * total + i + k)) }));
    }
    rows.batched = await measure(sc, batched, total * 4, keep, idleUsPerS);
    sse?.destroy();
    return rows;
  } finally {
    await sc.stop();
  }
}

const engineEnv = args.engine ? { VIGILO_SQLITE: args.engine } : {};
const load = os.loadavg().map(l => l.toFixed(2)).join(' / ');
const r = await run({ env: engineEnv });
const loadAfter = os.loadavg().map(l => l.toFixed(2)).join(' / ');
const version = (await new Promise(res => {
  const c = spawn(nodeBin, ['--version']);
  let out = '';
  c.stdout.on('data', d => (out += d));
  c.on('exit', () => res(out.trim()));
}));
const f = (x, d = 0) => x.toFixed(d);
const lines = [
  `Sidecar CPU per ingested event (/proc/<pid>/stat, user + system), Node ${version}, engine ${args.engine ?? 'default'}, ${process.env.BENCH_SIDECAR_CJS ? `bundle ${process.env.BENCH_SIDECAR_CJS}` : 'vigilo/sidecar bundle'}; ${os.cpus().length} cores, load average ${load} before, ${loadAfter} after; idle sidecar ${f(r.idleUsPerS / 1e4, 2)} % of a core (subtracted)`,
  '',
  '| delivery | events | wall s | sidecar CPU s | **CPU µs / event** | events/s (one sender) |',
  '|---|---|---|---|---|---|',
  `| one event per request, kept-alive connection | ${r.single.events} | ${f(r.single.wallS, 2)} | ${f(r.single.cpuS, 2)} | **${f(r.single.usPerEvent)}** | ${f(r.single.perSecond)} |`,
  ...(r.fresh ? [`| one event per request, new connection each | ${r.fresh.events} | ${f(r.fresh.wallS, 2)} | ${f(r.fresh.cpuS, 2)} | **${f(r.fresh.usPerEvent)}** | ${f(r.fresh.perSecond)} |`] : []),
  `| batches of 4 (calls 0.25 s apart: one POST a second) | ${r.fours.events} | ${f(r.fours.wallS, 2)} | ${f(r.fours.cpuS, 2)} | **${f(r.fours.usPerEvent)}** | ${f(r.fours.perSecond)} |`,
  `| batches of 500 | ${r.batched.events} | ${f(r.batched.wallS, 2)} | ${f(r.batched.cpuS, 2)} | **${f(r.batched.usPerEvent)}** | ${f(r.batched.perSecond)} |`
];
console.log(lines.join('\n'));
if ('json' in args) {
  console.log(JSON.stringify({ node: version, engine: args.engine ?? 'default', load, ...r }));
}
