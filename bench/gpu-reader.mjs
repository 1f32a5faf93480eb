#!/usr/bin/env node
// Runtime monitoring figures (issue 3):
//  1. CPU time per GPU sample and RSS at 1 Hz: the streaming `nvidia-smi -lms` reader versus a
//     spawn-per-sample baseline (systeminformation's graphics()), each in its own worker process,
//     same stand-in nvidia-smi on PATH (there is no GPU here), same run.
//  2. Detection delay from a GPU change / a VRAM threshold crossing to the `alert` on /events.
//   node bench/gpu-reader.mjs [--seconds 20] [--trials 5]
// The TypeScript sources are bundled on the fly with esbuild (no dist/ needed).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { cliArgs, procStatFields, ROOT, summary } from './lib.mjs';

const args = cliArgs();
const seconds = Number(args.seconds ?? 20);
const trials = Number(args.trials ?? 5);
const FAKE = join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'fake-nvidia-smi.mjs');

/** utime+stime of one process, in s (0 when it is gone). */
function pidCpuS(pid) {
  try {
    const f = procStatFields(pid);
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function selfStat() {
  const f = procStatFields('self');
  // utime, stime, cutime, cstime (fields 14-17) in clock ticks.
  return { ownS: (Number(f[11]) + Number(f[12])) / 100, childrenS: (Number(f[13]) + Number(f[14])) / 100 };
}

async function bundle(entry, out) {
  const esbuild = createRequire(import.meta.url)('esbuild');
  // Bundled under node_modules/.cache so packages left external (the sqlite wasm) resolve from the repo.
  const target = join(ROOT, 'node_modules', '.cache', 'vigilo-bench', out.split('/').slice(-2).join('-'));
  await esbuild.build({ entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', format: 'cjs', target: 'node18', outfile: target, logLevel: 'error', external: ['node-sqlite3-wasm'] });
  return createRequire(import.meta.url)(target);
}

function fakeEnv(dir, scenario) {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  try { symlinkSync(FAKE, join(bin, 'nvidia-smi')); } catch { /* exists */ }
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(scenario));
  return { file, env: { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`, FAKE_SMI_SCENARIO: file, VIGILO_INTERNET_PROBE: 'off' } };
}

// ---- worker: one variant, prints one JSON line ----
async function worker(variant) {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-bench-gpu-'));
  const { env } = fakeEnv(dir, { gpus: [{ fixture: 't4' }, { fixture: 't4', uuid: 'GPU-second-t4', index: 1 }] });
  Object.assign(process.env, env);
  let samples = 0;
  let stop;
  // The streaming reader's child lives across the whole window: cutime only counts
  // it once it exits, so its CPU is read from /proc/<pid>/stat directly.
  let liveChildPid = null;
  if (variant === 'stream') {
    const { NvidiaSmiReader } = await bundle('src/server/gpu/reader.ts', join(dir, 'reader.cjs'));
    const reader = new NvidiaSmiReader({ env, clock: { now: () => Date.now() }, intervalMs: 1000, onBatch: () => samples++, onState: st => (liveChildPid = st.pid ?? liveChildPid) });
    reader.start();
    stop = () => reader.stop();
  } else if (variant === 'execfile') {
    // What systeminformation's graphics() does on a machine with an NVIDIA card (execFileSync of
    // nvidia-smi --query-gpu per call), and Colab's own monitor: one nvidia-smi process per sample.
    const { execFileSync } = await import('node:child_process');
    const timer = setInterval(() => {
      execFileSync('nvidia-smi', ['--query-gpu=driver_version,pci.sub_device_id,name,pci.bus_id,fan.speed,memory.total,memory.used,memory.free,utilization.gpu,utilization.memory,temperature.gpu,temperature.memory,power.draw,power.limit,clocks.gr,clocks.mem', '--format=csv,noheader,nounits'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      samples++;
    }, 1000);
    stop = () => clearInterval(timer);
  } else {
    const si = createRequire(import.meta.url)('systeminformation');
    const timer = setInterval(() => void si.graphics().then(() => samples++), 1000);
    stop = () => clearInterval(timer);
  }
  // Warm up 2 s, then measure.
  await new Promise(r => setTimeout(r, 2000));
  const s0 = selfStat();
  const live0 = liveChildPid === null ? 0 : pidCpuS(liveChildPid);
  const n0 = samples;
  const rss = [];
  const t0 = performance.now();
  const rssTimer = setInterval(() => rss.push(process.memoryUsage.rss()), 1000);
  await new Promise(r => setTimeout(r, seconds * 1000));
  clearInterval(rssTimer);
  const live1 = liveChildPid === null ? 0 : pidCpuS(liveChildPid);
  // Read before stop(): once the long-lived child exits, cutime would count all of it again.
  const s1 = selfStat();
  stop();
  await new Promise(r => setTimeout(r, 300));
  const n = samples - n0;
  // Exited children (cutime) plus the long-lived one over the same window.
  const liveS = live1 - live0;
  process.stdout.write(JSON.stringify({ variant, samples: n, wallS: (performance.now() - t0) / 1000, ownCpuMsPerSample: ((s1.ownS - s0.ownS) * 1000) / n, childCpuMsPerSample: ((s1.childrenS - s0.childrenS + liveS) * 1000) / n, rssMiB: Math.max(...rss) / 2 ** 20 }) + '\n');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

function runWorker(variant) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--worker', variant, '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.on('exit', code => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`worker ${variant} exited ${code}`))));
  });
}

// ---- detection delay through a real sidecar and /events ----
async function detectionDelays() {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-bench-delay-'));
  const { Sidecar } = await bundle('src/server/sidecar.ts', join(dir, 'sidecar.cjs'));
  const { env, file } = fakeEnv(dir, { gpus: [{ fixture: 't4' }] });
  const dataDir = join(dir, 'data');
  const sidecar = new Sidecar({
    config: { host: '127.0.0.1', port: 0, dataDir, fsRoot: join(dir, 'root'), intervalMs: 2000, heartbeatIntervalS: 10, version: 'bench', env: { ...env, VIGILO_GPU_INTERVAL_MS: '1000' } },
    token: 'bench',
    snapshotPushMs: 200
  });
  const d = await sidecar.start();
  const controller = new AbortController();
  const response = await fetch(`${d.url}/events?token=bench`, { signal: controller.signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const waiters = [];
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (/^event: alert$/m.test(block)) {
            const data = JSON.parse(/^data: (.*)$/m.exec(block)[1]);
            for (const w of waiters.splice(0)) w(data);
          }
        }
      }
    } catch { /* aborted */ }
  })();
  const nextAlert = ruleId => new Promise(resolve => {
    const wait = data => (data.ruleId === ruleId ? resolve(data) : waiters.push(wait));
    waiters.push(wait);
  });
  const settle = () => new Promise(r => setTimeout(r, 2500));
  await settle();
  const change = [];
  const crossing = [];
  const fixtures = ['p100', 't4'];
  for (let i = 0; i < trials; i++) {
    const p = nextAlert('gpu.changed');
    const t0 = performance.now();
    writeFileSync(file, JSON.stringify({ gpus: [{ fixture: fixtures[i % 2] }] }));
    await p;
    change.push(performance.now() - t0);
    await settle();
  }
  // Stay on the GPU the change trials ended on: a crossing must not also be a GPU change.
  const fixture = fixtures[(trials - 1) % 2];
  const total = fixture === 'p100' ? 16280 : 15360;
  for (let i = 0; i < trials; i++) {
    const p = nextAlert('gpu.vram');
    const t0 = performance.now();
    writeFileSync(file, JSON.stringify({ gpus: [{ fixture, usedMiB: Math.round(total * 0.92) }] }));
    await p;
    crossing.push(performance.now() - t0);
    writeFileSync(file, JSON.stringify({ gpus: [{ fixture, usedMiB: 100 }] })); // back under 90 − 3 %: re-armed
    await settle();
  }
  controller.abort();
  await sidecar.stop();
  rmSync(dir, { recursive: true, force: true });
  return { change: summary(change), crossing: summary(crossing) };
}

if (args.worker) {
  await worker(args.worker);
} else {
  const stream = await runWorker('stream');
  const spawnBaseline = await runWorker('execfile');
  const siBaseline = await runWorker('spawn');
  const delays = await detectionDelays();
  const r = x => Math.round(x * 100) / 100;
  const lines = [
    `node ${process.version}, ${seconds} s per variant at 1 Hz, 2 GPUs (Tesla T4 rows from the telegraf capture), stand-in nvidia-smi (node script) on PATH`,
    `streaming reader (nvidia-smi -lms 1000): ${stream.samples} samples, sidecar CPU ${r(stream.ownCpuMsPerSample)} ms/sample, children CPU ${r(stream.childCpuMsPerSample)} ms/sample (the long-lived nvidia-smi, read from /proc/<pid>/stat), peak RSS ${r(stream.rssMiB)} MiB`,
    `spawn per sample (execFileSync nvidia-smi --query-gpu, as systeminformation graphics() does on an NVIDIA machine): ${spawnBaseline.samples} samples, sidecar CPU ${r(spawnBaseline.ownCpuMsPerSample)} ms/sample, children CPU ${r(spawnBaseline.childCpuMsPerSample)} ms/sample, peak RSS ${r(spawnBaseline.rssMiB)} MiB`,
    `systeminformation graphics() as it runs on THIS machine (no NVIDIA PCI device visible, so it never reaches nvidia-smi): ${siBaseline.samples} samples, sidecar CPU ${r(siBaseline.ownCpuMsPerSample)} ms/sample, children CPU ${r(siBaseline.childCpuMsPerSample)} ms/sample, peak RSS ${r(siBaseline.rssMiB)} MiB`,
    `ratio sidecar CPU per sample, spawn / stream: ${r(spawnBaseline.ownCpuMsPerSample / stream.ownCpuMsPerSample)}x; including children: ${r((spawnBaseline.ownCpuMsPerSample + spawnBaseline.childCpuMsPerSample) / (stream.ownCpuMsPerSample + stream.childCpuMsPerSample))}x`,
    `GPU change → alert on /events (1 Hz reader), ms: p50 ${r(delays.change.p50)}, p90 ${r(delays.change.p90)}, max ${r(delays.change.max)} (n=${delays.change.n})`,
    `VRAM 90 % crossing → alert on /events (1 Hz reader), ms: p50 ${r(delays.crossing.p50)}, p90 ${r(delays.crossing.p90)}, max ${r(delays.crossing.max)} (n=${delays.crossing.n})`
  ];
  console.log(lines.join('\n'));
}
