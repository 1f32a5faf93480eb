import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../server/alerts/engine';
import { ManualClock } from '../server/core/clock';
import type { GpuDevice } from '../shared/api';
import { oomSummary } from '../shared/dashboard';
import { oomAlertValue, predictOom, type TorchReservedSample, type VramSample } from './oom';
import { seeded } from './predictionEval';

const TOTAL = 15360; // Tesla T4, MiB (telegraf tesla-t4 capture)

function series(seconds: number, f: (t: number) => number, stepS = 1): VramSample[] {
  const out: VramSample[] = [];
  for (let t = 0; t <= seconds; t += stepS) out.push({ tMs: t * 1000, usedMiB: Math.min(TOTAL, Math.round(f(t))) });
  return out;
}

function expectWithin20(predicted: number | null, truth: number): void {
  expect(predicted).not.toBeNull();
  expect(Math.abs(predicted! - truth) / truth).toBeLessThanOrEqual(0.2);
}

describe('OOM prediction', () => {
  it('predicts a linear VRAM ramp’s time to the limit within 20 %', () => {
    // 2000 MiB + 10 MiB/s: reaches 15360 MiB at t = 1336 s. Evaluated at t = 400 s → 936 s left.
    const p = predictOom(series(400, t => 2000 + 10 * t), TOTAL);
    expectWithin20(p.secondsToLimit, 936);
    expect(p.confidence).toBeGreaterThanOrEqual(0.75);
    expect(p.basis).toMatch(/grew/);
  });

  it('follows step growth between epochs (one jump a minute) within 20 %', () => {
    // +600 MiB at every epoch boundary (60 s), flat in between: average 10 MiB/s.
    const f = (t: number) => 3000 + 600 * Math.floor(t / 60);
    const at = 600; // usage 9000 MiB → 6360 MiB left at 10 MiB/s average = 636 s
    const p = predictOom(series(at, f), TOTAL);
    expectWithin20(p.secondsToLimit, (TOTAL - f(at)) / 10);
  });

  it('follows a ramp under a caching allocator’s sawtooth within 20 %', () => {
    // Sawtooth of 1500 MiB with a 20 s period riding on 5 MiB/s growth.
    const f = (t: number) => 2000 + 5 * t + 1500 * ((t % 20) / 20);
    const at = 500;
    const peakNow = 2000 + 5 * at + 1500 * (19 / 20);
    const p = predictOom(series(at, f), TOTAL);
    expectWithin20(p.secondsToLimit, (TOTAL - peakNow) / 5);
  });

  it('does not predict an OOM on a flat plateau', () => {
    const p = predictOom(series(600, () => 11000), TOTAL);
    expect(p.secondsToLimit).toBeNull();
    expect(p.basis).toMatch(/flat/);
    expect(p.usedPercent).toBeCloseTo(71.6, 1);
  });

  it('does not cry wolf on a sawtooth without growth', () => {
    for (const period of [7, 20, 45, 90]) {
      const p = predictOom(series(600, t => 4000 + 6000 * ((t % period) / period)), TOTAL);
      expect(p.secondsToLimit, `period ${period} s`).toBeNull();
    }
  });

  it('does not cry wolf on flat usage with allocator jitter', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const p = predictOom(series(600, () => 9000 + Math.round(rand() * 6)), TOTAL);
    expect(p.secondsToLimit).toBeNull();
  });

  it('stops predicting once a ramp has levelled off into a plateau', () => {
    const p = predictOom(series(600, t => (t < 250 ? 2000 + 20 * t : 7000)), TOTAL);
    expect(p.secondsToLimit).toBeNull();
    expect(p.basis).toMatch(/plateau|flat/);
  });

  it('says it needs more samples instead of guessing from a handful', () => {
    const p = predictOom(series(5, t => 2000 + 100 * t), TOTAL);
    expect(p.secondsToLimit).toBeNull();
    expect(p.basis).toMatch(/not enough samples/);
    // Twenty seconds of a ramp give an estimate, not yet a warning: the limit is ~2 min away, so the
    // evidence must span 0.45 × that (this could still be the rising half of a long allocation cycle).
    const q = predictOom(series(20, t => 2000 + 100 * t), TOTAL);
    expect(q).toMatchObject({ secondsToLimit: null, trend: 'uncertain' });
    expectWithin20(q.estimateS, (TOTAL - 4000) / 100);
    expect(q.basis).toMatch(/51 s of evidence before warning/);
  });

  it('estimates a clean ramp within 20 % from its 10th sample, with its confidence', () => {
    for (const slope of [5, 40, 150]) {
      const f = (t: number) => 1000 + slope * t;
      const p = predictOom(series(9, f), TOTAL);
      expect(p.samples).toBe(10);
      expectWithin20(p.estimateS, (TOTAL - f(9)) / slope);
      expect(p.confidence).toBeGreaterThanOrEqual(0.6);
    }
  });

  it('warns at least 60 s ahead on any ramp that takes 90 s or more to fill', () => {
    for (const fillS of [90, 120, 180, 300, 600, 1800]) {
      const slope = (TOTAL - 1000) / fillS;
      const raised = alertsAlong(t => 1000 + slope * t, fillS + 5);
      expect(raised.length, `fill in ${fillS} s`).toBeGreaterThan(0);
      expect(fillS - raised[0].t, `lead on a ${fillS} s ramp`).toBeGreaterThanOrEqual(60);
    }
  });

  it('reads the new trend soon after memory is freed instead of averaging it with the old one', () => {
    // 30 MiB/s up to 12000 MiB, freed down to 2000 MiB at t = 360 s, then a new ramp at 75 MiB/s.
    const f = (t: number) => (t < 360 ? 1200 + 30 * t : 2000 + 75 * (t - 360));
    const p = predictOom(series(375, f), TOTAL); // 15 samples after the free
    expect(p.slopeMiBPerS!).toBeGreaterThan(75 * 0.8);
    expect(p.slopeMiBPerS!).toBeLessThan(75 * 1.2);
    expectWithin20(p.estimateS, (TOTAL - f(375)) / 75);
    expect(p.basis).toMatch(/since memory was freed/);
    // A different climb from the one before: warned once a minute of evidence exists (the limit is > 2 min away).
    expect(predictOom(series(400, f), TOTAL).trend).toBe('uncertain');
    const q = predictOom(series(425, f), TOTAL);
    expect(q.trend).toBe('rising');
    expectWithin20(q.secondsToLimit, (TOTAL - f(425)) / 75);
  });

  it('gives no time, not even a tentative one, for a climb that repeats the one before a free until it passes the old peak', () => {
    // The same 30 MiB/s climb again after the free: maybe the next turn of a cycle.
    const f = (t: number) => (t < 360 ? 1200 + 30 * t : 2000 + 30 * (t - 360));
    for (const at of [380, 450, 600]) {
      const p = predictOom(series(at, f), TOTAL);
      expect(p, `t = ${at} s`).toMatchObject({ secondsToLimit: null, estimateS: null, trend: 'uncertain' });
      expect(p.basis).toMatch(/still below the 11970 MiB held before/);
    }
    // Past that peak it is new ground: warned.
    const q = predictOom(series(700, f), TOTAL);
    expect(q.trend).toBe('rising');
    expectWithin20(q.secondsToLimit, (TOTAL - f(700)) / 30);
  });

  it('never warns on PyTorch’s caching allocator reserving blocks then holding', () => {
    // Reserved memory grows in 2 GiB segments over the first iterations (one every 2 s), one more at the
    // first evaluation (t = 300 s) and one when a longer batch arrives (t = 900 s), then holds.
    const f = (t: number) => 1500 + 2048 * (Math.min(4, Math.floor(t / 2)) + (t >= 300 ? 1 : 0) + (t >= 900 ? 1 : 0));
    expect(alertsAlong(f, 3600)).toEqual([]);
  });

  it('reports zero seconds left when a ramp already reached the limit', () => {
    const p = predictOom(series(300, t => 12000 + 20 * t), TOTAL);
    expect(p.secondsToLimit).toBe(0);
  });

  it('gets better as a ramp goes on: within 20 % from 60 samples at 1 Hz, across slopes', () => {
    for (const slope of [2, 8, 30]) {
      const f = (t: number) => 1000 + slope * t;
      const p = predictOom(series(60, f), TOTAL);
      expectWithin20(p.secondsToLimit, (TOTAL - f(60)) / slope);
    }
  });

  it('is within 20 % at every sample of a ramp once a minute of history exists', () => {
    const f = (t: number) => 1500 + 6 * t; // limit at t = 2310 s
    const samples = series(2200, f);
    for (let n = 61; n <= samples.length; n += 7) {
      const p = predictOom(samples.slice(0, n), TOTAL);
      const t = samples[n - 1].tMs / 1000;
      expectWithin20(p.secondsToLimit, (TOTAL - f(t)) / 6);
    }
  });
});

