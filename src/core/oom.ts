/**
 * VRAM out-of-memory prediction, pure. Input: recent (t, usedMiB) samples of
 * one GPU and its total. Method:
 *
 * 1. Keep the samples of the last `windowMs`; cut them into equal time
 *    buckets and keep each bucket's peak (the upper envelope). A caching
 *    allocator's sawtooth (allocate, free, allocate) has the same peak in
 *    every bucket, so it reads as flat.
 * 2. Fit the envelope's trend with the Theil–Sen estimator (median of
 *    pairwise slopes): robust to a single spike and to steps between epochs,
 *    whose average growth it follows.
 * 3. Confidence = share of pairwise slopes that are rising × how much of the
 *    wanted evidence exists (buckets). A flat plateau has no rising pairs; a
 *    sawtooth about half; a real ramp or staircase nearly all.
 * 4. No prediction before the samples span `minSpanMs`: the rising half of a
 *    sawtooth is a perfect ramp over a few seconds.
 * 5. A trend that stopped (no envelope rise for `staleFraction` of the
 *    window) is a plateau: no prediction.
 *
 * Output: seconds until usage reaches the limit (or null), the basis in words,
 * the confidence and the current used %.
 */
import { median } from './llm/trend';

export interface VramSample {
  tMs: number;
  usedMiB: number;
}

export interface OomOptions {
  /** Look-back window (default 300 s). */
  windowMs?: number;
  /** Envelope buckets over the window (default 12). */
  buckets?: number;
  /** Fewest samples before any prediction (default 10). */
  minSamples?: number;
  /** Fewest non-empty buckets (default 6). */
  minBuckets?: number;
  /** Below this confidence no time is predicted (default 0.75). */
  minConfidence?: number;
  /** Growth slower than this share of the total per hour is noise (default 1 %/h). */
  minGrowthFractionPerHour?: number;
  /** A rise smaller than this share of the total does not count as growth (default 0.05 %). */
  noiseFraction?: number;
  /** No envelope rise for this share of the window → plateau (default 0.5). */
  staleFraction?: number;
  /**
   * Fewest ms the samples must span before any prediction (default a fifth of
   * the window: 60 s). Ten samples of an allocator's sawtooth caught in its
   * rising half look exactly like a steep ramp; only time tells them apart.
   */
  minSpanMs?: number;
}

/**
 * What the series shows: 'rising' (secondsToLimit is set), 'flat' or
 * 'plateau' (confidently not growing), 'uncertain' (growth that rises and
 * falls), 'unknown' (too little data).
 */
export type OomTrend = 'rising' | 'flat' | 'plateau' | 'uncertain' | 'unknown';

export interface OomPrediction {
  /** Seconds until used reaches total at the current trend; null when not growing or not sure. */
  secondsToLimit: number | null;
  trend: OomTrend;
  /** Why, in words. */
  basis: string;
  /** 0..1. */
  confidence: number;
  usedPercent: number | null;
  /** Fitted growth of the envelope (MiB/s), when there was enough data to fit. */
  slopeMiBPerS: number | null;
  samples: number;
}

