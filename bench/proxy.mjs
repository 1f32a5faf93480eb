// The Jupyter proxy's cost: GET /metrics from the sidecar directly, GET /vigilo/api/metrics through
// the Jupyter server extension, and jupyter-resource-usage's own GET /api/metrics/v1 (the peer),
// each at 1, 10 and 50 concurrent keep-alive clients, in one run so that the ratios compare; Jupyter's
// own GET /api/status is the floor any request through a Jupyter server pays.
//
//   node bench/proxy.mjs [--requests 4000] [--clients 1,10,50] [--baseline <git rev>] [--peer-path <dir>]
//
// --baseline also serves the proxy of an older commit (its vigilo/ package on PYTHONPATH in a second
// Jupyter server) beside this checkout's: before and after in the same run.
// Needs the venv (.venv, with jupyter-resource-usage installed) and the sidecar build (npx tsc -p tsconfig.node.json).
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, cliArgs, procUsage, startSidecar, summary } from './lib.mjs';

const args = cliArgs();
const requests = Number(args.requests ?? 4000);
const levels = String(args.clients ?? '1,10,50').split(',').map(Number);
const baseline = args.baseline;
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const JUPYTER_TOKEN = 'bench-jupyter-token';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function get(agent, port, path, headers) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers }, res => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** A Jupyter server with the vigilo and jupyter-resource-usage server extensions; `pythonPath` puts another vigilo first. */
async function startJupyter(dataDir, pythonPath) {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-bench-jupyter-'));
  const config = join(dir, 'config');
  mkdirSync(config);
  writeFileSync(
    join(config, 'jupyter_server_config.json'),
    JSON.stringify({ ServerApp: { jpserver_extensions: { vigilo: true, jupyter_resource_usage: true } } })
  );
  const port = await freePort();
  const env = { ...process.env, VIGILO_DATA_DIR: dataDir, JUPYTER_CONFIG_DIR: config, JUPYTER_RUNTIME_DIR: join(dir, 'runtime') };
  // --peer-path: where jupyter-resource-usage is installed when it is not in .venv
  // (`pip install --target <dir> --no-deps jupyter-resource-usage`, so no other Jupyter server loads it).
  const paths = [pythonPath, args['peer-path']].filter(Boolean);
  if (paths.length > 0) env.PYTHONPATH = paths.join(':');
  const child = spawn(
    PYTHON,
    ['-m', 'jupyter_server', '--no-browser', '--allow-root', `--port=${port}`, '--ip=127.0.0.1', `--IdentityProvider.token=${JUPYTER_TOKEN}`, `--ServerApp.root_dir=${dir}`],
    // cwd: not the checkout, whose vigilo/ would come first on sys.path (python -m) and hide a --baseline one.
    { env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let log = '';
  child.stderr.on('data', d => (log = (log + d).slice(-4000)));
  const headers = { authorization: `token ${JUPYTER_TOKEN}` };
  const agent = new http.Agent();
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null || i > 300) throw new Error(`Jupyter did not start:\n${log}`);
      try {
        await get(agent, port, '/api/status', headers);
        break;
      } catch {
        await new Promise(r => setTimeout(r, 200));
      }
    }
  } finally {
    agent.destroy();
  }
  return {
    pid: child.pid,
    port,
    headers,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** `n` requests over `clients` keep-alive connections; CPU seconds of the watched pids over the run. */
async function load(target, clients, n, watch) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const issue = async count => {
    const times = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < count) {
          next++;
          times.push(await get(agent, target.port, target.path, target.headers));
        }
      })
    );
    return times;
  };
  await issue(Math.min(200, n)); // warm-up: connections open, code paths warm
  const before = watch.map(pid => procUsage(pid).cpuS);
  const t0 = performance.now();
  const times = await issue(n);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = watch.map((pid, i) => procUsage(pid).cpuS - before[i]);
  agent.destroy();
  return { ...summary(times), requestsPerS: n / wallS, cpuPer10k: cpu.map(s => (s * 10_000) / n) };
}

const sidecar = await startSidecar();
let baselineDir;
const jupyters = [];
try {
  await new Promise(r => setTimeout(r, 2500)); // let the collectors fill the snapshot
  const current = await startJupyter(sidecar.dataDir);
  jupyters.push(current);
  let old;
  if (baseline) {
    baselineDir = mkdtempSync(join(tmpdir(), 'vigilo-bench-baseline-'));
    execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${baseline}" vigilo | tar -x -C "${baselineDir}"`]);
    old = await startJupyter(sidecar.dataDir, baselineDir);
    jupyters.push(old);
  }
  const probe = new http.Agent();
  await get(probe, current.port, '/api/metrics/v1', current.headers).catch(err => {
    throw new Error(`jupyter-resource-usage does not answer (${err.message}): pip install jupyter-resource-usage into .venv`);
  });
  probe.destroy();
  const sidecarPid = sidecar.child.pid;
  const targets = [
    { name: 'direct  GET /metrics (sidecar)', port: Number(new URL(sidecar.url).port), path: '/metrics', headers: { authorization: `Bearer ${sidecar.token}` }, watch: [sidecarPid] },
    { name: 'proxy   GET /vigilo/api/metrics', port: current.port, path: '/vigilo/api/metrics', headers: current.headers, watch: [current.pid, sidecarPid] },
    ...(old
      ? [{ name: `proxy@${baseline} GET /vigilo/api/metrics`, port: old.port, path: '/vigilo/api/metrics', headers: old.headers, watch: [old.pid, sidecarPid] }]
      : []),
    { name: 'jupyter-resource-usage GET /api/metrics/v1', port: current.port, path: '/api/metrics/v1', headers: current.headers, watch: [current.pid] },
    // The floor: Jupyter's own smallest authenticated API handler, what any proxied request pays before the proxy's work.
    { name: 'floor   GET /api/status (Jupyter itself)', port: current.port, path: '/api/status', headers: current.headers, watch: [current.pid] }
  ];
  const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const loadavg = () => os.loadavg().map(x => x.toFixed(1)).join(' / ');
  console.log(`${requests} requests per row after 200 warm-up; CPU = seconds of user+system per 10k requests (Jupyter, sidecar); load average ${loadavg()} before`);
  for (const clients of levels) {
    const direct = [];
    for (const t of targets) {
      const r = await load(t, clients, requests, t.watch);
      if (direct.length === 0) direct.push(r);
      const cpu = t.watch.map((pid, i) => `${pid === sidecarPid ? 'sidecar' : 'jupyter'} ${fmt(r.cpuPer10k[i], 1)} s`).join(', ');
      console.log(
        `${String(clients).padStart(2)} clients  ${t.name.padEnd(46)} p50 ${fmt(r.p50)} ms (${fmt(r.p50 / direct[0].p50, 1)}× direct)  p99 ${fmt(r.p99)} ms  ${fmt(r.requestsPerS, 0)} req/s  CPU/10k: ${cpu}`
      );
    }
  }
  console.log(`load average ${loadavg()} after${Math.max(...os.loadavg()) > 1.5 ? ' (taken under load)' : ''}`);
} finally {
  for (const j of jupyters) await j.stop();
  await sidecar.stop();
  if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
}