/**
 * The prediction as the sidecar uses it: re-evaluated at every 1 Hz sample
 * from the very first one, through the alert engine with the gpu.oom rule's
 * thresholds (src/server/gpu/module.ts), so a false alarm at any point of
 * the series (the sidecar's start included) fails.
 */
function alertsAlong(f: (t: number) => number, seconds: number): Array<{ t: number; severity: string; predicted: number }> {
  const clock = new ManualClock(0);
  const engine = new AlertEngine({ clock });
  engine.addRule({
    id: 'gpu.oom',
    direction: 'below',
    severity: 'warning',
    thresholds: [{ value: 600, severity: 'warning' }, { value: 120, severity: 'critical' }],
    hysteresis: 60,
    message: value => `${value}`
  });
  const samples: VramSample[] = [];
  const raised: Array<{ t: number; severity: string; predicted: number }> = [];
  for (let t = 0; t <= seconds; t++) {
    clock.set(t * 1000);
    samples.push({ tMs: t * 1000, usedMiB: Math.min(TOTAL, Math.round(f(t))) });
    const alert = engine.observe('gpu.oom', 'gpu0', oomAlertValue(predictOom(samples, TOTAL)));
    if (alert) raised.push({ t, severity: alert.severity, predicted: alert.value! });
  }
  return raised;
}

