#!/usr/bin/env node
// POST /llm/pricing/import against hostile and normal sources, while GET /status is polled every
// 10 ms: the answer, how long it took, the slowest /status meanwhile (is the event loop free?) and
// the sidecar's RSS after.   node bench/pricing-import.mjs
// Needs the build (npm run build:node). Sources: /dev/zero, a FIFO nobody writes, a directory, an
// endless loopback URL, a LiteLLM-shaped file of 4000 chat models, and (--litellm <path>) LiteLLM's own.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliArgs, procUsage, startSidecar } from './lib.mjs';

const dir = mkdtempSync(join(tmpdir(), 'vigilo-pricing-bench-'));
const fifo = join(dir, 'prices.fifo');
execFileSync('mkfifo', [fifo]);
const litellm = {};
for (let i = 0; i < 4000; i++) {
  litellm[`openai/gpt-bench-${i}`] = {
    litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 2e-6, output_cost_per_token: 8e-6,
    cache_read_input_token_cost: 5e-7, max_input_tokens: 128000, max_output_tokens: 16384,
    supports_function_calling: true, supports_vision: true, source: 'https://example.invalid/pricing-page-for-model'
  };
}
const file = join(dir, 'model_prices_and_context_window.json');
writeFileSync(file, JSON.stringify(litellm, null, 2));

// The endless server runs in its own process, so its pumping does not delay this process's /status poller.
const endless = spawn(process.execPath, ['-e', `
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const server = require('node:http').createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump); };
    pump();
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const endlessPort = await new Promise(r => endless.stdout.once('data', d => r(Number(String(d).trim()))));
const endlessUrl = `http://127.0.0.1:${endlessPort}/prices.json`;
// LiteLLM's real price file when one is at hand (pip's litellm ships a copy): --litellm <path>.
const real = cliArgs().litellm;

const s = await startSidecar();
const auth = { authorization: `Bearer ${s.token}` };
await new Promise(r => setTimeout(r, 2000));

async function measure(from) {
  if (from === null) {
    // Baseline: the same polling with nothing imported (this shared machine's own noise).
    return poll(() => new Promise(r => setTimeout(r, 1500)).then(() => ({ status: '-', code: 'nothing sent' })));
  }
  return poll(async () => {
    const r = await fetch(`${s.url}/llm/pricing/import`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ from }) });
    const body = await r.json();
    return { status: r.status, code: body.error?.code ?? `${body.imported?.models ?? '?'} models` };
  });
}

async function poll(action) {
  let slowest = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = performance.now();
      await (await fetch(`${s.url}/status`, { headers: auth })).arrayBuffer();
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise(r => setTimeout(r, 10));
    }
  })();
  const t0 = performance.now();
  const answer = await action();
  const took = performance.now() - t0;
  polling = false;
  await poller;
  return { ...answer, took, slowest, rssMiB: procUsage(s.child.pid).rssBytes / 1048576 };
}

console.log('| source | answer | took | slowest GET /status meanwhile | sidecar RSS after |');
console.log('|---|---|---|---|---|');
await measure(null); // warm-up: first requests, lazy module start
const cases = [['(baseline: nothing imported, 1.5 s)', null], ['/dev/zero', '/dev/zero'], ['a FIFO nobody writes', fifo], ['a directory', dir], ['an endless loopback URL', endlessUrl], [`LiteLLM-shaped file, 4000 chat models, ${(JSON.stringify(litellm, null, 2).length / 1e6).toFixed(1)} MB`, file]];
if (real) cases.push([`LiteLLM's own file (${real.split('/').pop()})`, real]);
for (const [name, from] of cases) {
  const m = await measure(from);
  console.log(`| ${name} | ${m.status} ${m.code} | ${m.took.toFixed(0)} ms | ${m.slowest.toFixed(1)} ms | ${m.rssMiB.toFixed(0)} MiB |`);
}
await s.stop();
endless.kill();
rmSync(dir, { recursive: true, force: true });
