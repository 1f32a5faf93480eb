/**
 * VRAM out-of-memory prediction, pure. Input: recent (t, usedMiB) samples of
 * one GPU and its total. Method:
 *
 * 1. Keep the samples of the last `windowMs`. Memory freed at once (a drop of
 *    more than `dropFraction` of the card between two samples) is a change
 *    point: after a single drop the fit restarts from it, so a new trend is
 *    read from its own samples, not averaged with the ones before the free.
 *    Two drops or more in the window are a cycle (training sawtooth): the
 *    whole window is kept and the envelope below reads it as flat.
 * 2. Cut the samples into equal time buckets and keep each bucket's peak (the
 *    upper envelope). A caching allocator's sawtooth (allocate, free,
 *    allocate) has the same peak in every bucket, so it reads as flat.
 * 3. Fit the envelope's trend with the Theil–Sen estimator (median of
 *    pairwise slopes): robust to a single spike and to steps between epochs,
 *    whose average growth it follows.
 * 4. Confidence = share of pairwise slopes that are rising × how much of the
 *    wanted evidence exists (buckets). A flat plateau has no rising pairs; a
 *    sawtooth about half; a real ramp or staircase nearly all.
 * 5. A trend that stopped (no envelope rise for `staleFraction` of the span)
 *    is a plateau: no prediction.
 * 6. Speak early, warn when sure. From `minSamples` rising samples on, the
 *    time to the limit is estimated (`estimateS`, with its confidence). It
 *    becomes a warning (`secondsToLimit`, trend 'rising') once the evidence
 *    spans long enough for how close the limit is: 0.45 × the time left,
 *    between a quarter of `minSpanMs` (15 s) and `minSpanMs` (60 s); half of
 *    `minSpanMs` when the limit is nearer than that. So a ramp that takes
 *    90 s to fill is warned about 60 s ahead, a slow one only after a full
 *    minute of evidence, and the rising half of a short allocation cycle
 *    (which drops before the evidence is long enough) never. After a free,
 *    a new ramp still below the peak held before the free is not warned
 *    about while it climbs like the one before did (within 2×: it may be the
 *    next turn of a cycle) until it passes that peak.
 *
 * Output: seconds until usage reaches the limit (or null), the early
 * estimate, the basis in words, the confidence and the current used %.
 */
import { median } from './llm/trend';

export interface VramSample {
  tMs: number;
  usedMiB: number;
}

export interface OomOptions {
  /** Look-back window (default 300 s). */
  windowMs?: number;
  /** Envelope buckets over the span (default 12). */
  buckets?: number;
  /** Fewest samples before any estimate (default 10). */
  minSamples?: number;
  /** Fewest non-empty buckets (default 6). */
  minBuckets?: number;
  /** Below this confidence no warning is given (default 0.75). */
  minConfidence?: number;
  /** Growth slower than this share of the total per hour is noise (default 1 %/h). */
  minGrowthFractionPerHour?: number;
  /** A rise smaller than this share of the total does not count as growth (default 0.05 %). */
  noiseFraction?: number;
  /** No envelope rise for this share of the span → plateau (default 0.5). */
  staleFraction?: number;
  /**
   * The most evidence (ms of samples) a warning ever waits for (default a
   * fifth of the window: 60 s); less when the limit is near (see step 6).
   */
  minSpanMs?: number;
  /** A fall of more than this share of the card between two samples is memory freed (default 3 %). */
  dropFraction?: number;
}

/**
 * What the series shows: 'rising' (secondsToLimit is set), 'flat' or
 * 'plateau' (confidently not growing), 'uncertain' (growth not yet sure
 * enough to warn, or rising and falling), 'unknown' (too little data).
 */
export type OomTrend = 'rising' | 'flat' | 'plateau' | 'uncertain' | 'unknown';