describe('OOM alerts along a whole run', () => {
  it('never alerts on a flat allocator sawtooth, from the first sample on', () => {
    for (const period of [2, 5, 13, 20, 30]) {
      expect(alertsAlong(t => 4000 + 9000 * ((t % period) / period), 900), `period ${period} s`).toEqual([]);
    }
  });

  it('never alerts on a single step (model loaded) followed by a plateau', () => {
    expect(alertsAlong(t => (t < 200 ? 2500 : 12500), 900)).toEqual([]);
  });

  it('predicts a staircase (one step per epoch) reasonably and falls silent on the plateau after the last step', () => {
    const f = (t: number) => 3000 + 900 * Math.min(12, Math.floor(t / 60));
    // While the steps go on, the prediction follows the average growth (15 MiB/s).
    const during = predictOom(series(420, f), TOTAL);
    expectWithin20(during.secondsToLimit, (TOTAL - f(420)) / 15);
    // Two and a half minutes after the last step (t = 720 s) it is a plateau: no prediction, no alert.
    const after = predictOom(series(880, f), TOTAL);
    expect(after).toMatchObject({ secondsToLimit: null, trend: 'plateau' });
    const raised = alertsAlong(f, 1500);
    // Warned early (the trend did point at the limit), critical at the last step, then silence on the plateau.
    expect(raised.map(a => a.severity)).toEqual(['warning', 'critical']);
    expect(raised.every(a => a.t <= 720)).toBe(true);
  });

  it('raises one alert per level on a noisy ramp, not one each time confidence wavers', () => {
    let seed = 11;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    // 8 MiB/s under a 13 s sawtooth of 800 MiB and ±150 MiB noise: the limit comes near t = 1500 s.
    const noise = Array.from({ length: 2001 }, () => rand() * 300);
    const f = (t: number) => 2000 + 8 * t + 800 * ((t % 13) / 13) + noise[t];
    const raised = alertsAlong(f, 2000);
    expect(raised.map(a => a.severity)).toEqual(['warning', 'critical']);
    const warning = raised[0];
    const truth = (TOTAL - (2000 + 8 * warning.t + 800 + 300)) / 8; // peaks reach the limit first
    expect(Math.abs(warning.predicted - truth) / truth).toBeLessThanOrEqual(0.2);
  });

  it('feeds the alert rule "far away" only when confidently flat, and nothing while unsure', () => {
    expect(oomAlertValue({ trend: 'rising', secondsToLimit: 300 })).toBe(300);
    expect(oomAlertValue({ trend: 'flat', secondsToLimit: null })).toBe(Number.MAX_SAFE_INTEGER);
    expect(oomAlertValue({ trend: 'plateau', secondsToLimit: null })).toBe(Number.MAX_SAFE_INTEGER);
    expect(oomAlertValue({ trend: 'uncertain', secondsToLimit: null })).toBeNull();
    expect(oomAlertValue({ trend: 'unknown', secondsToLimit: null })).toBeNull();
  });

  it('does not alert on a slow ramp that is hours from the limit', () => {
    expect(alertsAlong(t => 3000 + 0.5 * t, 1800)).toEqual([]);
  });
});

