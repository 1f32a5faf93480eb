/**
 * Pure text for the panel's LLM section: money, token counts, the day and
 * week buckets of /llm/cost. A cost the sidecar could not compute (unknown
 * model) is said in words, never shown as $0.
 */
export { isoWeekKey, utcDayKey } from '../shared/costBuckets';
import type { CostBucket } from '../shared/llm-api';


/** Money and counts are formatted once for panel, status bar and report (src/shared/format.ts). */
export { formatCount as formatTokens, formatMoney as formatUsd } from '../shared/format';
import { formatMoney as formatUsd } from '../shared/format';

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

/** The bucket with this key, if any. */
export function findBucket(buckets: CostBucket[] | undefined, key: string): CostBucket | undefined {
  return buckets?.find(b => b.key === key);
}