export function predictOom(samples: readonly VramSample[], totalMiB: number | null, options: OomOptions = {}): OomPrediction {
  const windowMs = options.windowMs ?? 300_000;
  const bucketCount = options.buckets ?? 12;
  const minSamples = options.minSamples ?? 10;
  const minBuckets = options.minBuckets ?? 6;
  const minConfidence = options.minConfidence ?? 0.75;
  const noiseFraction = options.noiseFraction ?? 0.0005;
  const staleFraction = options.staleFraction ?? 0.5;
  const last = samples.length ? samples[samples.length - 1] : null;
  const usedPercent = last && totalMiB && totalMiB > 0 ? Math.round((last.usedMiB / totalMiB) * 1000) / 10 : null;
  const out = (secondsToLimit: number | null, basis: string, confidence: number, slope: number | null, n: number, trend: OomTrend = 'unknown'): OomPrediction => ({
    secondsToLimit,
    trend,
    basis,
    confidence: Math.round(confidence * 100) / 100,
    usedPercent,
    slopeMiBPerS: slope,
    samples: n
  });
  if (!last || !totalMiB || totalMiB <= 0) {
    return out(null, totalMiB ? 'no VRAM samples yet' : 'the GPU does not report its total memory', 0, null, samples.length);
  }
  const recent = samples.filter(s => s.tMs > last.tMs - windowMs && Number.isFinite(s.usedMiB));
  if (recent.length < minSamples) {
    return out(null, `not enough samples yet (${recent.length} of ${minSamples})`, 0, null, recent.length);
  }
  const t0 = recent[0].tMs;
  const span = last.tMs - t0;
  if (span <= 0) {
    return out(null, 'samples span no time', 0, null, recent.length);
  }
  const minSpanMs = options.minSpanMs ?? windowMs / 5;
  if (span < minSpanMs) {
    return out(null, `not enough history yet (${Math.round(span / 1000)} s of ${Math.round(minSpanMs / 1000)} s)`, 0, null, recent.length);
  }
  const width = span / bucketCount;
  const peaks: Array<{ t: number; v: number }> = [];
  for (let b = 0; b < bucketCount; b++) {
    const lo = t0 + b * width;
    const hi = b === bucketCount - 1 ? last.tMs + 1 : lo + width;
    let best: VramSample | null = null;
    for (const s of recent) {
      if (s.tMs >= lo && s.tMs < hi && (!best || s.usedMiB > best.usedMiB)) {
        best = s;
      }
    }
    if (best) {
      peaks.push({ t: best.tMs, v: best.usedMiB });
    }
  }
  if (peaks.length < minBuckets) {
    return out(null, `not enough spread of samples (${peaks.length} of ${minBuckets} time buckets filled)`, 0, null, recent.length);
  }
  const slopes: number[] = [];
  const noise = noiseFraction * totalMiB;
  let rising = 0;
  for (let i = 0; i < peaks.length; i++) {
    for (let j = i + 1; j < peaks.length; j++) {
      const dt = (peaks[j].t - peaks[i].t) / 1000;
      if (dt <= 0) continue;
      const dv = peaks[j].v - peaks[i].v;
      slopes.push(dv / dt);
      if (dv > noise) rising++;
    }
  }
  const slope = slopes.length ? median(slopes) : 0;
  const evidence = Math.min(1, peaks.length / bucketCount);
  const confidence = slopes.length ? (rising / slopes.length) * evidence : 0;
  const slopeRounded = Math.round(slope * 1000) / 1000;
  const spanS = Math.round(span / 1000);
  const minGrowth = ((options.minGrowthFractionPerHour ?? 0.01) * totalMiB) / 3600;
  if (slope <= minGrowth) {
    return out(null, `VRAM peaks flat over the last ${spanS} s (trend ${slopeRounded} MiB/s)`, confidence, slopeRounded, recent.length, 'flat');
  }
  // Plateau after growth: when did the envelope last rise above its earlier peak?
  let runningMax = -Infinity;
  let lastRiseT = peaks[0].t;
  for (const p of peaks) {
    if (p.v > runningMax + noise) {
      runningMax = p.v;
      lastRiseT = p.t;
    }
  }
  const staleS = (last.tMs - lastRiseT) / 1000;
  if (staleS > (span / 1000) * staleFraction) {
    return out(null, `VRAM peaks have not grown for ${Math.round(staleS)} s (plateau)`, confidence * 0.5, slopeRounded, recent.length, 'plateau');
  }
  if (confidence < minConfidence) {
    return out(null, `VRAM trend uncertain: ${Math.round(confidence * 100)} % confidence (rises and falls, e.g. an allocator sawtooth)`, confidence, slopeRounded, recent.length, 'uncertain');
  }
  const level = Math.max(last.usedMiB, runningMax);
  const secondsToLimit = Math.max(0, (totalMiB - level) / slope);
  return out(
    Math.round(secondsToLimit),
    `VRAM peaks grew ${slopeRounded} MiB/s over the last ${spanS} s (${peaks.length} buckets, ${Math.round((rising / slopes.length) * 100)} % of pairs rising); ${Math.round(totalMiB - level)} MiB left`,
    confidence,
    slopeRounded,
    recent.length,
    'rising'
  );
}

/**
 * The value the `gpu.oom` alert rule observes for a prediction: the seconds
 * left while rising; "far away" (which clears the alert) only when the series
 * is confidently flat or on a plateau; null (no change) while the trend is
 * uncertain or unknown. So a prediction that flickers in and out of
 * confidence on a noisy ramp does not re-arm and re-raise the alert.
 */
export function oomAlertValue(p: Pick<OomPrediction, 'trend' | 'secondsToLimit'>): number | null {
  if (p.trend === 'rising' && p.secondsToLimit !== null) return p.secondsToLimit;
  if (p.trend === 'flat' || p.trend === 'plateau') return Number.MAX_SAFE_INTEGER;
  return null;
}
