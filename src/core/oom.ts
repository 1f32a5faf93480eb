/**
 * VRAM out-of-memory prediction, pure. Input: recent (t, usedMiB) samples of
 * one GPU and its total. Method:
 *
 * 1. Keep the samples of the last `windowMs`. Memory freed at once (a fall
 *    of more than `dropFraction` of the card between two samples; falls on
 *    consecutive samples are one free) is a change point: after a single free
 *    the fit restarts from it, so a new trend is read from its own samples,
 *    not averaged with the ones before the free. Two frees or more in the
 *    window are a cycle (training sawtooth): see "Cycles" below.
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
 *    about, and no time is given, while it climbs like the one before did
 *    (within 1.5×: it may be the next turn of a cycle) until it passes that
 *    peak by more than `riseFraction` of the card.
 *
 * Cycles (two frees or more): memory that rises and falls is predicted from
 * the envelope of its peaks only, never from a climb inside one tooth. Each
 * tooth's peak (the highest sample before its free; PyTorch's
 * max_memory_reserved when the kernel reports it, which also sees the peaks
 * between two 1 Hz samples) is a point; the current tooth counts once it is
 * above every earlier peak. Peaks that rise less than `riseFraction` of the
 * card over the window are flat: trend 'flat', no time at all. Peaks that
 * rise on ≥ 75 % of their pairs give an estimate from the peaks' Theil–Sen
 * slope, a warning once three peaks span the evidence step 6 asks for.
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
  /** Peaks (or a climb past an earlier peak) must rise more than this share of the card to count (default 1 %). */
  riseFraction?: number;
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
  /** Set when the window holds two frees or more: the series rises and falls, and its peaks decide. */
  cycle: OomCycle | null;
}

/** Evidence (ms) a warning needs when the limit is `secondsLeft` away (step 6). */
export function evidenceNeededMs(secondsLeft: number, minSpanMs: number): number {
  const ms = secondsLeft * 1000;
  if (ms < minSpanMs / 2) return minSpanMs / 2;
  return Math.min(minSpanMs, Math.max(minSpanMs / 4, 0.45 * ms));
}

/** PyTorch's view of one device at a heartbeat, in MiB: what it reserves now and the most it ever reserved. */
export interface TorchReservedSample {
  tMs: number;
  reservedMiB: number;
  maxReservedMiB: number;
}

/** A series that rises and falls: how many teeth the window holds, how often, and where its peaks are. */
export interface OomCycle {
  /** Frees seen in the window. */
  frees: number;
  /** Median time between frees (s), null with a single free. */
  periodS: number | null;
  /** The highest peak of the envelope (MiB, nvidia-smi's scale). */
  peakMiB: number;
  /** Where the peaks came from: the 1 Hz samples, or PyTorch's max_memory_reserved. */
  peaksFrom: 'samples' | 'torch';
}

interface Point {
  t: number;
  v: number;
}

/** Memory freed: a fall of more than `drop` MiB between two samples; falls on consecutive samples are one free. */
function findFrees(recent: readonly VramSample[], drop: number): Array<{ first: number; last: number }> {
  const frees: Array<{ first: number; last: number }> = [];
  for (let i = 1; i < recent.length; i++) {
    if (recent[i - 1].usedMiB - recent[i].usedMiB <= drop) continue;
    const prev = frees[frees.length - 1];
    if (prev && prev.last === i - 1) prev.last = i;
    else frees.push({ first: i, last: i });
  }
  return frees;
}

/** Theil–Sen slope (per s) of points and the share of pairs rising by more than `noise`. */
function pairSlopes(points: readonly Point[], noise: number): { slope: number; risingShare: number; pairs: number } {
  const slopes: number[] = [];
  let rising = 0;
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dt = (points[j].t - points[i].t) / 1000;
      if (dt <= 0) continue;
      const dv = points[j].v - points[i].v;
      slopes.push(dv / dt);
      if (dv > noise) rising++;
    }
  }
  return { slope: slopes.length ? median(slopes) : 0, risingShare: slopes.length ? rising / slopes.length : 0, pairs: slopes.length };
}

/** When the envelope last rose above every earlier point by more than `tol`, and its highest point. */
function lastRise(points: readonly Point[], tol: number): { t: number; max: number } {
  let max = -Infinity;
  let t = points[0].t;
  for (const p of points) {
    if (p.v > max + tol) {
      max = p.v;
      t = p.t;
    }
  }
  return { t, max };
}

/** The highest sample of a run, the earliest one when several are equal. */
function peakOf(run: readonly VramSample[]): Point {
  let best = run[0];
  for (const s of run) if (s.usedMiB > best.usedMiB) best = s;
  return { t: best.tMs, v: best.usedMiB };
}