describe('OOM on a training sawtooth: the peaks decide', () => {
  const GiB = 1024;
  /** 6 → 12 GiB over each 10 s and freed at once, ± `jitter` MiB of seeded noise (the case). */
  const sawtooth = (seconds: number, jitter: number, peakGrowthPerTooth = 0): VramSample[] => {
    const rand = seeded(5);
    return series(seconds, t => 6 * GiB + 6 * GiB * ((t % 10) / 10) + peakGrowthPerTooth * Math.floor(t / 10) + (rand() - 0.5) * 2 * jitter);
  };
  /** What the GPU card and the report read for a prediction. */
  const shown = (oom: ReturnType<typeof predictOom>) => oomSummary({ oom } as GpuDevice);

  it('shows no time to the limit, tentative or not, at any sample after the second tooth of a flat 6 → 12 GiB sawtooth', () => {
    for (const jitter of [0, 100]) {
      const samples = sawtooth(900, jitter);
      for (let i = 20; i < samples.length; i++) {
        const p = predictOom(samples.slice(Math.max(0, i - 400), i + 1), TOTAL);
        expect(p.secondsToLimit, `t = ${i} s ± ${jitter}`).toBeNull();
        expect(p.estimateS, `t = ${i} s ± ${jitter}`).toBeNull();
        const card = shown(p);
        expect(card.shownS, `t = ${i} s ± ${jitter}`).toBeNull();
        expect(card.text).not.toMatch(/in ~|full in/);
      }
    }
  });

  it('says the memory rises and falls and where its peaks hold, once the window holds two frees', () => {
    const p = predictOom(sawtooth(300, 100), TOTAL);
    expect(p.trend).toBe('flat');
    expect(p.cycle).toMatchObject({ periodS: 10, peaksFrom: 'samples' });
    expect(p.cycle!.peakMiB).toBeGreaterThan(11 * GiB);
    expect(p.basis).toMatch(/rises and falls.*about every 10 s.*hold at about/);
    expect(shown(p).text).toMatch(/^not heading there \(rises and falls every ~10\ss; peaks steady at 1[12](\.\d)?\sGiB\)$/);
    // Flat peaks clear the gpu.oom alert rather than leave it standing.
    expect(oomAlertValue(p)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('warns from the envelope of the peaks when they grow, with the time the envelope takes to reach the card', () => {
    // Peaks +60 MiB a tooth (6 MiB/s); each tooth's top sample is at 0.9 of its climb: 11,674 MiB + 60 MiB a tooth,
    // 13,414 MiB in the 30th tooth, so the samples reach 15,360 MiB about (15360 − 13414) / 6 ≈ 324 s later.
    const samples = sawtooth(300, 100, 60);
    const p = predictOom(samples, TOTAL);
    expect(p.trend).toBe('rising');
    expect(p.cycle).not.toBeNull();
    const peakNow = 6 * GiB + 0.9 * 6 * GiB + 60 * 29;
    expectWithin20(p.secondsToLimit, (TOTAL - peakNow) / 6);
  });

  it("reads the peaks from PyTorch's max_memory_reserved when the kernel reports it", () => {
    // 1 Hz samples land below the real tops (the allocation peak lasts a fraction of a second), at
    // random heights: the samples alone read as flat. PyTorch's high-water mark sees every peak.
    const rand = seeded(9);
    const samples = series(300, t => 6 * GiB + 5 * GiB * ((t % 10) / 10) + rand() * 300);
    const overhead = 400; // CUDA context beside PyTorch's reserve
    const beats = (growthPerS: number): TorchReservedSample[] =>
      Array.from({ length: 30 }, (_, k) => {
        const t = (k + 1) * 10;
        return { tMs: t * 1000 + 300, reservedMiB: samples[t].usedMiB - overhead, maxReservedMiB: 12 * GiB - overhead + growthPerS * t };
      });
    const flat = predictOom(samples, TOTAL, {}, beats(0));
    expect(flat).toMatchObject({ trend: 'flat', estimateS: null });
    expect(flat.cycle?.peaksFrom).toBe('torch');
    expect(flat.basis).toMatch(/PyTorch's peak reserved memory hold at about 12288 MiB/);
    const growing = predictOom(samples, TOTAL, {}, beats(5));
    expect(growing.trend).toBe('rising');
    expectWithin20(growing.secondsToLimit, (TOTAL - (12 * GiB + 5 * 300)) / 5);
  });

  it('on a slow first tooth may still estimate (it looks like a ramp), but never once memory was freed and climbs the same way', () => {
    // 45 s teeth, 4 → 10 GB: the first tooth alone is a ramp heading to the card.
    const f = (t: number) => 4000 + 6000 * ((t % 45) / 45);
    expect(predictOom(series(40, f), TOTAL).estimateS).not.toBeNull();
    for (let at = 46; at < 90; at++) expect(predictOom(series(at, f), TOTAL).estimateS, `t = ${at} s`).toBeNull();
  });
});
