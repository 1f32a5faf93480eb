/**
 * Pure text for the panel's LLM section: money, token counts, the day and
 * week buckets of /llm/cost. A cost the sidecar could not compute (unknown
 * model) is said in words, never shown as $0.
 */
import type { CostBucket } from '../shared/llm-api';

const DAY_MS = 86_400_000;

/** USD with the precision small LLM bills need: 12.3 → "$12.30", 0.0123 → "$0.012", 0.000684 → "$0.00068". */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return 'unknown';
  }
  if (value === 0) {
    return '$0.00';
  }
  const abs = Math.abs(value);
  const digits = abs >= 1 ? 2 : abs >= 0.01 ? 3 : abs >= 0.0001 ? 5 : 7;
  return `${value < 0 ? '-' : ''}$${abs.toFixed(digits)}`;
}

/**
 * A cost and the calls it leaves out: "$0.012", "$0.012 + 2 unpriced calls",
 * "unknown: 3 calls of unpriced models", "$0.00" when there were no calls.
 */
export function costText(costUsd: number | null, unpricedCalls: number): string {
  const unpriced = `${unpricedCalls} unpriced call${unpricedCalls === 1 ? '' : 's'}`;
  if (costUsd === null) {
    return unpricedCalls > 0 ? `unknown (${unpriced})` : 'unknown';
  }
  return unpricedCalls > 0 ? `${formatUsd(costUsd)} + ${unpriced}` : formatUsd(costUsd);
}

/** The cost of one /llm/cost bucket, or "$0.00" when it has no calls (no bucket). */
export function bucketText(bucket: CostBucket | undefined): string {
  return bucket ? costText(bucket.costUsd, bucket.unpricedCalls) : formatUsd(0);
}

/** 950 → "950", 12_345 → "12.3K", 2_500_000 → "2.5M". */
export function formatTokens(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) {
    return '—';
  }
  if (Math.abs(n) >= 1_000_000) {
    return `${(n / 1_000_000).toFixed(1)}M`;
  }
  if (Math.abs(n) >= 10_000) {
    return `${(n / 1000).toFixed(1)}K`;
  }
  return String(Math.round(n));
}

/** The /llm/cost `byDay` key of a moment: its UTC date, "2026-01-31". */
export function utcDayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The /llm/cost `byWeek` key of a moment, "2026-W05": the ISO week (Monday
 * first, UTC), computed as the sidecar does (src/server/llm/module.ts `isoWeek`;
 * the frontend bundle must not import server code).
 */
export function isoWeekKey(ms: number): string {
  const d = new Date(ms);
  const date = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  date.setUTCDate(date.getUTCDate() + 4 - (date.getUTCDay() || 7));
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / DAY_MS + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The bucket with this key, if any. */
export function findBucket(buckets: CostBucket[] | undefined, key: string): CostBucket | undefined {
  return buckets?.find(b => b.key === key);
}
