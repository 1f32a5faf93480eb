import { describe, expect, it, vi } from 'vitest';

vi.mock('./icons', () => ({ vigiloIcon: {} }));
vi.mock('@jupyterlab/ui-components', () => ({ ReactWidget: class {}, UseSignal: () => null }));

import { summarize } from './statusbar';
import { DEFAULT_SETTINGS, EMPTY_LLM_STATE, type IVigiloState } from './tokens';

const takenAt = '2026-11-30T10:31:00.000Z';
function state(oomS: number | null): IVigiloState {
  return {
    connection: 'live',
    reason: null,
    status: null,
    apiMismatch: null,
    alerts: [],
    gpuHistory: {},
    checkpoints: { status: 'idle', data: null, error: null },
    llm: {
      ...EMPTY_LLM_STATE,
      cost: { days: 7, byDay: [{ key: '2026-11-30', calls: 3, costUsd: 0.82, unpricedCalls: 0, inputTokens: 1, outputTokens: 1 }], byWeek: [], byProvider: [], byModel: [], totalUsd: 0.82, unpricedCalls: 0, warnings: [] }
    },
    metrics: {
      takenAt,
      sidecar: { pid: 1, uptimeS: 1, rssBytes: 1, version: '0.1.0' },
      platform: { name: 'colab', evidence: [], profile: { variant: 'gpu', sessionLifetimeS: 43_200, idleCutoffS: 5400 }, checkedAt: takenAt },
      session: { startedAt: takenAt, startBasis: 'pid1', elapsedS: 3780, lifetimeS: 43_200, remainingS: 10 * 3600 + 57 * 60, endsAt: null, warnAtMin: [60, 30, 10, 5], previous: null },
      idle: { lastActivityAt: takenAt, source: 'kernel', idleS: 0, cutoffS: 5400, remainingS: 5400 },
      gpu: {
        status: 'ok',
        reason: null,
        sampledAt: takenAt,
        devices: [{ index: 0, uuid: 'G', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 8141, utilizationPercent: 0, temperatureC: 40, powerW: null, oom: oomS === null ? undefined : { secondsToLimit: oomS, basis: '', confidence: 1, usedPercent: 53, slopeMiBPerS: 1, samples: 60 } }]
      }
    }
  };
}

describe('the status-bar line', () => {
  it('shows the soonest countdown, VRAM and today’s spend — never the word "idle"', () => {
    expect(summarize(state(null))).toBe('cut-off 1h30m · VRAM 53% · $0.82');
  });

  it('shows the OOM ETA instead when VRAM is heading to full, and only the parts switched on', () => {
    expect(summarize(state(180))).toBe('OOM 3m · VRAM 53% · $0.82');
    expect(summarize(state(null), { ...DEFAULT_SETTINGS.statusBar, spend: false, countdown: false })).toBe('VRAM 53%');
  });
});
