/**
 * Pure text for the panel's LLM section: money, token counts, the day and
 * week buckets of /llm/cost. A cost the sidecar could not compute (unknown
 * model) is said in words, never shown as $0.
 */
export { isoWeekKey, utcDayKey } from '../shared/costBuckets';
import type { CostBucket } from '../shared/llm-api';


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

/** The bucket with this key, if any. */
export function findBucket(buckets: CostBucket[] | undefined, key: string): CostBucket | undefined {
  return buckets?.find(b => b.key === key);
}
