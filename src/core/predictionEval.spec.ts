/**
 * The figures of `node bench/predictions.mjs` (docs/BENCHMARKS.md, "Predictions"), each held to a
 * threshold: a change that makes a prediction worse fails here. The replay is deterministic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillingTraces, progressTraces, quietTraces, scoreCountdown, scoreMessagesLeft, scoreProgress, scoreVram } from './predictionEval';

describe('evaluation: OOM prediction', () => {
  const fills = fillingTraces().map(t => scoreVram(t));

  it('warns at least 60 s before the limit on every trace that takes 90 s or more to fill', () => {
    for (const s of fills.filter(f => f.fillS! >= 90)) expect(s.leadS, s.name).toBeGreaterThanOrEqual(60);
  });

  it('estimates the time to the limit within 20 % half way along every filling trace, within 5 % on clean and noisy ramps from 10 %', () => {
    for (const s of fills) expect(s.errorAt['50'], s.name).toBeLessThanOrEqual(0.2);
    for (const s of fills.filter(f => f.name.startsWith('ramp'))) {
      for (const share of ['10', '25', '50'] as const) expect(s.errorAt[share], `${s.name} at ${share} %`).toBeLessThanOrEqual(0.05);
    }
    // After a free, the new ramp is read on its own: within 5 % from 10 % of its way.
    const freed = fills.find(f => f.name.startsWith('freed'))!;
    expect(freed.errorAt['10']).toBeLessThanOrEqual(0.05);
  });

  const quiet = quietTraces().map(t => scoreVram(t));

  it('raises no false alarm after a sawtooth’s first tooth, and on the first tooth only where it is a slow linear ramp (45 s or longer)', () => {
    for (const s of quiet) expect(s.alertsAfterFirstTooth, s.name).toBe(0);
    for (const s of quiet.filter(q => !/sawtooth (45|60|90) s/.test(q.name))) expect(s.alerts, s.name).toBe(0);
    expect(quiet.reduce((a, s) => a + s.alerts, 0)).toBeLessThanOrEqual(3);
  });

  it('shows no OOM time (no scare text) from the second tooth on, on every sawtooth whose peaks are flat', () => {
    const saws = quiet.filter(q => /sawtooth|epochs/.test(q.name));
    expect(saws.length).toBeGreaterThanOrEqual(11);
    for (const s of saws) {
      expect(s.scares, s.name).toMatchObject({ secondTooth: 0, after: 0, afterSeconds: 0 });
      // The first tooth alone is a ramp: at most one scare there, gone at the first free.
      expect(s.scares!.firstTooth, s.name).toBeLessThanOrEqual(1);
    }
  });

  it('still warns, with lead time, on sawtooths whose peaks grow to the card', () => {
    const growing = fills.filter(f => f.name.startsWith('growing sawtooth'));
    expect(growing).toHaveLength(2);
    for (const s of growing) {
      expect(s.leadS, s.name).toBeGreaterThanOrEqual(300);
      expect(s.errorAt['50'], s.name).toBeLessThanOrEqual(0.1);
    }
  });
});

describe('evaluation: will it finish', () => {
  const runs = progressTraces().map(t => scoreProgress(t));

  it('predicts the finish within 5 % after 10 % of the run (15 % for a run that slows down), and the verdict is right', () => {
    for (const s of runs) {
      expect(s.errorAt10, s.name).not.toBeNull();
      expect(s.errorAt10!, s.name).toBeLessThanOrEqual(s.name.startsWith('slowing') ? 0.15 : 0.05);
      expect(s.verdictRight, s.name).toBe(s.verdictCases);
    }
  });
});

describe('evaluation: session countdown and messages left', () => {
  it('counts the session from the container start, whenever the sidecar started', () => {
    expect(scoreCountdown(8 * 3600, 900, 'pid1').errorS).toBeLessThan(1);
    // Fallbacks are off by what they cannot see: the VM's uptime before the container, or the sidecar's lateness.
    expect(scoreCountdown(3 * 3600, 900, 'uptime')).toMatchObject({ basis: 'uptime', errorS: 900 });
    expect(scoreCountdown(3 * 3600, 120, 'none')).toMatchObject({ basis: 'sidecar', errorS: 3 * 3600 });
  });

  it('forecasts the messages left in the context window within one message on the replayed conversations', () => {
    const set = JSON.parse(readFileSync(join(__dirname, '..', '..', 'test', 'eval', 'conversations.json'), 'utf8'));
    const errors = set.conversations.flatMap((c: Parameters<typeof scoreMessagesLeft>[0]) => scoreMessagesLeft(c).errors);
    expect(errors.length).toBeGreaterThan(40);
    expect(Math.max(...errors)).toBeLessThanOrEqual(1);
    expect(errors.reduce((a: number, b: number) => a + b, 0) / errors.length).toBeLessThanOrEqual(0.75);
  });
});
