#!/usr/bin/env node
// Idle CPU and RSS of the sidecar, its own and its child processes' (reaped children are counted in
// /proc/<pid>/stat cutime/cstime), over a quiet period at the default sampling (every 2 s while
// someone watches, 10 s while no one does, as here: src/server/core/cadence.ts), with the V8 flag
// the launcher passes (--max-semi-space-size=2); also the time from spawn to its announce line.
//   node bench/idle-cpu.mjs [--seconds 60] [--warmup 5] [--node <node>] [--engine wasm|node] [--malloc default]
// --warmup: seconds from the announce to the measured window. V8's memory reducer runs two major
// GCs of the start-up heap about 8 s after start (~50 ms of CPU, once): inside a window that starts
// at 5 s, outside one that starts at 15 s (the rate an idle sidecar keeps).
// The launcher's malloc settings too (bench/lib.mjs launcherEnv; --malloc default: without them).
// Runs the wheel's bundle (npm run build:node); BENCH_SIDECAR_CJS=<bundle> measures another build.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliArgs, launcherEnv, procStatFields, ROOT } from './lib.mjs';

const args = cliArgs();
const seconds = Number(args.seconds ?? 60);
const warmupS = Number(args.warmup ?? 5);
const nodeBin = args.node ?? process.execPath;
const USER_HZ = 100;
const bundle = process.env.BENCH_SIDECAR_CJS || join(ROOT, 'vigilo', 'sidecar', 'vigilo-sidecar.cjs');

function cpu(pid) {
  const f = procStatFields(pid);
  return { self: (Number(f[11]) + Number(f[12])) / USER_HZ, children: (Number(f[13]) + Number(f[14])) / USER_HZ };
}
const rssMb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const loadBefore = os.loadavg();
const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-idle-'));
const t0 = performance.now();
const child = spawn(nodeBin, ['--max-semi-space-size=2', '-e', 'require(process.argv[1]).main(process.argv)', bundle, 'serve', '--port', '0', '--json', '--data-dir', dataDir], {
  env: { ...launcherEnv(args), ...process.env, VIGILO_TOKEN: 'bench-token', VIGILO_INTERNET_PROBE: 'off', ...(args.engine ? { VIGILO_SQLITE: args.engine } : {}) },
  stdio: ['ignore', 'pipe', 'ignore']
});
await new Promise((resolve, reject) => {
  createInterface({ input: child.stdout }).once('line', resolve);
  child.once('exit', code => reject(new Error(`sidecar exited ${code}`)));
});
const announceMs = performance.now() - t0;
const atAnnounce = cpu(child.pid);
await new Promise(r => setTimeout(r, warmupS * 1000)); // past start-up work
const a = cpu(child.pid);
const t = performance.now();
let maxRss = 0;
for (let waited = 0; waited < seconds; waited++) {
  await new Promise(r => setTimeout(r, 1000));
  maxRss = Math.max(maxRss, rssMb(child.pid));
}
const b = cpu(child.pid);
const wallS = (performance.now() - t) / 1000;
const rss = rssMb(child.pid);
child.kill('SIGTERM');
await new Promise(r => child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
const loadAfter = os.loadavg();
const pct = x => ((100 * x) / wallS).toFixed(2);
const f = l => l.map(x => x.toFixed(1)).join(' / ');
const version = process.version === nodeBin ? process.version : (await import('node:child_process')).execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
console.log(
  `Node ${version}${args.engine ? `, engine ${args.engine}` : ''}: spawn → listening ${announceMs.toFixed(0)} ms; idle ${wallS.toFixed(0)} s from ${warmupS} s after start: sidecar ${pct(b.self - a.self)} % of one core, ` +
    `its child processes ${pct(b.children - a.children)} %, total ${pct(b.self - a.self + b.children - a.children)} %; ` +
    `CPU from the announce to the end ${((b.self - atAnnounce.self + b.children - atAnnounce.children) * 1000).toFixed(0)} ms; RSS ${rss.toFixed(0)} MB (max ${maxRss.toFixed(0)}); ` +
    `load average ${f(loadBefore)} before, ${f(loadAfter)} after${Math.max(...loadBefore, ...loadAfter) > 1.5 ? ' (taken under load)' : ''}`
);
