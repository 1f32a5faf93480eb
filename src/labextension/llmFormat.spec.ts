import { describe, expect, it } from 'vitest';
import { bucketText, costText, findBucket, formatTokens, formatUsd, isoWeekKey, utcDayKey } from './llmFormat';

describe('LLM formatting', () => {
  it('shows small LLM bills with enough digits to be read', () => {
    expect(formatUsd(12.3)).toBe('$12.30');
    expect(formatUsd(0.0123)).toBe('$0.012');
    expect(formatUsd(0.000684)).toBe('$0.00068');
    expect(formatUsd(0)).toBe('$0.00');
  });

  it('never shows an unknown price as $0', () => {
    expect(formatUsd(null)).toBe('unknown');
    expect(costText(null, 3)).toBe('unknown (3 unpriced calls)');
    expect(costText(0.5, 1)).toBe('$0.500 + 1 unpriced call');
    expect(bucketText({ key: 'k', calls: 2, costUsd: null, unpricedCalls: 2, inputTokens: 1, outputTokens: 1 })).toBe(
      'unknown (2 unpriced calls)'
    );
    expect(bucketText(undefined)).toBe('$0.00');
  });

  it('abbreviates token counts one way: 4.0K beside 330K, never 4000 beside 330.0K', () => {
    expect(formatTokens(950)).toBe('950');
    expect(formatTokens(4000)).toBe('4.0K');
    expect(formatTokens(12_345)).toBe('12K');
    expect(formatTokens(330_000)).toBe('330K');
    expect(formatTokens(2_500_000)).toBe('2.5M');
  });

  it('finds the bucket of a key as the sidecar names them', () => {
    expect(isoWeekKey(Date.parse('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(utcDayKey(Date.parse('2026-01-31T23:30:00-02:00'))).toBe('2026-02-01');
    expect(findBucket([{ key: '2026-W01' } as any], '2026-W01')).toBeDefined();
  });
});
