#!/usr/bin/env node
// OpenTelemetry export (docs/TEAMS.md): what it costs and how it behaves, against a loopback OTLP/HTTP
// receiver in this process (counts requests, bytes and spans; answers 200 or, when "down", closes its port).
//   node bench/otel-export.mjs [--events 100000] [--events2 0] [--latency-s 10] [--down-s 120] [--load 500]
// 1. ingest rate with export off vs on, same run, into a fresh data dir (--events, and --events2 e.g. 1000000 if time),
//    and how long the export took to deliver every span; sidecar CPU per run.
// 2. export latency from the call's ingest to the receiver (http/json, so the receiver reads the call id).
// 3. sidecar RSS while the receiver is down for --down-s seconds under --load events/s (the 10-minute figure is
//    taken shortened: the queue bound is scaled by down-s/600 so the same share is dropped), then the drain.
// 4. bytes per span on the wire, protobuf (the default) and JSON.
// Needs the build: npx tsc -p tsconfig.node.json
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { cliArgs, percentile, procUsage, startSidecar } from './lib.mjs';
import { machine, writeSection } from './llm-lib.mjs';

const args = cliArgs();
const EVENTS = Number(args.events ?? 100000);
const EVENTS2 = Number(args.events2 ?? 0);
const LATENCY_S = Number(args['latency-s'] ?? 10);
const DOWN_S = Number(args['down-s'] ?? 120);
const LOAD = Number(args.load ?? 500);
const BATCH = 500;
const load = () => os.loadavg().map(x => x.toFixed(2)).join(' / ');

function event(i, id = randomUUID()) {
  return {
    id, provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18',
    startedAt: new Date(Date.now() - (i % 86400) * 1000).toISOString(), ttftMs: null, latencyMs: 800 + (i % 400), stream: false, status: 'ok', error: null,
    usage: { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } }, usageEstimated: false,
    conversationId: `conv-${i % 50}`, fingerprint: null, tags: { bench: '1' },
    messages: [{ role: 'user', content: `Question number ${i}: what is the capital of France?` }], output: 'Paris.',
    sdk: { language: 'typescript', name: 'openai', version: '6.49.0' }
  };
}

/** The loopback OTLP receiver. `json`: parse bodies and note when each call id arrived. */
async function receiver({ json = false } = {}) {
  const stats = { requests: 0, traceBytes: 0, metricBytes: 0, spans: 0, arrivals: new Map() };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      stats.requests++;
      if (req.url === '/v1/traces') {
        stats.traceBytes += body.length;
        if (json) {
          const now = performance.now();
          for (const rs of JSON.parse(body).resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
            stats.spans++;
            const id = s.attributes.find(a => a.key === 'vigilo.call.id')?.value.stringValue;
            if (id) stats.arrivals.set(id, now);
          }
        }
      } else {
        stats.metricBytes += body.length;
      }
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end();
    });
  });
  let port = 0;
  const listen = () => new Promise(r => server.listen(port, '127.0.0.1', () => { port = server.address().port; r(); }));
  await listen();
  return {
    stats,
    get url() { return `http://127.0.0.1:${port}`; },
    down: () => new Promise(r => { server.close(r); server.closeAllConnections(); }),
    up: listen,
    close: () => new Promise(r => { server.close(r); server.closeAllConnections(); })
  };
}

const auth = sidecar => ({ 'content-type': 'application/json', authorization: `Bearer ${sidecar.token}` });
const get = async (sidecar, path) => (await fetch(`${sidecar.url}${path}`, { headers: auth(sidecar) })).json();
const post = (sidecar, body) => fetch(`${sidecar.url}/llm/events`, { method: 'POST', headers: auth(sidecar), body });
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitFor(check, timeoutMs) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const v = await check();
    if (v) return v;
    await sleep(100);
  }
  return null;
}

/** 1. Ingest N events with export off or on; on: also the time until the receiver took them all. */
async function ingest(n, exportOn) {
  const rx = exportOn ? await receiver() : null;
  const env = exportOn ? { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_METRIC_EXPORT_INTERVAL: '5000', VIGILO_OTEL_MAX_QUEUE: String(n) } : {};
  const sidecar = await startSidecar([], env);
  try {
    const cpu0 = procUsage(sidecar.child.pid).cpuS;
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    let accepted = 0;
    for (let i = 0; i < n; i += BATCH) {
      const body = JSON.stringify({ events: Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => event(i + k)) });
      accepted += (await (await post(sidecar, body)).json()).accepted;
    }
    const ingestS = (performance.now() - t0) / 1000;
    const cpuIngest = procUsage(sidecar.child.pid).cpuS - cpu0;
    let deliveredS = null;
    let status = null;
    if (exportOn) {
      status = await waitFor(async () => { const s = await get(sidecar, '/export'); return s.queue.sent + s.queue.dropped >= n ? s : null; }, 600_000);
      deliveredS = (performance.now() - t0) / 1000;
    }
    const own = process.cpuUsage(own0);
    return {
      n, exportOn, accepted, ingestS, rate: accepted / ingestS, deliveredS, sent: status?.queue.sent ?? 0, dropped: status?.queue.dropped ?? 0,
      sidecarCpuIngestS: cpuIngest, sidecarCpuTotalS: procUsage(sidecar.child.pid).cpuS - cpu0, benchCpuS: (own.user + own.system) / 1e6,
      rssMiB: procUsage(sidecar.child.pid).rssBytes / 1048576, bytesPerSpan: rx && status?.queue.sent ? rx.stats.traceBytes / status.queue.sent : null
    };
  } finally {
    await sidecar.stop();
    await rx?.close();
  }
}