/** How fast a tooth climbed (MiB/s): from its lowest sample before the peak to the first sample within `tol` of the peak. */
function climbRate(run: readonly VramSample[], tol: number): number | null {
  const peak = peakOf(run);
  let low: VramSample | null = null;
  for (const s of run) if (s.tMs < peak.t && (!low || s.usedMiB < low.usedMiB)) low = s;
  if (!low) return null;
  const top = run.find(s => s.tMs > low!.tMs && s.usedMiB >= peak.v - tol) ?? null;
  return top && top.tMs > low.tMs ? (top.usedMiB - low.usedMiB) / ((top.tMs - low.tMs) / 1000) : null;
}

/**
 * PyTorch's high-water marks on nvidia-smi's scale: max_memory_reserved plus
 * what the card holds beside PyTorch's reserve (the CUDA context, other
 * processes), read as the median of used − reserved at the heartbeats.
 */
function torchPeaks(recent: readonly VramSample[], torch: readonly TorchReservedSample[], fromMs: number): Point[] {
  const inWindow = torch.filter(p => p.tMs >= fromMs && Number.isFinite(p.maxReservedMiB) && Number.isFinite(p.reservedMiB));
  const offsets: number[] = [];
  for (const p of inWindow) {
    let near: VramSample | null = null;
    for (const s of recent) if (!near || Math.abs(s.tMs - p.tMs) < Math.abs(near.tMs - p.tMs)) near = s;
    // The kernel reads torch within a heartbeat; a sample more than 5 s away describes another moment.
    if (near && Math.abs(near.tMs - p.tMs) <= 5000) offsets.push(near.usedMiB - p.reservedMiB);
  }
  if (!offsets.length) return [];
  const offset = Math.max(0, median(offsets));
  return inWindow.map(p => ({ t: p.tMs, v: p.maxReservedMiB + offset }));
}

