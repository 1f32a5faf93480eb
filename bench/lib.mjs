// Shared helpers for the bench scripts: run the built sidecar, read /proc, percentiles.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The malloc settings the launcher gives the sidecar (vigilo/_sidecar.py MALLOC_ENV; the environment wins,
 * as there). `--malloc default` leaves them out: the launcher before issue 18.
 */
export function launcherEnv(args) {
  return args.malloc === 'default' ? {} : { MALLOC_MMAP_THRESHOLD_: '32768', MALLOC_ARENA_MAX: '2' };
}

/** `--name value` pairs of the command line → { name: 'value' }. */
export function cliArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
}

/** Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state), so utime is [11], stime [12], cutime [13], cstime [14]. */
export function procStatFields(pid = 'self') {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const USER_HZ = 100; // clock ticks per second on Linux

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] };
}

/** CPU seconds (user+system) and RSS bytes of a pid, from /proc. */
export function procUsage(pid) {
  const fields = procStatFields(pid);
  const cpuS = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { cpuS, rssBytes: rssKb * 1024 };
}

/** Start `node bin/vigilo.js serve` in a temp data dir; resolves once it printed its JSON line. */
/**
 * A paired measurement of two async calls: `warmup` rounds of both, then `n`
 * rounds timed, alternating which runs first so neither always has the warm
 * cache or the cold one. Returns both summaries and the summary of the paired
 * differences (b − a), in ms.
 */
export async function pairedTimes(a, b, n, warmup) {
  const time = async fn => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const ta = [];
  const tb = [];
  for (let i = 0; i < n; i++) {
    if (i % 2) {
      ta.push(await time(a));
      tb.push(await time(b));
    } else {
      tb.push(await time(b));
      ta.push(await time(a));
    }
  }
  return { a: summary(ta), b: summary(tb), delta: summary(tb.map((x, i) => x - ta[i])) };
}

export async function startSidecar(extraArgs = [], env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-bench-'));
  const t0 = performance.now();
  // BENCH_BUNDLE=1 runs the esbuild bundle the wheel ships instead of the tsc build.
  // BENCH_SIDECAR_CJS=<path> runs another bundle (e.g. a copy of an older build, for before/after figures).
  const entry = process.env.BENCH_BUNDLE === '1' || process.env.BENCH_SIDECAR_CJS
    ? ['-e', 'require(process.argv[1]).main(process.argv)', process.env.BENCH_SIDECAR_CJS || join(ROOT, 'vigilo', 'sidecar', 'vigilo-sidecar.cjs')]
    : [join(ROOT, 'bin', 'vigilo.js')];
  const child = spawn(process.execPath, [...entry, 'serve', '--port', '0', '--json', '--data-dir', dataDir, ...extraArgs], {
    env: { ...process.env, VIGILO_TOKEN: 'bench-token', ...env },
    stdio: ['ignore', 'pipe', 'ignore']
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', code => reject(new Error(`sidecar exited ${code}`)));
  });
  const announce = JSON.parse(line);
  return {
    child,
    t0,
    url: announce.url,
    token: 'bench-token',
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
}
