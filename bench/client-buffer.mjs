// The TypeScript client's buffer bounds while no sidecar answers (issue 17.3).
//
//   npx tsc -p tsconfig.node.json && node --expose-gc bench/client-buffer.mjs [--calls 3000]
//
// Real OpenAI SDK calls (wrapped) against a loopback fake provider, with the sidecar down:
// the first 2000 events (maxBufferedEvents) stay in memory, the rest go to <data dir>/outbox.
// Prints the heap the buffer holds, the bytes per event on disk, and what the 64 MiB
// outbox bound means in events, and the wall and CPU time per whole wrapped call (this process: SDK, fake
// provider, wrapper) while the buffer fills and while it spills. Message content is captured (the default), 2 short messages a call.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const OpenAI = require('openai').default ?? require('openai');
const vigilo = require('../dist/client/index.js');

const calls = Number(process.argv[process.argv.indexOf('--calls') + 1] || 3000);
const reply = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'A short answer of about forty characters.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 120, completion_tokens: 12, total_tokens: 132 }
});
const provider = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(reply));
});
await new Promise(r => provider.listen(0, '127.0.0.1', r));
const dir = mkdtempSync(join(tmpdir(), 'vigilo-bench-buffer-'));
vigilo.configure({ dataDir: dir, flushIntervalMs: 3_600_000 }); // no sidecar.json in dir: nothing answers
const client = vigilo.wrap(new OpenAI({ apiKey: 'sk-bench', baseURL: `http://127.0.0.1:${provider.address().port}/v1`, maxRetries: 0 }));
const ask = i => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Question number ${i}: what is the capital of France?` }] });

// Warm the SDK and the wrapper, then measure from a collected heap.
for (let i = 0; i < 50; i++) await client.chat.completions.create(ask(i));
await vigilo.flush();
globalThis.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const buffered0 = vigilo.stats().buffered;
const tm = performance.now();
const cm = process.cpuUsage();
for (let i = 0; i < 2000 - buffered0; i++) await client.chat.completions.create(ask(i));
const memoryMs = performance.now() - tm;
const memoryCpu = process.cpuUsage(cm);
globalThis.gc?.();
const heap1 = process.memoryUsage().heapUsed;
const inMemory = vigilo.stats().buffered;
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < calls - 2000; i++) await client.chat.completions.create(ask(i));
const spillMs = performance.now() - t0;
const spillCpu = process.cpuUsage(c0);
const cpuPerCall = (u, n) => ((u.user + u.system) / n).toFixed(0);
const s = vigilo.stats();
const perEventDisk = s.spoolBytes / Math.max(1, s.spooled);
console.log(`load average ${loadavg().map(x => x.toFixed(2)).join(' ')}; Node ${process.version}`);
console.log('');
console.log('| in memory (events) | heap held | per event | on disk (events) | outbox bytes | per event on disk | 64 MiB outbox holds | dropped | call time (CPU), buffer filling | call time (CPU), spilling |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
console.log(`| ${inMemory} | ${((heap1 - heap0) / 1048576).toFixed(2)} MiB | ${((heap1 - heap0) / Math.max(1, inMemory - buffered0) / 1024).toFixed(2)} KiB | ${s.spooled} | ${(s.spoolBytes / 1024).toFixed(0)} KiB | ${perEventDisk.toFixed(0)} B | ~${Math.floor((64 * 1048576) / perEventDisk).toLocaleString('en')} events | ${s.dropped} | ${((memoryMs * 1000) / (2000 - buffered0)).toFixed(0)} µs (${cpuPerCall(memoryCpu, 2000 - buffered0)} µs) | ${((spillMs * 1000) / (calls - 2000)).toFixed(0)} µs (${cpuPerCall(spillCpu, calls - 2000)} µs) |`);
provider.close();
// After the client's own exit hook (registered first) has put the memory buffer in the outbox.
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.exit(0);
