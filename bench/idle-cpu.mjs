#!/usr/bin/env node
// Idle CPU of the sidecar, its own and its child processes' (reaped children are counted in
// /proc/<pid>/stat cutime/cstime), over a quiet period at the default 2 s sampling.
//   node bench/idle-cpu.mjs [--seconds 60]
// Needs the build (npm run build:node). BENCH_SIDECAR_CJS=<bundle> measures another build.
import { cliArgs, procStatFields, startSidecar } from './lib.mjs';

const seconds = Number(cliArgs().seconds ?? 60);
const USER_HZ = 100;

function cpu(pid) {
  const f = procStatFields(pid);
  return { self: (Number(f[11]) + Number(f[12])) / USER_HZ, children: (Number(f[13]) + Number(f[14])) / USER_HZ };
}

const s = await startSidecar();
await new Promise(r => setTimeout(r, 3000)); // past start-up work
const a = cpu(s.child.pid);
const t = performance.now();
await new Promise(r => setTimeout(r, seconds * 1000));
const b = cpu(s.child.pid);
const wallS = (performance.now() - t) / 1000;
await s.stop();
const pct = x => ((100 * x) / wallS).toFixed(2);
console.log(`idle ${wallS.toFixed(0)} s: sidecar ${pct(b.self - a.self)} % of one core, its child processes ${pct(b.children - a.children)} %, total ${pct(b.self - a.self + b.children - a.children)} %`);