export function predictOom(
  samples: readonly VramSample[],
  totalMiB: number | null,
  options: OomOptions = {},
  torch: readonly TorchReservedSample[] = []
): OomPrediction {
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
  let cycle: OomCycle | null = null;
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
    samples: n,
    cycle
  });
  if (!last || !totalMiB || totalMiB <= 0) {
    return out(null, totalMiB ? 'no VRAM samples yet' : 'the GPU does not report its total memory', 0, null, samples.length);
  }
  const fromMs = last.tMs - windowMs;
  /** Samples older than the window exist: the window's first tooth may be cut, its peak unseen. */
  const cut = samples.length > 0 && samples[0].tMs <= fromMs;
  let recent = samples.filter(s => s.tMs > fromMs && Number.isFinite(s.usedMiB));
  const noise = noiseFraction * totalMiB;
  const riseTol = (options.riseFraction ?? 0.01) * totalMiB;
  const minGrowth = ((options.minGrowthFractionPerHour ?? 0.01) * totalMiB) / 3600;
  const frees = findFrees(recent, (options.dropFraction ?? 0.03) * totalMiB);

  if (frees.length >= 2) {
    // A cycle: the envelope of the peaks decides, never a climb inside one tooth.
    const starts = [0, ...frees.map(f => f.last)];
    const teeth = frees.map((f, k) => recent.slice(starts[k], f.first)).filter((run, k) => run.length > 0 && !(k === 0 && cut));
    const current = recent.slice(frees[frees.length - 1].last);
    const gaps = frees.slice(1).map((f, k) => (recent[f.first].tMs - recent[frees[k].first].tMs) / 1000);
    const periodS = Math.round(median(gaps));
    const fromTorch = torchPeaks(recent, torch, fromMs);
    const peaksFrom = fromTorch.length >= 2 ? 'torch' : 'samples';
    const peaks: Point[] = peaksFrom === 'torch' ? fromTorch : teeth.map(peakOf);
    const top = peaks.length ? Math.max(...peaks.map(p => p.v)) : -Infinity;
    const now = peakOf(current);
    if (now.v > top + riseTol) peaks.push(now);
    peaks.sort((a, b) => a.t - b.t);
    cycle = { frees: frees.length, periodS, peakMiB: Math.round(Math.max(top, now.v)), peaksFrom };
    const what = `VRAM rises and falls (${frees.length} frees in ${Math.round((last.tMs - recent[0].tMs) / 1000)} s, about every ${periodS} s)`;
    const source = peaksFrom === 'torch' ? "PyTorch's peak reserved memory" : 'its peaks';
    if (peaks.length < 2) {
      return out(null, `${what}: watching ${source}`, 0, null, recent.length, 'uncertain', null);
    }
    const { slope, risingShare } = pairSlopes(peaks, noise);
    const slopeRounded = Math.round(slope * 1000) / 1000;
    const spanMs = peaks[peaks.length - 1].t - peaks[0].t;
    const evidence = Math.min(1, peaks.length / 4);
    const confidence = risingShare * evidence;
    const level = Math.max(last.usedMiB, ...peaks.map(p => p.v));
    // Peaks that jitter (1 Hz samples land anywhere near the top of a tooth) can line up by chance: their
    // rise must exceed twice the spread of the peaks around the fitted line, and `riseFraction` of the card.
    const intercept = median(peaks.map(p => p.v - (slope * p.t) / 1000));
    const residuals = peaks.map(p => p.v - intercept - (slope * p.t) / 1000);
    const jitter = Math.max(...residuals) - Math.min(...residuals);
    if (slope <= minGrowth || slope * (spanMs / 1000) <= Math.max(riseTol, 2 * jitter)) {
      return out(null, `${what}; ${source} hold at about ${Math.round(level)} MiB (trend ${slopeRounded} MiB/s): not heading to the limit`, confidence, slopeRounded, recent.length, 'flat', null);
    }
    if (risingShare < minConfidence) {
      return out(null, `${what}; ${source} vary without a clear rise (${Math.round(risingShare * 100)} % of pairs rising)`, confidence, slopeRounded, recent.length, 'uncertain', null);
    }
    const staleS = (last.tMs - lastRise(peaks, riseTol).t) / 1000;
    if (staleS > ((last.tMs - peaks[0].t) / 1000) * staleFraction && peaks.length >= 3) {
      return out(null, `${what}; ${source} have not grown for ${Math.round(staleS)} s (plateau)`, confidence * 0.5, slopeRounded, recent.length, 'plateau', null);
    }
    const estimate = Math.round(Math.max(0, (totalMiB - level) / slope));
    const grew = `${what}; ${source} grow ${slopeRounded} MiB/s (${peaks.length} peaks over ${Math.round(spanMs / 1000)} s)`;
    const needMs = evidenceNeededMs(estimate, minSpanMs);
    if (peaks.length < 3 || confidence < minConfidence || spanMs < needMs) {
      return out(null, `${grew}: about ${estimate} s to the limit if they go on; more peaks before warning`, confidence, slopeRounded, recent.length, 'uncertain', estimate);
    }
    return out(estimate, `${grew}; ${Math.round(totalMiB - level)} MiB left`, confidence, slopeRounded, recent.length, 'rising');
  }

  let heldBeforeFree: number | null = null;
  /** How fast memory climbed before the free (MiB/s), to tell the next turn of a cycle. */
  let riseBeforeFree: number | null = null;
  if (frees.length === 1) {
    const before = recent.slice(0, frees[0].first);
    heldBeforeFree = peakOf(before).v;
    riseBeforeFree = climbRate(before, riseTol);
    recent = recent.slice(frees[0].last);
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
  const peaks: Point[] = [];
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
  const { slope, risingShare, pairs } = pairSlopes(peaks, noise);
  const evidence = Math.min(1, peaks.length / bucketCount);
  const confidence = pairs ? risingShare * evidence : 0;
  const slopeRounded = Math.round(slope * 1000) / 1000;
  const spanS = Math.round(span / 1000);
  if (slope <= minGrowth) {
    return out(null, `VRAM peaks flat over the last ${spanS} s (trend ${slopeRounded} MiB/s)`, confidence, slopeRounded, recent.length, 'flat');
  }
  // Plateau after growth: when did the envelope last rise above its earlier peak?
  const rise = lastRise(peaks, noise);
  const runningMax = rise.max;
  const staleS = (last.tMs - rise.t) / 1000;
  if (staleS > (span / 1000) * staleFraction) {
    return out(null, `VRAM peaks have not grown for ${Math.round(staleS)} s (plateau)`, confidence * 0.5, slopeRounded, recent.length, 'plateau');
  }
  const level = Math.max(last.usedMiB, runningMax);
  const estimate = Math.round(Math.max(0, (totalMiB - level) / slope));
  // After a free, a climb like the one before that has not passed the peak held then may be the next
  // tooth of a cycle: no time at all (not even a tentative one) until it passes that peak.
  const riseNow = heldBeforeFree !== null ? climbRate(recent, riseTol) : null;
  const ratio = riseBeforeFree !== null && riseBeforeFree > 0 && riseNow !== null ? riseNow / riseBeforeFree : null;
  if (heldBeforeFree !== null && ratio !== null && ratio >= 1 / 1.5 && ratio <= 1.5 && level <= heldBeforeFree + riseTol) {
    return out(
      null,
      `memory was freed and climbs again like before (${Math.round(riseNow!)} MiB/s), still below the ${Math.round(heldBeforeFree)} MiB held before: may be the next turn of a cycle, watching the peaks`,
      confidence,
      slopeRounded,
      recent.length,
      'uncertain',
      null
    );
  }
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
  return out(
    estimate,
    `${grew} (${peaks.length} buckets, ${Math.round(risingShare * 100)} % of pairs rising); ${Math.round(totalMiB - level)} MiB left`,
    confidence,
    slopeRounded,
    recent.length,
    'rising'
  );
}

/** Seconds to the limit as the alert and the notification say it: whole minutes, at least 1 ("about 1 min" for 20 s). */
export function oomMinutesLeft(seconds: number): number {
  return Math.max(1, Math.round(seconds / 60));
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
