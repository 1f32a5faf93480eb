#!/usr/bin/env node
// Events per second the sidecar ingests and persists (POST /llm/events → SQLite), batches of 500,
// sequential and with 4 concurrent senders.   node bench/llm-ingest.mjs [--events 20000]
// Needs the build: npx tsc -p tsconfig.node.json
import { randomUUID } from 'node:crypto';
import { cliArgs, startSidecar } from './lib.mjs';
import { machine, writeSection } from './llm-lib.mjs';

const args = cliArgs();
const total = Number(args.events ?? 20000);
const batch = 500;

function event(i) {
  return {
    id: randomUUID(), provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18',
    startedAt: new Date(Date.now() - (i % 86400) * 1000).toISOString(), ttftMs: null, latencyMs: 800 + (i % 400), stream: false, status: 'ok', error: null,
    usage: { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } }, usageEstimated: false,
    conversationId: `conv-${i % 50}`, fingerprint: null, tags: { bench: '1' },
    messages: [{ role: 'user', content: `Question number ${i}: what is the capital of France?` }], output: 'Paris.',
    sdk: { language: 'typescript', name: 'openai', version: '6.49.0' }
  };
}

async function run(senders) {
  const sidecar = await startSidecar();
  const post = body => fetch(`${sidecar.url}/llm/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${sidecar.token}` }, body });
  const bodies = [];
  for (let i = 0; i < total; i += batch) {
    bodies.push(JSON.stringify({ events: Array.from({ length: Math.min(batch, total - i) }, (_, k) => event(i + k)) }));
  }
  try {
    let next = 0;
    let accepted = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: senders }, async () => {
      while (next < bodies.length) {
        const r = await post(bodies[next++]);
        accepted += (await r.json()).accepted;
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const usage = await (await fetch(`${sidecar.url}/llm/usage`, { headers: { authorization: `Bearer ${sidecar.token}` } })).json();
    return { senders, accepted, stored: usage.calls, seconds, rate: accepted / seconds };
  } finally {
    await sidecar.stop();
  }
}

const results = [await run(1), await run(4)];
const lines = [
  `Machine: ${machine()}. ${total} events (with message content) per run, batches of ${batch}, into a fresh data dir; sidecar as a child process with every module.`,
  '',
  '| senders | accepted | read back (GET /llm/usage) | seconds | events/s |',
  '|---|---|---|---|---|',
  ...results.map(r => `| ${r.senders} | ${r.accepted} | ${r.stored} | ${r.seconds.toFixed(2)} | **${Math.round(r.rate)}** |`)
];
console.log(lines.join('\n'));
writeSection('Ingest', lines);
