/**
 * Pure text for the panel's LLM section: money, token counts, the day and
 * week buckets of /llm/cost. A cost the sidecar could not compute (unknown
 * model) is said in words, never shown as $0.
 */
export { isoWeekKey, utcDayKey } from '../shared/costBuckets';
import type { CostBucket, DayProviderBucket } from '../shared/llm-api';
import { utcDayKey } from '../shared/costBuckets';
// Money and counts are formatted once for panel, status bar and report.
import { formatMoney } from '../shared/format';

/**
 * A cost and the calls it leaves out: "$0.012", "$0.012 + 2 unpriced calls",
 * "unknown: 3 calls of unpriced models", "$0.00" when there were no calls.
 */
export function costText(costUsd: number | null, unpricedCalls: number): string {
  const unpriced = `${unpricedCalls} unpriced call${unpricedCalls === 1 ? '' : 's'}`;
  if (costUsd === null) {
    return unpricedCalls > 0 ? `unknown (${unpriced})` : 'unknown';
  }
  return unpricedCalls > 0 ? `${formatMoney(costUsd)} + ${unpriced}` : formatMoney(costUsd);
}

/** The cost of one /llm/cost bucket, or "$0.00" when it has no calls (no bucket). */
export function bucketText(bucket: CostBucket | undefined): string {
  return bucket ? costText(bucket.costUsd, bucket.unpricedCalls) : formatMoney(0);
}

/** The bucket with this key, if any. */
export function findBucket(buckets: CostBucket[] | undefined, key: string): CostBucket | undefined {
  return buckets?.find(b => b.key === key);
}

/** One provider's share of a chart day: `usd` is what the bar draws (0 when unpriced), the rest is said in the tooltip. */
export interface ISpendShare {
  usd: number;
  costUsd: number | null;
  calls: number;
  unpricedCalls: number;
}

/** One bar of the spend chart: a UTC day, stacked by provider. */
export interface ISpendDay {
  key: string;
  providers: Record<string, ISpendShare>;
}

export interface ISpendChartData {
  days: ISpendDay[];
  /** Providers with calls in the window, in a fixed order so colours and stacking never swap. */
  providers: string[];
}

/** Stack order and colour order of the providers; "all" is a sidecar without the day × provider split. */
export const PROVIDER_ORDER = ['openai', 'anthropic', 'google', 'all'];

/** JupyterLab theme colours, so the light and dark themes both draw the chart legibly. */
export const PROVIDER_COLOURS: Record<string, string> = {
  openai: 'var(--jp-brand-color1)',
  anthropic: 'var(--jp-warn-color1)',
  google: 'var(--jp-accent-color1)',
  all: 'var(--jp-brand-color1)'
};

const DAY_MS = 86_400_000;

function share(b: CostBucket): ISpendShare {
  return { usd: b.costUsd ?? 0, costUsd: b.costUsd, calls: b.calls, unpricedCalls: b.unpricedCalls };
}

/**
 * The last `dayCount` UTC days up to `nowMs`, oldest first, each split by
 * provider; days without calls are empty bars. A sidecar that does not send
 * `byDayProvider` gets one "all" stack from its day totals.
 */
export function spendChartData(byDay: CostBucket[], byDayProvider: DayProviderBucket[] | undefined, nowMs: number, dayCount = 7): ISpendChartData {
  const perDay = new Map<string, Record<string, ISpendShare>>();
  const seen = new Set<string>();
  for (const b of byDayProvider ?? byDay.map(d => ({ ...d, provider: 'all' }))) {
    const day = perDay.get(b.key) ?? {};
    day[b.provider] = share(b);
    perDay.set(b.key, day);
  }
  const days: ISpendDay[] = [];
  for (let i = dayCount - 1; i >= 0; i--) {
    const key = utcDayKey(nowMs - i * DAY_MS);
    const providers = perDay.get(key) ?? {};
    Object.keys(providers).forEach(p => seen.add(p));
    days.push({ key, providers });
  }
  const rank = (p: string) => (PROVIDER_ORDER.includes(p) ? PROVIDER_ORDER.indexOf(p) : PROVIDER_ORDER.length);
  return { days, providers: [...seen].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)) };
}