export interface OomPrediction {
  /** Seconds until used reaches total at the current trend, once sure enough to warn; else null. */
  secondsToLimit: number | null;
  /** The same estimate given early (from `minSamples` on), before it is sure enough to warn; read with `confidence`. */
  estimateS: number | null;
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

/** Evidence (ms) a warning needs when the limit is `secondsLeft` away (step 6). */
export function evidenceNeededMs(secondsLeft: number, minSpanMs: number): number {
  const ms = secondsLeft * 1000;
  if (ms < minSpanMs / 2) return minSpanMs / 2;
  return Math.min(minSpanMs, Math.max(minSpanMs / 4, 0.45 * ms));
}

export function predictOom(samples: readonly VramSample[], totalMiB: number | null, options: OomOptions = {}): OomPrediction {
  const windowMs = options.windowMs ?? 300_000;
  const bucketCount = options.buckets ?? 12;
  const minSamples = options.minSamples ?? 10;
  const minBuckets = options.minBuckets ?? 6;
  const minConfidence = options.minConfidence ?? 0.75;
  const noiseFraction = options.noiseFraction ?? 0.0005;
  const staleFraction = options.staleFraction ?? 0.5;
  const minSpanMs = options.minSpanMs ?? windowMs / 5;
  const last = samples.length ? samples[samples.length - 1] : null;
  const usedPercent = last && totalMiB && totalMiB > 0 ? Math.round((last.usedMiB / totalMiB) * 1000) / 10 : null;
  const out = (
    secondsToLimit: number | null,
    basis: string,
    confidence: number,
    slope: number | null,
    n: number,
    trend: OomTrend = 'unknown',
    estimateS: number | null = secondsToLimit
  ): OomPrediction => ({
    secondsToLimit,
    estimateS,
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
  let recent = samples.filter(s => s.tMs > last.tMs - windowMs && Number.isFinite(s.usedMiB));
  // Change point: memory freed at once.
  const drop = (options.dropFraction ?? 0.03) * totalMiB;
  const drops: number[] = [];
  for (let i = 1; i < recent.length; i++) {
    if (recent[i - 1].usedMiB - recent[i].usedMiB > drop) drops.push(i);
  }
  let heldBeforeFree: number | null = null;
  /** How fast the memory held before the free had risen (MiB/s), to tell the next turn of a cycle. */
  let riseBeforeFree: number | null = null;
  if (drops.length === 1) {
    const at = drops[0];
    const before = recent.slice(0, at);
    let peak = before[0];
    for (const s of before) if (s.usedMiB >= peak.usedMiB) peak = s;
    let low = before[0];
    for (const s of before) if (s.tMs < peak.tMs && s.usedMiB < low.usedMiB) low = s;
    heldBeforeFree = peak.usedMiB;
    riseBeforeFree = peak.tMs > low.tMs ? (peak.usedMiB - low.usedMiB) / ((peak.tMs - low.tMs) / 1000) : null;
    recent = recent.slice(at);
    if (recent.length < minSamples) {
      const freed = Math.round(recent.length ? recent[0].usedMiB - heldBeforeFree : 0);
      return out(null, `memory was freed (${freed} MiB); reading the new trend (${recent.length} of ${minSamples} samples)`, 0, null, recent.length);
    }
  }
  if (recent.length < minSamples) {
    return out(null, `not enough samples yet (${recent.length} of ${minSamples})`, 0, null, recent.length);
  }
  const t0 = recent[0].tMs;
  const span = last.tMs - t0;
  if (span <= 0) {
    return out(null, 'samples span no time', 0, null, recent.length);
  }
  const buckets = Math.min(bucketCount, recent.length);
  const width = span / buckets;
  const peaks: Array<{ t: number; v: number }> = [];
  for (let b = 0; b < buckets; b++) {
    const lo = t0 + b * width;
    const hi = b === buckets - 1 ? last.tMs + 1 : lo + width;
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
  const level = Math.max(last.usedMiB, runningMax);
  const estimate = Math.round(Math.max(0, (totalMiB - level) / slope));
  // An estimate is only worth showing when most of the envelope rises; below that it is noise (days away).
  const shown = confidence >= 0.5 ? estimate : null;
  const grew = `VRAM peaks grew ${slopeRounded} MiB/s over the last ${spanS} s${heldBeforeFree !== null ? ' since memory was freed' : ''}`;
  if (confidence < minConfidence) {
    return out(null, `VRAM trend uncertain: ${Math.round(confidence * 100)} % confidence (rises and falls, e.g. an allocator sawtooth)`, confidence, slopeRounded, recent.length, 'uncertain', shown);
  }
  const needMs = evidenceNeededMs(estimate, minSpanMs);
  if (span < needMs) {
    return out(null, `${grew}: about ${estimate} s to the limit if it goes on; ${Math.round(needMs / 1000)} s of evidence before warning`, confidence, slopeRounded, recent.length, 'uncertain', estimate);
  }
  const repeats = riseBeforeFree !== null && riseBeforeFree > 0 && slope / riseBeforeFree >= 0.5 && slope / riseBeforeFree <= 2;
  if (heldBeforeFree !== null && repeats && level < heldBeforeFree - noise) {
    return out(
      null,
      `${grew}, still below the ${Math.round(heldBeforeFree)} MiB held before (may be the next turn of a cycle): about ${estimate} s to the limit if it goes on`,
      confidence,
      slopeRounded,
      recent.length,
      'uncertain',
      estimate
    );
  }
  return out(
    estimate,
    `${grew} (${peaks.length} buckets, ${Math.round((rising / slopes.length) * 100)} % of pairs rising); ${Math.round(totalMiB - level)} MiB left`,
    confidence,
    slopeRounded,
    recent.length,
    'rising'
  );
}

/** The `gpu.oom` alert rule's levels (seconds left): warning at 10 min, critical at 2 min, re-armed 60 s back. */
export const OOM_ALERT_LEVELS = {
  levels: [
    { value: 600, severity: 'warning' as const },
    { value: 120, severity: 'critical' as const }
  ],
  hysteresis: 60
};

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
