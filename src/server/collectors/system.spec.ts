import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SystemSection } from '../../shared/api';
import { EventBus } from '../core/bus';
import { ManualClock } from '../core/clock';
import { SnapshotStore } from '../core/snapshot';
import { cpuPercent, cpuTimesReader, diskReader, memoryReader, parseMemInfo, parseMounts, parseProcStat, systemCollector } from './system';

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

describe('memory and disks without systeminformation', () => {
  it('memory is MemTotal and MemAvailable of /proc/meminfo, in bytes', () => {
    const text = 'MemTotal:       16000 kB\nMemFree:         2000 kB\nMemAvailable:    6000 kB\nBuffers:          100 kB\nCached:          3000 kB\n';
    expect(parseMemInfo(text)).toEqual({ totalBytes: 16000 * 1024, usedBytes: 10000 * 1024, availableBytes: 6000 * 1024 });
    // An old kernel without MemAvailable: free + buffers + page cache.
    expect(parseMemInfo('MemTotal: 16000 kB\nMemFree: 2000 kB\nBuffers: 100 kB\nCached: 3000 kB\n')!.availableBytes).toBe(5100 * 1024);
    expect(parseMemInfo('garbage')).toBeNull();
  });

  it('the mount table gives each disk once, as systeminformation chose them: pseudo and in-memory filesystems, squashfs and repeated mount points left out', () => {
    const table = [
      'proc /proc proc rw 0 0',
      '/dev/vda / ext4 rw 0 0',
      'tmpfs /dev/shm tmpfs rw 0 0',
      'devtmpfs /dev devtmpfs rw 0 0',
      'cgroup /sys/fs/cgroup/cpu cgroup rw 0 0',
      '/dev/loop0 /snap/core squashfs ro 0 0',
      'overlay /content overlay rw 0 0',
      'drive /content/My\\040Drive fuse.drive rw 0 0',
      '/dev/sdb1 /content/data ext4 rw 0 0',
      '/dev/sdb1 /content/data ext4 rw 0 0',
      ''
    ].join('\n');
    expect(parseMounts(table)).toEqual([
      { fs: '/dev/vda', mount: '/' },
      { fs: 'overlay', mount: '/content' },
      { fs: 'drive', mount: '/content/My Drive' },
      { fs: '/dev/sdb1', mount: '/content/data' }
    ]);
  });

  it('a disk is measured with statfs as df reports it (used = size - free), mounts that cannot be read left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigilo-mounts-'));
    dirs.push(dir);
    const mounts = join(dir, 'mounts');
    writeFileSync(mounts, `/dev/x ${dir} ext4 rw 0 0\n/dev/y ${join(dir, 'gone')} ext4 rw 0 0\n`);
    const disks = await diskReader(mounts)();
    expect(disks).toHaveLength(1);
    const [disk] = disks;
    const s = statfsSync(dir);
    expect(disk.mount).toBe(dir);
    expect(disk.fs).toBe('/dev/x');
    expect(disk.totalBytes).toBe(s.blocks * s.bsize);
    expect(disk.usedBytes).toBeGreaterThan(0);
    expect(disk.usedBytes + disk.availableBytes).toBeLessThanOrEqual(disk.totalBytes);
  });

  it('memory falls back to os.totalmem()/freemem() when the file cannot be read', async () => {
    const memory = await memoryReader('/nonexistent/meminfo')();
    expect(memory.totalBytes).toBeGreaterThan(0);
    expect(memory.usedBytes + memory.availableBytes).toBe(memory.totalBytes);
  });
});
