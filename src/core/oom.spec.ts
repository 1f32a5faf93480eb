import { describe, expect, it } from 'vitest';
import { predictOom, type VramSample } from './oom';

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
});
