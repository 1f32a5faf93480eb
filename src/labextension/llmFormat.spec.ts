import { describe, expect, it } from 'vitest';
import { formatCount, formatMoney } from '../shared/format';
import { bucketText, costText, findBucket, isoWeekKey, spendChartData, utcDayKey } from './llmFormat';

describe('LLM formatting', () => {
  it('shows small LLM bills with enough digits to be read', () => {
    expect(formatMoney(12.3)).toBe('$12.30');
    expect(formatMoney(0.0123)).toBe('$0.012');
    expect(formatMoney(0.000684)).toBe('$0.00068');
    expect(formatMoney(0)).toBe('$0.00');
  });

  it('never shows an unknown price as $0', () => {
    expect(formatMoney(null)).toBe('unknown');
    expect(costText(null, 3)).toBe('unknown (3 unpriced calls)');
    expect(costText(0.5, 1)).toBe('$0.50 + 1 unpriced call');
    expect(bucketText({ key: 'k', calls: 2, costUsd: null, unpricedCalls: 2, inputTokens: 1, outputTokens: 1 })).toBe(
      'unknown (2 unpriced calls)'
    );
    expect(bucketText(undefined)).toBe('$0.00');
  });

  it('abbreviates token counts one way: 4.0K beside 330K, never 4000 beside 330.0K', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(4000)).toBe('4.0K');
    expect(formatCount(12_345)).toBe('12K');
    expect(formatCount(330_000)).toBe('330K');
    expect(formatCount(2_500_000)).toBe('2.5M');
  });

  it('finds the bucket of a key as the sidecar names them', () => {
    expect(isoWeekKey(Date.parse('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(utcDayKey(Date.parse('2026-01-31T23:30:00-02:00'))).toBe('2026-02-01');
    expect(findBucket([{ key: '2026-W01' } as any], '2026-W01')).toBeDefined();
  });

  it('stacks the last 7 days by provider in a fixed order, empty days included, unpriced calls kept but drawn as nothing', () => {
    const b = (key: string, provider: 'openai' | 'anthropic', costUsd: number | null, calls = 1) => ({
      key, provider, calls, costUsd, unpricedCalls: costUsd === null ? calls : 0, inputTokens: 1, outputTokens: 1
    });
    const now = Date.parse('2026-03-20T12:00:00Z');
    const chart = spendChartData([], [b('2026-03-10', 'openai', 9), b('2026-03-18', 'openai', 0.5, 2), b('2026-03-18', 'anthropic', 0.25), b('2026-03-20', 'anthropic', null, 3)], now);
    expect(chart.providers).toEqual(['openai', 'anthropic']);
    expect(chart.days.map(d => d.key)).toEqual(['2026-03-14', '2026-03-15', '2026-03-16', '2026-03-17', '2026-03-18', '2026-03-19', '2026-03-20']);
    expect(chart.days[4].providers).toEqual({
      openai: { usd: 0.5, costUsd: 0.5, calls: 2, unpricedCalls: 0 },
      anthropic: { usd: 0.25, costUsd: 0.25, calls: 1, unpricedCalls: 0 }
    });
    expect(chart.days[5].providers).toEqual({});
    expect(chart.days[6].providers.anthropic).toEqual({ usd: 0, costUsd: null, calls: 3, unpricedCalls: 3 });
    // A sidecar without the split: one stack from the day totals.
    const old = spendChartData([{ key: '2026-03-20', calls: 1, costUsd: 0.1, unpricedCalls: 0, inputTokens: 1, outputTokens: 1 }], undefined, now);
    expect(old.providers).toEqual(['all']);
    expect(old.days[6].providers.all.usd).toBe(0.1);
  });
});
