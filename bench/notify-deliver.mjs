// Notification delivery on loopback (issue 19): condition → delivered latency, and what the
// delivery worker (python -m vigilo.notify_worker, Apprise) costs idle, under a 1,000-flap storm
// and under a burst at the largest hourly cap.
//
//   npx tsc -p tsconfig.node.json && node bench/notify-deliver.mjs [--n 100] [--idle-s 30]
//
// A real sidecar (dist/, in this process: its alert engine raises the conditions) with the alerts
// and notify modules, the real worker on .venv's Python, and a loopback HTTP receiver that Apprise's
// json:// plugin posts to. Latency = the receiver's arrival time − the alert's time (one clock).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { loadavg, cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, cliArgs, procUsage, summary } from './lib.mjs';

const require = createRequire(import.meta.url);
const { Sidecar } = require(join(ROOT, 'dist/server/sidecar.js'));
const { alertsModule } = require(join(ROOT, 'dist/server/alerts/module.js'));
const { notifyModule } = require(join(ROOT, 'dist/server/notify/module.js'));

const args = cliArgs();
const N = Number(args.n ?? 100);
const IDLE_S = Number(args['idle-s'] ?? 30);

const arrivals = new Map();
const receiver = createServer((req, res) => {
  let text = '';
  req.on('data', c => (text += c));
  req.on('end', () => {
    const at = Date.now();
    try {
      arrivals.set(JSON.parse(text).title, at);
    } catch {}
    res.writeHead(200).end('{}');
  });
});
await new Promise(r => receiver.listen(0, '127.0.0.1', r));
const port = receiver.address().port;

const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-bench-notify-'));
const sidecar = new Sidecar({
  config: { host: '127.0.0.1', port: 0, dataDir, fsRoot: '/nonexistent', intervalMs: 60_000, heartbeatIntervalS: 10, version: 'bench', env: { ...process.env, VIGILO_PYTHON: join(ROOT, '.venv/bin/python') } },
  token: 'bench-token',
  modules: ctx => [alertsModule(ctx), notifyModule(ctx)]
});
const d = await sidecar.start();
const api = async (method, path, body) => {
  const r = await fetch(`${d.url}${path}`, { method, headers: { authorization: 'Bearer bench-token', 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  return r.json();
};
await api('POST', '/settings/notify', { capPerHour: 120, mergeWindowS: 0 });
await api('POST', '/notify/channels', { url: `json://127.0.0.1:${port}/bench` });
let state;
for (let i = 0; i < 200 && (state = await api('GET', '/notify')).worker.state !== 'running'; i++) await new Promise(r => setTimeout(r, 50));
const pid = state.worker.pid;
const { ctx } = sidecar;
const waitFor = async (title, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!arrivals.has(title) && Date.now() < end) await new Promise(r => setTimeout(r, 1));
  return arrivals.get(title);
};

// 1. Idle: the worker waiting on stdin.
let u0 = procUsage(pid);
await new Promise(r => setTimeout(r, IDLE_S * 1000));
let u1 = procUsage(pid);
const idle = { cpuPct: ((u1.cpuS - u0.cpuS) / IDLE_S) * 100, rssMiB: u1.rssBytes / 2 ** 20 };

// 2. Latency: one condition at a time (a kernel-lost event, each its own key and text).
const latencies = [];
for (let i = 0; i < N; i++) {
  const alert = ctx.alerts.fire({ ruleId: 'kernel.restarted', key: `k${i}`, severity: 'warning', message: `Kernel k${i} restarted (bench ${i}).` });
  const got = await waitFor('Kernel lost');
  arrivals.delete('Kernel lost');
  if (got) latencies.push(got - Date.parse(alert.at));
}
const lat = summary(latencies);

// 3. Storm: 1,000 flaps of one condition within a minute (defaults otherwise, cap 120/h).
ctx.alerts.addRule({ id: 'storage.disk', direction: 'above', severity: 'warning', thresholds: [85], message: v => `Disk / is ${v.toFixed(1)} % full.` });
u0 = procUsage(pid);
const stormStart = Date.now();
for (let i = 0; i < 1000; i++) ctx.alerts.observe('storage.disk', '/', i % 2 === 0 ? 86 : 70);
await new Promise(r => setTimeout(r, 3000));
u1 = procUsage(pid);
const storm = { cpuS: u1.cpuS - u0.cpuS, rssMiB: u1.rssBytes / 2 ** 20, delivered: (await api('GET', '/notify')).counts.disk, wallS: (Date.now() - stormStart) / 1000 };

// 4. Burst: as many distinct messages as the largest cap lets through at once.
await api('POST', '/settings/notify', { capPerHour: 120 });
const sentBefore = (await api('GET', '/notify')).counts.kernel.sent ?? 0;
u0 = procUsage(pid);
const burstStart = Date.now();
for (let i = 0; i < 50; i++) ctx.alerts.fire({ ruleId: 'kernel.restarted', key: `burst${i}`, severity: 'warning', message: `Kernel burst${i} restarted.` });
for (let i = 0; i < 400; i++) {
  const s = await api('GET', '/notify');
  if (s.deliveries.every(x => x.status !== 'pending')) break;
  await new Promise(r => setTimeout(r, 25));
}
u1 = procUsage(pid);
const burstDeliveries = ((await api('GET', '/notify')).counts.kernel.sent ?? 0) - sentBefore;
const burst = { n: burstDeliveries, cpuS: u1.cpuS - u0.cpuS, rssMiB: u1.rssBytes / 2 ** 20, wallS: (Date.now() - burstStart) / 1000 };

await sidecar.stop();
receiver.close();
rmSync(dataDir, { recursive: true, force: true });

const f = (x, n = 1) => x.toFixed(n);
console.log(`notify-deliver: json:// on loopback, Apprise ${state.worker.apprise}, worker pid ${pid}; ${cpus().length} cores; loadavg ${loadavg().map(l => f(l, 2)).join(' ')}`);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| condition → delivered, ${lat.n} one at a time | p50 ${f(lat.p50)} ms · p90 ${f(lat.p90)} ms · p99 ${f(lat.p99)} ms · max ${f(lat.max)} ms |`);
console.log(`| worker idle (${IDLE_S} s) | ${f(idle.cpuPct, 3)} % of a core · RSS ${f(idle.rssMiB)} MiB |`);
console.log(`| storm: 1,000 flaps of one condition in ${f(storm.wallS)} s | messages ${JSON.stringify(storm.delivered)} · worker CPU ${f(storm.cpuS, 2)} s · RSS ${f(storm.rssMiB)} MiB |`);
console.log(`| burst: ${burst.n} distinct messages at once | ${f(burst.wallS, 2)} s to deliver all · worker CPU ${f(burst.cpuS, 2)} s (${f((burst.cpuS / Math.max(1, burst.n)) * 1000)} ms each) · RSS ${f(burst.rssMiB)} MiB |`);
