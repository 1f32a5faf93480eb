import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { SystemSection } from '../../shared/api';
import { intervalCollector, type Collector } from '../core/collector';

export interface SystemCollectorOptions {
  intervalMs: number;
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

/** CPU, memory, load and disks through systeminformation, on a timer. */
export function systemCollector(options: SystemCollectorOptions): Collector {
  const diskEvery = options.diskEveryTicks ?? 15;
  let tick = 0;
  let disks: Disk[] = [];
  let cores: number | null = null;
  return intervalCollector({
    name: 'system',
    intervalMs: options.intervalMs,
    async sample(ctx) {
      // Core count does not change while we run: ask once.
      cores ??= (await si.cpu()).cores;
      const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
      if (tick % diskEvery === 0) {
        disks = await sampleDisks().catch(() => disks);
      }
      tick++;
      const [l1, l5, l15] = loadavg();
      const section: SystemSection = {
        cpuPercent: Number.isFinite(load.currentLoad) ? Math.round(load.currentLoad * 10) / 10 : null,
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
