import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SystemSection } from '../../shared/api';
import { EventBus } from '../core/bus';
import { ManualClock } from '../core/clock';
import { SnapshotStore } from '../core/snapshot';
import { cpuPercent, cpuTimesReader, parseProcStat, systemCollector } from './system';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A /proc/stat as the kernel writes it (two cores), with the aggregate line first. */
function procStat(user: number, system: number, idle: number, iowait = 0): string {
  return [
    `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 0 0 0`,
    `cpu0 ${user / 2} 0 ${system / 2} ${idle / 2} ${iowait / 2} 0 0 0 0 0`,
    `cpu1 ${user / 2} 0 ${system / 2} ${idle / 2} ${iowait / 2} 0 0 0 0 0`,
    'intr 123 0 0',
    'ctxt 456',
    'btime 1700000000',
    ''
  ].join('\n');
}

describe('CPU load from /proc/stat', () => {
  it('parses the aggregate line: iowait counts as idle, guest is not counted twice', () => {
    expect(parseProcStat('cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 1 2 3 4\n')).toEqual({ busy: 160, total: 1000 });
    expect(parseProcStat('intr 1 2\n')).toBeNull();
    expect(parseProcStat('cpu  a b c d\n')).toBeNull();
  });

  it('reports the busy share between two readings, and null when counters went backwards', () => {
    expect(cpuPercent({ busy: 100, total: 1000 }, { busy: 175, total: 1100 })).toBe(75);
    expect(cpuPercent(null, { busy: 1, total: 3 })).toBe(33.3);
    expect(cpuPercent({ busy: 100, total: 1000 }, { busy: 50, total: 1100 })).toBeNull();
    expect(cpuPercent({ busy: 100, total: 1000 }, null)).toBeNull();
  });

  it('falls back to os.cpus() counters when /proc/stat cannot be read', async () => {
    const read = cpuTimesReader('/nonexistent/proc/stat');
    const times = await read();
    expect(times!.total).toBeGreaterThan(0);
    expect(times!.busy).toBeGreaterThanOrEqual(0);
  });

  it('the system collector puts the load between its samples into the snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigilo-procstat-'));
    dirs.push(dir);
    const path = join(dir, 'stat');
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const snapshot = new SnapshotStore(clock, () => ({ pid: 1, uptimeS: 0, rssBytes: 0, version: 'test' }));
    const collector = systemCollector({ intervalMs: 60_000, procStatPath: path, diskEveryTicks: 1000 });
    const ctx = { snapshot, bus: new EventBus(), clock };
    writeFileSync(path, procStat(1000, 1000, 8000));
    await collector.start(ctx);
    try {
      // The first sample (disks, memory) runs in the background: wait for it, bounded.
      for (let i = 0; i < 500 && !snapshot.get('system'); i++) await new Promise(r => setTimeout(r, 10));
      expect((snapshot.get('system') as SystemSection).cpuPercent).toBe(20);
      // 300 busy of 400 ticks since the last sample: 75 %, whatever the average since boot.
      writeFileSync(path, procStat(1200, 1100, 8050, 50));
      await collector.runOnce();
      const section = snapshot.get('system') as SystemSection;
      expect(section.cpuPercent).toBe(75);
      expect(section.memory.totalBytes).toBeGreaterThan(0);
    } finally {
      await collector.stop();
    }
  });
});
