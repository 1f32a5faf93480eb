import { describe, expect, it } from 'vitest';
import { applyOverrides, defaultProfile, parseOverrides } from './profiles';
import { initialQuota, parseQuotaRemaining, quotaView, stateRemaining, tickQuota, weekStartUtc } from './quota';
import { idleClock, pidStartTicks, runtimeStart, sessionClock } from './session';
import { formatDuration, parseDuration, parseSize, UnitParseError } from './units';
import { parseComputeAppLine, parseGpuLine } from './nvidiaSmi';

describe('durations and sizes typed by users', () => {
  it('reads "23h", "22h30m", "90m", "1.5h", "22:30" and bare hours', () => {
    expect(parseDuration('23h')).toBe(23 * 3600);
    expect(parseDuration('22h30m')).toBe(22.5 * 3600);
    expect(parseDuration('90m')).toBe(5400);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration('22:30')).toBe(22.5 * 3600);
    expect(parseDuration(12)).toBe(12 * 3600);
    expect(parseDuration(' 1d 2h ')).toBe(26 * 3600);
  });
  it('refuses nonsense with a message that shows the right form', () => {
    for (const bad of ['lots', '23x', 'h23', '', '-3h', '12h and more']) {
      expect(() => parseDuration(bad)).toThrow(UnitParseError);
    }
    expect(() => parseDuration('lots')).toThrow(/23h/);
  });
  it('reads sizes in decimal and binary units', () => {
    expect(parseSize('20GB')).toBe(20e9);
    expect(parseSize('15 GiB')).toBe(15 * 2 ** 30);
    expect(() => parseSize('20 bananas')).toThrow(/unknown size unit/);
    expect(formatDuration(45296)).toBe('12h34m56s');
  });
});

