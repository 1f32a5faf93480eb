import { describe, expect, it } from 'vitest';
import { isoWeekKey, utcDayKey } from './costBuckets';

describe('cost bucket keys (the sidecar groups by them, the panel looks them up)', () => {
  it('puts days in UTC', () => {
    expect(utcDayKey(Date.parse('2026-01-31T23:30:00-02:00'))).toBe('2026-02-01');
  });

  it('uses ISO weeks, which belong to the year of their Thursday', () => {
    expect(isoWeekKey(Date.parse('2026-01-01T00:00:00Z'))).toBe('2026-W01');
    expect(isoWeekKey(Date.parse('2027-01-01T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(Date.parse('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(isoWeekKey(Date.parse('2026-06-15T08:00:00Z'))).toBe('2026-W25');
  });
});
