import { readFile, statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { SystemSection } from '../../shared/api';
import { intervalCollector } from '../core/collector';

export interface SystemCollectorOptions {
  intervalMs: number;
  /**
   * Where the CPU counters are read on Linux (default /proc/stat). Elsewhere,
   * or when it cannot be read, Node's os.cpus() counters are summed instead.
   */
  procStatPath?: string;
  /** Where memory is read on Linux (default /proc/meminfo); elsewhere os.totalmem()/freemem(). */
  memInfoPath?: string;
  /** The mount table on Linux (default /proc/self/mounts); elsewhere systeminformation's fsSize(). */
  mountsPath?: string;
  /** Disks change slowly: sample them every N ticks. */
  diskEveryTicks?: number;
}

type Disk = SystemSection['disks'][number];
type Memory = SystemSection['memory'];

/**
 * Filesystems that hold no user data (and `df` does not list): never statfs'ed.
 * autofs is among them because a statfs on it can trigger a mount.
 */
const PSEUDO_FS = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf', 'configfs',
  'fusectl', 'hugetlbfs', 'autofs', 'binfmt_misc', 'nsfs', 'rpc_pipefs', 'selinuxfs', 'efivarfs', 'squashfs'
]);

/** In-memory and boot filesystems that systeminformation's fsSize() leaves out unless their source is a device path. */
const TMP_FS = ['rootfs', 'unionfs', 'squashfs', 'cramfs', 'initrd', 'initramfs', 'devtmpfs', 'tmpfs', 'udev', 'devfs', 'specfs', 'appimaged'];

/**
 * Mount points of a mount table (/proc/self/mounts) that the `disks` list shows:
 * each once, pseudo filesystems left out, and tmpfs-like ones kept only when their
 * source looks like a device, as systeminformation's fsSize() chose them.
 */
export function parseMounts(text: string): Array<{ fs: string; mount: string }> {
  const seen = new Set<string>();
  const out: Array<{ fs: string; mount: string }> = [];
  for (const line of text.split('\n')) {
    const [source, target, type] = line.split(' ');
    if (!target || !type || PSEUDO_FS.has(type)) continue;
    const device = source.startsWith('/') || target === '/' || source.indexOf('/') > 0 || source.indexOf(':') === 1;
    if (!device && TMP_FS.some(t => type.toLowerCase().includes(t))) continue;
    // The table escapes spaces, tabs and backslashes as octal (\040).
    const mount = target.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (seen.has(mount)) continue;
    seen.add(mount);
    out.push({ fs: source, mount });
  }
  return out;
}

/**
 * Disks as `df` reports them (size, used = blocks - free, available to users), from
 * the mount table and one statfs per mount: no child process. systeminformation's
 * fsSize() runs `df` and `cat /proc/mounts` through a shell (two blocking spawns
 * each time); it stays the way where there is no mount table (macOS, Windows).
 */
export function diskReader(mountsPath = '/proc/self/mounts'): () => Promise<Disk[]> {
  let useProc = process.platform === 'linux' || mountsPath !== '/proc/self/mounts';
  return async () => {
    if (useProc) {
      try {
        const disks: Disk[] = [];
        for (const { fs, mount } of parseMounts(await readFile(mountsPath, 'utf8'))) {
          try {
            const s = await statfs(mount);
            const total = Number(s.blocks) * Number(s.bsize);
            if (total <= 0) continue;
            disks.push({ mount, fs, totalBytes: total, usedBytes: total - Number(s.bfree) * Number(s.bsize), availableBytes: Number(s.bavail) * Number(s.bsize) });
          } catch {
            // Unmounted meanwhile, or not ours to read: left out, as df does.
          }
        }
        return disks;
      } catch {
        useProc = false;
      }
    }
    const { default: si } = await import('systeminformation');
    return (await si.fsSize())
      .filter(d => d.size > 0)
      .map(d => ({ mount: d.mount, fs: d.fs, totalBytes: d.size, usedBytes: d.used, availableBytes: d.available }));
  };
}

/** MemTotal and MemAvailable (kB) of /proc/meminfo, in bytes; null when either is missing. */
export function parseMemInfo(text: string): Memory | null {
  const kb = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  // Kernels before 3.14 have no MemAvailable: free + buffers + page cache, as systeminformation estimated it.
  const available = kb('MemAvailable') ?? (kb('MemFree') !== null ? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0) : null);
  if (total === null || available === null) return null;
  return { totalBytes: total, usedBytes: total - available, availableBytes: available };
}

/**
 * Memory in one read of /proc/meminfo. systeminformation's mem() read it once
 * itself and four more times through os.totalmem()/os.freemem() (libuv reads the
 * file on each call); elsewhere those two calls are the answer.
 */
export function memoryReader(memInfoPath = '/proc/meminfo'): () => Promise<Memory> {
  let useProc = process.platform === 'linux' || memInfoPath !== '/proc/meminfo';
  return async () => {
    if (useProc) {
      try {
        const parsed = parseMemInfo(await readFile(memInfoPath, 'utf8'));
        if (parsed) return parsed;
      } catch {
        // No /proc: fall back for good.
      }
      useProc = false;
    }
    const total = totalmem();
    const free = freemem();
    return { totalBytes: total, usedBytes: total - free, availableBytes: free };
  };
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

/** CPU (from /proc/stat), memory (/proc/meminfo), load and disks (mount table + statfs), on a timer. */
export function systemCollector(options: SystemCollectorOptions): ReturnType<typeof intervalCollector> {
  const diskEvery = options.diskEveryTicks ?? 15;
  let tick = 0;
  let disks: Disk[] = [];
  // Logical cores, as systeminformation's cpu().cores counted them; they do not change while we run.
  const cores = cpus().length;
  const readCpu = cpuTimesReader(options.procStatPath);
  const readMemory = memoryReader(options.memInfoPath);
  const readDisks = diskReader(options.mountsPath);
  // The first sample reports the average since boot, as systeminformation did.
  let lastCpu: CpuTimes | null = null;
  return intervalCollector({
    name: 'system',
    intervalMs: options.intervalMs,
    adaptive: true,
    async sample(ctx) {
      const [cpu, memory] = await Promise.all([readCpu(), readMemory()]);
      const busyPercent = cpuPercent(lastCpu, cpu);
      lastCpu = cpu ?? lastCpu;
      if (tick % diskEvery === 0) {
        disks = await readDisks().catch(() => disks);
      }
      tick++;
      const [l1, l5, l15] = loadavg();
      const section: SystemSection = {
        cpuPercent: busyPercent,
        cores,
        load: [l1, l5, l15],
        memory,
        disks,
        sampledAt: new Date(ctx.clock.now()).toISOString()
      };
      ctx.snapshot.update('system', section);
    }
  });
}
