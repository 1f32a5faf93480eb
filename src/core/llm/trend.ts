/**
 * Trend tests robust to noise: Theil–Sen slope (median of pairwise slopes,
 * unmoved by a few outliers) and the Mann–Kendall test for a monotonic trend.
 * A trend counts as "rising" only when it is significant AND large enough to
 * matter (a minimum relative change over the series), so a flat noisy series
 * and a tiny but steady drift are both left alone.
 */

export interface Trend {
  slope: number | null;
  intercept: number | null;
  relativeChange: number | null;
  pValue: number | null;
  rising: boolean;
  samples: number;
  /** Effect size: median of the last quarter of the series over median of the first quarter (13 = a 13× rise); null when the start is not positive. */
  ratio: number | null;
  /** Kendall's tau (S over the number of pairs): 1 = every later value is higher. */
  tau: number | null;
}

export interface TrendOptions {
  /** Fewest points before anything is flagged (default 6). */
  minSamples?: number;
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
  /** Smallest relative rise over the series that counts (default 0.25 = +25 %). */
  minRelativeChange?: number;
  /**
   * A strong rise counts before `minSamples`: at least `strongMinSamples` points (default 4), an effect size
   * `ratio` of at least `strongRatio` (default 3×) and Kendall's tau ≥ `strongTau` (default 0.8: at most one
   * pair out of order in 5 points). A p-value cannot reach 0.05 with 4 or 5 points; the size of the effect can.
   */
  strongMinSamples?: number;
  strongRatio?: number;
  strongTau?: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function theilSen(y: number[]): { slope: number; intercept: number } | null {
  if (y.length < 2) {
    return null;
  }
  const slopes: number[] = [];
  for (let i = 0; i < y.length; i++) {
    for (let j = i + 1; j < y.length; j++) {
      slopes.push((y[j] - y[i]) / (j - i));
    }
  }
  const slope = median(slopes);
  const intercept = median(y.map((v, i) => v - slope * i));
  return { slope, intercept };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Mann–Kendall S statistic and two-sided p-value, with the tie correction. */
export function mannKendall(y: number[]): { s: number; pValue: number } | null {
  const n = y.length;
  if (n < 3) {
    return null;
  }
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      s += Math.sign(y[j] - y[i]);
    }
  }
  const ties = new Map<number, number>();
  for (const v of y) {
    ties.set(v, (ties.get(v) ?? 0) + 1);
  }
  let tieTerm = 0;
  for (const t of ties.values()) {
    tieTerm += t * (t - 1) * (2 * t + 5);
  }
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  if (variance <= 0) {
    return { s, pValue: 1 };
  }
  const z = s > 0 ? (s - 1) / Math.sqrt(variance) : s < 0 ? (s + 1) / Math.sqrt(variance) : 0;
  return { s, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

export function trend(y: number[], options: TrendOptions = {}): Trend {
  const minSamples = options.minSamples ?? 6;
  const alpha = options.alpha ?? 0.05;
  const minRelativeChange = options.minRelativeChange ?? 0.25;
  const ts = theilSen(y);
  const mk = mannKendall(y);
  if (!ts) {
    return { slope: null, intercept: null, relativeChange: null, pValue: null, rising: false, samples: y.length, ratio: null, tau: null };
  }
  const start = ts.intercept;
  const relativeChange = start > 0 ? (ts.slope * (y.length - 1)) / start : null;
  const k = Math.max(1, Math.floor(y.length / 4));
  const head = median(y.slice(0, k));
  const ratio = head > 0 ? median(y.slice(-k)) / head : null;
  const pairs = (y.length * (y.length - 1)) / 2;
  const tau = mk ? mk.s / pairs : null;
  const significant = y.length >= minSamples && !!mk && mk.pValue < alpha && ts.slope > 0 && relativeChange !== null && relativeChange >= minRelativeChange;
  const strong =
    y.length >= (options.strongMinSamples ?? 4) &&
    ts.slope > 0 &&
    ratio !== null &&
    ratio >= (options.strongRatio ?? 3) &&
    tau !== null &&
    tau >= (options.strongTau ?? 0.8);
  return { slope: ts.slope, intercept: ts.intercept, relativeChange, pValue: mk ? mk.pValue : null, rising: significant || strong, samples: y.length, ratio, tau };
}
