import { describe, expect, it } from 'vitest';
import { buildReport } from '../core/report';
import { acceleratorLine, effectiveIdleCutoffS, runtimeNotes } from './runtimeFacts';

describe('runtime facts in words (panel and %vigilo report)', () => {
  it('names the TPU type, chips and HBM per chip, and the GPU driver and CUDA', () => {
    expect(acceleratorLine({ kind: 'tpu', model: '8 × TPU v5 lite', count: 8, evidence: [], tpuType: 'TPU v5 lite', hbmPerChipGB: 16 })).toBe('8 × TPU v5 lite · 8 chips · 16 GB HBM per chip');
    expect(acceleratorLine({ kind: 'tpu', model: 'TPU', count: null, evidence: [] })).toBe('TPU · chips unknown');
    expect(acceleratorLine({ kind: 'gpu', model: '2 × Tesla T4', count: 2, evidence: [], driverVersion: '535.54.03', cudaVersion: '12.2' })).toBe('2 × Tesla T4 · driver 535.54.03, CUDA 12.2');
    expect(acceleratorLine({ kind: 'gpu', model: null, count: null, evidence: [] })).toBe('GPU (model unknown: no nvidia-smi)');
    expect(acceleratorLine({ kind: 'none', model: null, count: 0, evidence: [] })).toBe('none');
  });
  it('says a Kaggle batch run has no idle cut-off, and the Colab plan inferred or asked', () => {
    expect(runtimeNotes({ name: 'kaggle', runType: 'batch', image: { name: 'gcr.io/kaggle-gpu-images/rstats', kind: 'gpu', language: 'r' }, tier: null })).toEqual([
      { label: 'Run', value: 'batch ("Save & Run All"): no idle cut-off; the session cap stays' },
      { label: 'Image', value: 'gcr.io/kaggle-gpu-images/rstats (gpu, r)' }
    ]);
    expect(runtimeNotes({ name: 'colab', tier: { value: 'paid', basis: 'inferred', evidence: ['tier: paid, inferred from A100 (a GPU Colab offers only on paid plans)'], ask: null } })).toEqual([
      { label: 'Plan', value: 'paid, inferred from A100 (a GPU Colab offers only on paid plans)' }
    ]);
    expect(runtimeNotes({ name: 'colab', tier: { value: null, basis: 'unknown', evidence: [], ask: '%vigilo profile tier=pro' } })[0]).toMatchObject({ label: 'Plan', ask: '%vigilo profile tier=pro' });
  });
  it('states the idle cut-off in force on an interactive Kaggle session (the user\u2019s override), not the platform default', () => {
    const kaggle = { name: 'kaggle' as const, runType: 'interactive' as const, tier: null };
    expect(runtimeNotes(kaggle, 20 * 60)[0].value).toBe('interactive: the 20 min idle cut-off applies');
    expect(runtimeNotes(kaggle, 45 * 60)[0].value).toBe('interactive: the 45 min idle cut-off applies');
    expect(runtimeNotes(kaggle, null)[0].value).toBe('interactive: no idle cut-off set (%vigilo profile idleCutoff=…)');
    expect(runtimeNotes(kaggle)[0].value).toBe('interactive: the idle cut-off applies (its length not reported yet)');
    // The session module's figure first, the platform section's profile before the idle collector reported.
    const profile = { variant: 'kaggle/gpu', sessionLifetimeS: 43200, idleCutoffS: 2700 };
    expect(effectiveIdleCutoffS({ platform: { profile } as never })).toBe(2700);
    expect(effectiveIdleCutoffS({ platform: { profile } as never, idle: { lastActivityAt: '2026-01-01T00:00:00Z', source: 'kernel', idleS: 0, cutoffS: 3000, remainingS: 3000 } })).toBe(3000);
    expect(effectiveIdleCutoffS(null)).toBeUndefined();
  });
  it('puts them in the %vigilo report, with the Kaggle TPU quota', () => {
    const platform = { name: 'kaggle' as const, evidence: [], runType: 'batch' as const, accelerator: { kind: 'tpu' as const, model: '8 × TPU v5 lite', count: 8, evidence: [], hbmPerChipGB: 16 } };
    const report = buildReport({
      status: { name: 'vigilo', apiVersion: 1, version: '0.0.0', pid: 1, startedAt: '2026-01-01T00:00:00.000Z', uptimeS: 5, platform },
      snapshot: {
        takenAt: '2026-01-01T00:00:00.000Z',
        platform: { ...platform, profile: { variant: 'kaggle/tpu/batch', sessionLifetimeS: 32400, idleCutoffS: null }, checkedAt: '2026-01-01T00:00:00.000Z' },
        quota: { weeklyQuotaS: 72000, remainingS: 68400, usedThisWeekS: 3600, basis: 'estimated', statedAt: null, statedRemainingS: null, countedGpuS: 0, countedTpuS: 3600, resource: 'tpu', weekStartedAt: '2025-12-27T00:00:00.000Z', resetsAt: '2026-01-03T00:00:00.000Z', counting: true, internet: { enabled: false, target: null, reachable: null, checkedAt: null, error: null } }
      } as never
    });
    const rows = report.sections.find(s => s.title === 'Runtime')!.rows;
    expect(rows.find(r => r.label === 'Platform')?.value).toBe('kaggle · 8 × TPU v5 lite · 8 chips · 16 GB HBM per chip');
    expect(rows.find(r => r.label === 'Run')?.value).toMatch(/no idle cut-off/);
    expect(rows.find(r => r.label === 'Kaggle TPU quota')?.value).toMatch(/^19 ?h.* left.*counting down while the TPU is on/);
  });
});
