#!/usr/bin/env node
// Sidecar foundation figures: cold start, idle CPU/RSS, /metrics latency under load.
//   node bench/sidecar.mjs [--idle-seconds 60] [--clients 50] [--requests 10000] [--runs 5]
// Needs the build: npm run build:node
import http from 'node:http';
import { cliArgs, procUsage, startSidecar, summary } from './lib.mjs';

const args = cliArgs();
const idleSeconds = Number(args['idle-seconds'] ?? 60);
const clients = Number(args.clients ?? 50);
const requests = Number(args.requests ?? 10000);
const runs = Number(args.runs ?? 5);

async function coldStart() {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const s = await startSidecar();
    // First answered /status, measured from spawn.
    for (let k = 0; k < 200; k++) {
      try {
        const r = await fetch(`${s.url}/status`, { headers: { authorization: `Bearer ${s.token}` } });
        if (r.ok) {
          await r.json();
          break;
        }
      } catch {
        /* not yet */
      }
      await new Promise(r => setTimeout(r, 5));
    }
    times.push(performance.now() - s.t0);
    await s.stop();
  }
  return summary(times);
}

async function idle() {
  const s = await startSidecar();
  await new Promise(r => setTimeout(r, 3000)); // past start-up work
  const a = procUsage(s.child.pid);
  let maxRss = a.rssBytes;
  const t = performance.now();
  for (let i = 0; i < idleSeconds; i++) {
    await new Promise(r => setTimeout(r, 1000));
    maxRss = Math.max(maxRss, procUsage(s.child.pid).rssBytes);
  }
  const b = procUsage(s.child.pid);
  const wallS = (performance.now() - t) / 1000;
  await s.stop();
  return { seconds: wallS, cpuPercent: (100 * (b.cpuS - a.cpuS)) / wallS, rssEndMiB: b.rssBytes / 1048576, rssMaxMiB: maxRss / 1048576 };
}

async function latency() {
  const s = await startSidecar();
  await new Promise(r => setTimeout(r, 2500)); // let collectors fill the snapshot
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const { port } = new URL(s.url);
  const one = () =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent, headers: { authorization: `Bearer ${s.token}` } }, res => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
    });
  const times = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) {
        next++;
        times.push(await one());
      }
    })
  );
  const wallS = (performance.now() - t0) / 1000;
  agent.destroy();
  await s.stop();
  return { ...summary(times), requestsPerS: requests / wallS };
}

const fmt = n => (Number.isFinite(n) ? n.toFixed(2) : String(n));
const cold = await coldStart();
console.log(`cold start (spawn → first answered /status), ${cold.n} runs: p50 ${fmt(cold.p50)} ms, max ${fmt(cold.max)} ms`);
const lat = await latency();
console.log(`/metrics latency, ${clients} concurrent keep-alive clients, ${lat.n} requests: p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms, ${fmt(lat.requestsPerS)} req/s`);
const id = await idle();
console.log(`idle over ${fmt(id.seconds)} s at the default sampling (2 s): CPU ${fmt(id.cpuPercent)} % of one core, RSS ${fmt(id.rssEndMiB)} MiB (max ${fmt(id.rssMaxMiB)} MiB)`);
