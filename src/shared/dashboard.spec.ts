import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from './api';
import { countdownBar, countdowns, verdict } from './dashboard';

const clock = { locale: 'en-GB', timeZone: 'Europe/Paris', nowMs: Date.parse('2026-11-30T10:31:00Z') };
const base: MetricsSnapshot = {
  takenAt: '2026-11-30T10:31:00.000Z',
  sidecar: { pid: 1, uptimeS: 10, rssBytes: 1, version: '0.1.0' }
};
const session = (remainingS: number | null): MetricsSnapshot['session'] => ({
  startedAt: '2026-11-30T09:28:00.000Z',
  startBasis: 'pid1',
  elapsedS: 3780,
  lifetimeS: 12 * 3600,
  remainingS,
  endsAt: remainingS === null ? null : new Date(Date.parse(base.takenAt) + remainingS * 1000).toISOString(),
  warnAtMin: [60, 30, 10, 5],
  previous: null
});
const idle = (remainingS: number): MetricsSnapshot['idle'] => ({ lastActivityAt: '2026-11-30T10:00:00.000Z', source: 'kernel', idleS: 5400 - remainingS, cutoffS: 5400, remainingS });
const gpu = (used: number, secondsToLimit: number | null): MetricsSnapshot['gpu'] => ({
  status: 'ok',
  reason: null,
  sampledAt: base.takenAt,
  devices: [
    {
      index: 0,
      uuid: 'GPU-1',
      name: 'Tesla T4',
      memoryTotalMiB: 15360,
      memoryUsedMiB: used,
      utilizationPercent: 90,
      temperatureC: 60,
      powerW: null,
      oom: { secondsToLimit, basis: 'trend', confidence: 0.9, usedPercent: (100 * used) / 15360, slopeMiBPerS: 3, samples: 60 }
    }
  ]
});

describe('the verdict: the soonest threat in one line', () => {
  it('says when the runtime ends, with the clock time in the user zone', () => {
    const v = verdict({ ...base, session: session(10 * 3600 + 57 * 60), idle: idle(5000) }, 'colab', clock);
    expect(v.text).toBe('Idle cut-off in 1 h 23 min');
    const w = verdict({ ...base, session: session(10 * 3600 + 57 * 60) }, 'colab', clock);
    expect(w).toMatchObject({ level: 'ok', text: 'Runtime ends in 10 h 57 min (22:28 CET)' });
  });

  it('puts a filling GPU first, in red, before a calmer countdown; among urgent ones the soonest leads', () => {
    const u = verdict({ ...base, session: session(5 * 3600), idle: idle(60 * 60), gpu: gpu(14000, 180) }, 'colab', clock);
    expect(u).toMatchObject({ level: 'critical', text: 'VRAM full in ~3 min' });
    const v = verdict({ ...base, session: session(11 * 60), idle: idle(60), gpu: gpu(14000, 180) }, 'colab', clock);
    expect(v).toMatchObject({ level: 'critical', text: 'Idle cut-off in 1 min' });
    expect(v.threats.map(t => t.kind)).toEqual(['idle', 'oom', 'session']);
  });

  it('is "All clear" on a local runtime with nothing heading anywhere', () => {
    expect(verdict({ ...base, gpu: gpu(3000, null) }, 'local', clock)).toMatchObject({ level: 'ok', text: 'All clear', threat: null });
  });
});

describe('countdowns: only what applies on the platform, "unknown" with a reason', () => {
  it('has none on a local runtime, and runtime + idle on Colab with the warning marks', () => {
    expect(countdowns({ ...base }, 'local', clock)).toEqual([]);
    const items = countdowns({ ...base, session: session(3600), idle: idle(600) }, 'colab', clock);
    expect(items.map(c => [c.id, c.remainingS, c.level])).toEqual([
      ['session', 3600, 'ok'],
      ['idle', 600, 'warning']
    ]);
    expect(items[0].marksS).toEqual([3600, 1800, 600, 300]);
    // The bar: a twelfth of a 12 h runtime left; every mark fits inside the span.
    expect(countdownBar(items[0])).toEqual({ percent: 100 / 12, marks: [100 / 12, 100 / 24, 100 / 72, 100 / 144] });
  });

  it('asks for the Kaggle quota when nobody stated it', () => {
    const quota = {
      weeklyQuotaS: 30 * 3600,
      remainingS: null,
      usedThisWeekS: null,
      basis: 'unknown' as const,
      statedAt: null,
      statedRemainingS: null,
      countedGpuS: 0,
      weekStartedAt: '2026-11-28T00:00:00.000Z',
      resetsAt: '2026-12-05T00:00:00.000Z',
      counting: false,
      internet: { enabled: false, target: null, reachable: null, checkedAt: null, error: null }
    };
    const q = countdowns({ ...base, session: session(3600), idle: idle(600), quota }, 'kaggle', clock).find(c => c.id === 'quota');
    expect(q).toMatchObject({ remainingS: null, unknownReason: expect.stringContaining('%vigilo quota 30h') });
  });
});

describe('will it finish?', () => {
  it('makes a run that cannot finish before the runtime ends the verdict', () => {
    const progress: MetricsSnapshot['progress'] = {
      main: null,
      verdict: { kind: 'runs-out', text: 'runs out: needs 3 h 10 min, the runtime has 2 h 05 min', needsS: 11_400, limitS: 7500, limit: 'session', reachesN: 6500 },
      bars: [],
      updatedAt: base.takenAt
    };
    const v = verdict({ ...base, session: session(7500), progress }, 'colab', clock);
    expect(v).toMatchObject({ level: 'critical', text: 'Runs out: needs 3 h 10 min, the runtime has 2 h 05 min' });
  });
});