describe('platform profiles', () => {
  it('gives Colab 12 h lifetime and 90 min idle, marked unverified with their source', () => {
    const p = defaultProfile('colab', 'gpu');
    expect(p.fields.sessionLifetime).toMatchObject({ value: 43200, display: '12h', verified: false });
    expect(p.fields.sessionLifetime.source).toMatch(/colabtools#1961/);
    expect(p.fields.idleCutoff.value).toBe(5400);
    expect(p.durablePaths).toContain('/content/drive');
  });
  it('gives a Kaggle TPU session 9 h and a GPU session 12 h, 30 h weekly GPU quota, 20 GB output', () => {
    expect(defaultProfile('kaggle', 'tpu').fields.sessionLifetime.value).toBe(9 * 3600);
    const gpu = defaultProfile('kaggle', 'gpu');
    expect(gpu.fields.sessionLifetime.value).toBe(12 * 3600);
    expect(gpu.fields.weeklyGpuQuota.value).toBe(30 * 3600);
    expect(gpu.fields.outputLimit.value).toBe(20e9);
  });
  it('applies user overrides and says where each overridden number came from', () => {
    const o = parseOverrides({ sessionLifetime: '24h', outputLimit: '50GB', idleCutoff: 'none' });
    const p = applyOverrides(defaultProfile('colab'), o, 'POST /profile', '2026-01-01T00:00:00.000Z');
    expect(p.fields.sessionLifetime).toMatchObject({ value: 86400, source: 'user override (POST /profile)', date: '2026-01-01T00:00:00.000Z' });
    expect(p.fields.sessionLifetime.note).toMatch(/built-in: 12h/);
    expect(p.fields.idleCutoff.value).toBeNull();
    expect(() => parseOverrides({ sessionLifetime: 'forever' })).toThrow(/sessionLifetime/);
    expect(() => parseOverrides({ coffee: '1h' })).toThrow(/unknown profile field "coffee"/);
  });
});

describe('Kaggle weekly quota', () => {
  it('resets at Saturday 00:00 UTC', () => {
    expect(new Date(weekStartUtc(Date.parse('2026-01-07T15:00:00Z'))).toISOString()).toBe('2026-01-03T00:00:00.000Z'); // Wed → Sat before
    expect(new Date(weekStartUtc(Date.parse('2026-01-03T00:00:00Z'))).toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(new Date(weekStartUtc(Date.parse('2026-01-02T23:59:59Z'))).toISOString()).toBe('2025-12-27T00:00:00.000Z');
  });
  it('counts GPU time against what the user stated, ignores gaps when nothing ran, and resets weekly', () => {
    const t0 = Date.parse('2026-01-07T10:00:00Z');
    let s = stateRemaining(initialQuota(t0), parseQuotaRemaining('23h'), t0);
    s = tickQuota(s, t0, true, 10_000);
    for (let i = 1; i <= 360; i++) s = tickQuota(s, t0 + i * 5000, true, 10_000); // 30 min of GPU
    expect(quotaView(s, 30 * 3600)).toMatchObject({ remainingS: 23 * 3600 - 1800, basis: 'stated' });
    s = tickQuota(s, t0 + 360 * 5000 + 3_600_000, true, 10_000); // an hour-long gap: sidecar was down
    expect(quotaView(s, 30 * 3600).remainingS).toBe(23 * 3600 - 1800);
    s = tickQuota(s, Date.parse('2026-01-10T00:00:01Z'), true, 10_000);
    expect(quotaView(s, 30 * 3600)).toMatchObject({ remainingS: 30 * 3600 - 1, basis: 'estimated', weekStartedAt: '2026-01-10T00:00:00.000Z' });
  });
  it('refuses a quota longer than a week and nonsense', () => {
    expect(() => parseQuotaRemaining('200h')).toThrow(/more than a week/);
    expect(() => parseQuotaRemaining('plenty')).toThrow(UnitParseError);
  });
});

describe('session and idle clocks', () => {
  // A real /proc/1/stat line shape; field 22 (starttime) = 12345 ticks.
  const stat1 = '1 (tini) S 0 1 1 0 -1 4194560 1034 0 0 0 3 1 0 0 20 0 1 0 12345 2437120 150 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 3 0 0 0 0 0';
  it('reads PID 1’s start time, even when its name has spaces and parentheses', () => {
    expect(pidStartTicks(stat1)).toBe(12345);
    expect(pidStartTicks(stat1.replace('(tini)', '(my (odd) init)'))).toBe(12345);
  });
  it('counts the session from the runtime start, not the sidecar start', () => {
    const btime = 1_767_225_600; // 2026-01-01T00:00:00Z
    const start = runtimeStart({ pid1Stat: stat1, procStat: `cpu 1 2 3\nbtime ${btime}\n`, procUptime: '999999.0 1.0', readAtMs: (btime + 7200) * 1000, sidecarStartedAtMs: (btime + 7000) * 1000 });
    expect(start).toMatchObject({ basis: 'pid1', startedAtMs: btime * 1000 + 123450 });
    const clock = sessionClock(start.startedAtMs, (btime + 7200) * 1000, 12 * 3600);
    // Runtime up 7200 − 123.45 s = 7076.55 s → 43200 − 7076.55 ≈ 36123 s left (the sidecar start is ignored).
    expect(clock.remainingS).toBe(36123);
  });
  it('falls back to /proc/uptime, then to the sidecar start, and says so', () => {
    expect(runtimeStart({ pid1Stat: null, procStat: null, procUptime: '3600.5 100', readAtMs: 10_000_000, sidecarStartedAtMs: 9_000_000 })).toMatchObject({ basis: 'uptime', startedAtMs: 10_000_000 - 3_600_500 });
    expect(runtimeStart({ pid1Stat: null, procStat: null, procUptime: null, readAtMs: 10_000_000, sidecarStartedAtMs: 9_000_000 })).toMatchObject({ basis: 'sidecar', startedAtMs: 9_000_000 });
  });
  it('counts idle time from the latest of kernel and panel activity', () => {
    const now = 10_000_000;
    expect(idleClock({ kernelLastActivityMs: now - 600_000, panelLastActivityMs: now - 60_000, floorMs: 0 }, now, 5400)).toMatchObject({ source: 'panel', idleS: 60, remainingS: 5340 });
    expect(idleClock({ kernelLastActivityMs: now - 30_000, panelLastActivityMs: null, floorMs: 0 }, now, 5400)).toMatchObject({ source: 'kernel', idleS: 30 });
    expect(idleClock({ kernelLastActivityMs: null, panelLastActivityMs: null, floorMs: now - 5_000 }, now, null)).toMatchObject({ source: 'sidecar-start', remainingS: null });
  });
});

// Platform and accelerator detection: src/core/platform.spec.ts (the precedence table).

describe('nvidia-smi rows', () => {
  it('parses a query-gpu row and turns [N/A] / [Not Supported] cells into null', () => {
    const r = parseGpuLine('0, GPU-1e9d4f36-d5d6-7b4b-f5f5-8f4b3d1a9c2e, Tesla T4, 15360, 1234, 45, 52, [N/A]');
    expect(r).toEqual({ ok: true, row: { index: 0, uuid: 'GPU-1e9d4f36-d5d6-7b4b-f5f5-8f4b3d1a9c2e', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 1234, utilizationPercent: 45, temperatureC: 52, powerW: null } });
    const dep = parseGpuLine('0, GPU-x, NVIDIA GeForce RTX 2080 SUPER, 8192, 1, [Not Supported], 40, [Requested functionality has been deprecated]');
    expect(dep.ok && dep.row.utilizationPercent).toBeNull();
  });
  it('reports garbage lines with a reason instead of throwing', () => {
    for (const line of ['Failed to initialize NVML: Driver/library version mismatch', '0, GPU-x, T4, lots, 1, 2, 3, 4', '\u0000\u0001garbage', '']) {
      const r = parseGpuLine(line);
      expect(r.ok).toBe(false);
    }
  });
  it('parses compute-apps rows whose process name contains commas', () => {
    expect(parseComputeAppLine('11327, /root/tools/memhog, 2566, GPU-00000000-0000-0000-0000-000000000000')).toEqual({ ok: true, row: { pid: 11327, processName: '/root/tools/memhog', usedMiB: 2566, gpuUuid: 'GPU-00000000-0000-0000-0000-000000000000' } });
    const odd = parseComputeAppLine('42, python -c a,b, [N/A], GPU-1');
    expect(odd.ok && odd.row).toMatchObject({ processName: 'python -c a, b', usedMiB: null });
  });
});
