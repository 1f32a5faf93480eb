#!/usr/bin/env node
// Sidecar memory with event-stream clients that never read: N clients open GET /events and stop
// reading while LLM events are posted as fast as the sidecar takes them; RSS is printed over time.
//   node bench/sse-slow-clients.mjs [--clients 64] [--seconds 40] [--every 5] [--post 1]
// --post 0: no LLM events, only the snapshot pushes (5 a second at --interval 200): the clients
// should then stay connected with their memory flat (snapshots coalesce).
// Needs the build (npm run build:node). BENCH_SIDECAR_CJS=<bundle> measures another build.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { cliArgs, procUsage, startSidecar } from './lib.mjs';

const args = cliArgs();
const clients = Number(args.clients ?? 64);
const seconds = Number(args.seconds ?? 40);
const every = Number(args.every ?? 5);
const postEvents = args.post !== '0';

function event(i) {
  return {
    id: randomUUID(), provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18',
    startedAt: new Date().toISOString(), ttftMs: null, latencyMs: 800, stream: false, status: 'ok', error: null,
    usage: { prompt_tokens: 1200, completion_tokens: 300 }, usageEstimated: false,
    conversationId: `conv-${i % 50}`, fingerprint: null, tags: { bench: '1' }, messages: null, output: null,
    sdk: { language: 'typescript', name: 'openai', version: '6.49.0' }
  };
}

const sidecar = await startSidecar(['--interval', '200']);
const { port } = new URL(sidecar.url);
const sockets = [];
/**
 * Paused sockets never see the sidecar hang up (its FIN waits behind unread data), so ask the
 * kernel: the sidecar's end of each connection that is still ESTABLISHED.
 */
function stillOpen() {
  const mine = new Set(sockets.map(s => s.localPort));
  const open = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && parseInt(f[1].split(':')[1], 16) === Number(port) && mine.has(parseInt(f[2].split(':')[1], 16)) && f[3] === '01') open.add(f[2]);
    }
  }
  return open.size;
}
for (let i = 0; i < clients; i++) {
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise(r => socket.once('connect', r));
  socket.write(`GET /events?token=${sidecar.token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  // A frozen browser tab: the connection stays open and nothing is read from it again.
  socket.pause();
  sockets.push(socket);
}

const rows = [];
const sample = (t, posted) => {
  const { rssBytes } = procUsage(sidecar.child.pid);
  const open = stillOpen();
  rows.push({ t, rssMiB: rssBytes / 1048576, open, posted });
  console.log(`t=${t.toFixed(0).padStart(3)} s  RSS ${(rssBytes / 1048576).toFixed(0).padStart(5)} MiB  clients still connected ${open}/${clients}  events posted ${posted}`);
};

let posted = 0;
let stop = false;
const poster = (async () => {
  let i = 0;
  while (postEvents && !stop) {
    const body = JSON.stringify({ events: Array.from({ length: 500 }, () => event(i++)) });
    const r = await fetch(`${sidecar.url}/llm/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${sidecar.token}` }, body });
    await r.arrayBuffer();
    if (r.ok) posted += 500;
  }
})();

const t0 = performance.now();
sample(0, 0);
for (let k = 1; k * every <= seconds; k++) {
  await new Promise(r => setTimeout(r, t0 + k * every * 1000 - performance.now()));
  sample((performance.now() - t0) / 1000, posted);
}
stop = true;
await poster;
for (const s of sockets) s.destroy();
await sidecar.stop();
const first = rows[0].rssMiB;
const max = Math.max(...rows.map(r => r.rssMiB));
console.log(`\n${clients} non-reading clients, ${seconds} s, ${posted} events posted: RSS ${first.toFixed(0)} → max ${max.toFixed(0)} MiB (+${(max - first).toFixed(0)}), ${rows.at(-1).open} clients still connected at the end`);
