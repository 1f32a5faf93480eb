import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import si from 'systeminformation';
import type { SystemSection } from '../../shared/api';
import { intervalCollector } from '../core/collector';

export interface SystemCollectorOptions {
  intervalMs: number;
  /**
   * Where the CPU counters are read on Linux (default /proc/stat). Elsewhere,
   * or when it cannot be read, Node's os.cpus() counters are summed instead.
   */
  procStatPath?: string;
  /** Disks change slowly and `df` is a child process: sample them every N ticks. */
  diskEveryTicks?: number;
}

type Disk = SystemSection['disks'][number];

async function sampleDisks(): Promise<Disk[]> {
  const sizes = await si.fsSize();
  return sizes
    .filter(d => d.size > 0)
    .map(d => ({
      mount: d.mount,
      fs: d.fs,
      totalBytes: d.size,
      usedBytes: d.used,
      availableBytes: d.available
    }));
}

/** Cumulative CPU time over all cores, in any unit: busy and total. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq
 * softirq steal (guest time is already inside user). Idle is idle + iowait.
 */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n', 1)[0];
  if (!line.startsWith('cpu ')) {
    return null;
  }
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some(n => !Number.isFinite(n))) {
    return null;
  }
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** The same counters from os.cpus() (macOS, Windows, or no /proc). */
function osCpuTimes(): CpuTimes | null {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return total > 0 ? { busy, total } : null;
}

/** Busy share between two readings in %, one decimal; null without a usable pair. */
export function cpuPercent(previous: CpuTimes | null, current: CpuTimes | null): number | null {
  if (!current) {
    return null;
  }
  const busy = current.busy - (previous?.busy ?? 0);
  const total = current.total - (previous?.total ?? 0);
  if (total <= 0 || busy < 0) {
    return null;
  }
  return Math.round((1000 * busy) / total) / 10;
}

/**
 * CPU counters without a child process: systeminformation's currentLoad()
 * runs execSync('cat /proc/stat | grep cpu') on every call (a blocking spawn
 * every sample, most of the sidecar's idle CPU); one async read does the same.
 */
export function cpuTimesReader(procStatPath = '/proc/stat'): () => Promise<CpuTimes | null> {
  let useProc = process.platform === 'linux' || procStatPath !== '/proc/stat';
  return async () => {
    if (useProc) {
      try {
        const parsed = parseProcStat(await readFile(procStatPath, 'utf8'));
        if (parsed) {
          return parsed;
        }
      } catch {
        // No /proc (a sandbox): fall back for good.
      }
      useProc = false;
    }
    return osCpuTimes();
  };
}

/** CPU (from /proc/stat), memory, load and disks, on a timer. */
export function systemCollector(options: SystemCollectorOptions): ReturnType<typeof intervalCollector> {
  const diskEvery = options.diskEveryTicks ?? 15;
  let tick = 0;
  let disks: Disk[] = [];
  let cores: number | null = null;
  const readCpu = cpuTimesReader(options.procStatPath);
  // The first sample reports the average since boot, as systeminformation did.
  let lastCpu: CpuTimes | null = null;
  return intervalCollector({
    name: 'system',
    intervalMs: options.intervalMs,
    async sample(ctx) {
      // Core count does not change while we run: ask once.
      cores ??= (await si.cpu()).cores;
      const [cpu, mem] = await Promise.all([readCpu(), si.mem()]);
      const busyPercent = cpuPercent(lastCpu, cpu);
      lastCpu = cpu ?? lastCpu;
      if (tick % diskEvery === 0) {
        disks = await sampleDisks().catch(() => disks);
      }
      tick++;
      const [l1, l5, l15] = loadavg();
      const section: SystemSection = {
        cpuPercent: busyPercent,
        cores,
        load: [l1, l5, l15],
        memory: { totalBytes: mem.total, usedBytes: mem.total - mem.available, availableBytes: mem.available },
        disks,
        sampledAt: new Date(ctx.clock.now()).toISOString()
      };
      ctx.snapshot.update('system', section);
    }
  });
}