/** 2. From POST /llm/events answered to the span at the receiver, one call at a time at ~20/s. */
async function latency() {
  const rx = await receiver({ json: true });
  const sidecar = await startSidecar([], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRICS_EXPORTER: 'none' });
  const sent = new Map();
  try {
    const until = performance.now() + LATENCY_S * 1000;
    let i = 0;
    while (performance.now() < until) {
      const id = randomUUID();
      await post(sidecar, JSON.stringify({ events: [event(i++, id)] }));
      sent.set(id, performance.now());
      await sleep(50);
    }
    await waitFor(() => rx.stats.arrivals.size >= sent.size, 30_000);
    const lat = [...sent].filter(([id]) => rx.stats.arrivals.has(id)).map(([id, t]) => rx.stats.arrivals.get(id) - t).sort((a, b) => a - b);
    return { calls: sent.size, arrived: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1), jsonBytesPerSpan: rx.stats.traceBytes / rx.stats.spans };
  } finally {
    await sidecar.stop();
    await rx.close();
  }
}

/** 3. The receiver down for DOWN_S under LOAD events/s: RSS, queue, drops; then it returns and the queue drains. */
async function down() {
  const bound = Math.max(1000, Math.round(100_000 * DOWN_S / 600));
  const rx = await receiver();
  const sidecar = await startSidecar([], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_METRIC_EXPORT_INTERVAL: '5000', VIGILO_OTEL_MAX_QUEUE: String(bound) });
  try {
    await rx.down();
    const rss = [];
    const perTick = Math.max(1, Math.round(LOAD / 10));
    const t0 = performance.now();
    let i = 0;
    let lastSample = -1;
    while (performance.now() - t0 < DOWN_S * 1000) {
      await post(sidecar, JSON.stringify({ events: Array.from({ length: perTick }, () => event(i++)) }));
      const s = Math.floor((performance.now() - t0) / 10_000);
      if (s !== lastSample) {
        lastSample = s;
        rss.push(procUsage(sidecar.child.pid).rssBytes / 1048576);
      }
      await sleep(100);
    }
    const whileDown = await get(sidecar, '/export');
    const rssDown = procUsage(sidecar.child.pid).rssBytes / 1048576;
    await rx.up();
    const tUp = performance.now();
    const after = await waitFor(async () => { const s = await get(sidecar, '/export'); return s.queue.queued === 0 && s.queue.inFlight === 0 ? s : null; }, 300_000);
    return { bound, events: i, rss0: rss[0], rssPeak: Math.max(...rss, rssDown), rssDown, whileDown: whileDown.queue, drainS: (performance.now() - tUp) / 1000, after: after?.queue };
  } finally {
    await sidecar.stop();
    await rx.close();
  }
}

const loadBefore = load();
const ingestRuns = [];
for (const n of [EVENTS, EVENTS2].filter(n => n > 0)) {
  ingestRuns.push(await ingest(n, false), await ingest(n, true));
}
const lat = await latency();
const dn = DOWN_S > 0 ? await down() : null;
const loadAfter = load();
const r = (x, d = 1) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));
const heavy = Math.max(...[loadBefore, loadAfter].flatMap(s => s.split(' / ').map(Number))) > 1.5;

const lines = [
  `Machine: ${machine()}. Load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}${heavy ? ' — **taken under load** (a shared 2-core machine: other people\'s builds and tests)' : ''}. Receiver: a loopback OTLP/HTTP server in the bench process (answers 200). Sidecar: \`bin/vigilo.js serve\` child, every module, fresh data dir per run. \`node bench/otel-export.mjs ${process.argv.slice(2).join(' ')}\`.`,
  '',
  '| stored calls | export | ingest s | events/s | all spans at the receiver after | sent / dropped | sidecar CPU s (ingest / total) | bench CPU s (sender + receiver) | RSS MiB | protobuf bytes/span |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...ingestRuns.map(x => `| ${x.n} | ${x.exportOn ? 'on' : 'off'} | ${r(x.ingestS, 2)} | **${Math.round(x.rate)}** | ${x.exportOn ? `${r(x.deliveredS, 1)} s` : '—'} | ${x.exportOn ? `${x.sent} / ${x.dropped}` : '—'} | ${r(x.sidecarCpuIngestS, 2)} / ${r(x.sidecarCpuTotalS, 2)} | ${r(x.benchCpuS, 2)} | ${r(x.rssMiB, 0)} | ${r(x.bytesPerSpan, 0)} |`),
  '',
  `Export latency, call ingested → span at the receiver (http/json, OTEL_BSP_SCHEDULE_DELAY 1000 ms default, one call every ~50 ms for ${LATENCY_S} s): ${lat.arrived}/${lat.calls} arrived, p50 ${r(lat.p50, 0)} ms, p99 ${r(lat.p99, 0)} ms, max ${r(lat.max, 0)} ms. JSON bytes/span ${r(lat.jsonBytesPerSpan, 0)}.`,
  '',
  dn
    ? `Receiver down for ${DOWN_S} s under ${LOAD} events/s (${dn.events} events; **shortened from 10 min**, so the queue bound is scaled to ${dn.bound} = 100000 × ${DOWN_S}/600): sidecar RSS ${r(dn.rss0, 0)} MiB at the start, peak ${r(dn.rssPeak, 0)} MiB, ${r(dn.rssDown, 0)} MiB at the end; queue ${dn.whileDown.queued + dn.whileDown.inFlight} waiting, ${dn.whileDown.dropped} dropped, ${dn.whileDown.failedBatches} failed attempts. Receiver back: queue empty after ${r(dn.drainS, 1)} s, ${dn.after?.sent ?? '?'} spans sent in all.`
    : ''
];
console.log(lines.join('\n'));
writeSection('OpenTelemetry export', lines);
