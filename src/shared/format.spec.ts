import { describe, expect, it } from 'vitest';
import { bytesOfMiB, formatByKey, formatBytes, formatDuration, formatMoney, humanize, ratioPercent } from './format';

describe('panel formatting', () => {
  it('writes sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(16 * 1024 ** 3)).toBe('16 GiB');
    expect(formatBytes(16e9)).toBe('14.9 GiB');
    // Rounding to the next unit reads as that unit, never "1024 KiB".
    expect(formatBytes(1024 * 1024 - 10)).toBe('1 MiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(bytesOfMiB(15360))).toBe('15 GiB');
    expect(formatBytes(bytesOfMiB(512))).toBe('512 MiB');
    expect(formatBytes(bytesOfMiB(null))).toBe('—');
  });

  it('writes durations a person reads at a glance', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(192)).toBe('3 min 12 s');
    expect(formatDuration(7500)).toBe('2 h 05 min');
    expect(formatDuration(2 * 86_400 + 3600)).toBe('2 d 1 h');
    expect(formatDuration(27.5 * 3600)).toBe('27 h 30 min');
    expect(formatDuration(-90)).toBe('-1 min 30 s');
  });

  it('formats unknown sections by the unit their field names carry', () => {
    expect(formatByKey('remainingS', 5400)).toBe('1 h 30 min');
    expect(formatByKey('disks.usedBytes', 2048)).toBe('2 KiB');
    expect(formatByKey('usedPercent', 14.66)).toBe('14.7%');
    expect(formatByKey('mounted', false)).toBe('no');
    expect(formatByKey('warnAtMin', [60, 30])).toBe('60, 30');
    expect(formatByKey('x', null)).toBe('—');
    expect(humanize('sessionRemainingS')).toBe('Session remaining');
    expect(humanize('lastActivityAt')).toBe('Last activity');
    expect(ratioPercent(5, 10)).toBe(50);
    expect(ratioPercent(5, 0)).toBeNull();
  });
});

describe('dashboard formats', () => {
  it('gives the status bar compact durations and sentences rounded ones', async () => {
    const { formatShortDuration, formatApproxDuration } = await import('./format');
    expect(formatShortDuration(10 * 3600 + 57 * 60 + 3)).toBe('10h57m');
    expect(formatShortDuration(12 * 60 + 5)).toBe('12m');
    expect(formatShortDuration(45)).toBe('45s');
    expect(formatApproxDuration(175)).toBe('3 min');
    expect(formatApproxDuration(10 * 3600 + 57 * 60)).toBe('10 h 57 min');
  });

  it('writes times of day with the zone, and the weekday when not today', async () => {
    const { formatClock } = await import('./format');
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(formatClock('2026-11-30T20:28:00Z', { locale: 'en-GB', timeZone: 'Europe/Paris', nowMs: now })).toBe('21:28 CET');
    expect(formatClock('2026-12-01T08:12:00Z', { locale: 'en-GB', timeZone: 'Europe/Paris', nowMs: now })).toBe('Tue, 09:12 CET');
  });
});

describe('the one byte and money rules', () => {
  it('states platform limits in decimal units, as the platforms do', () => {
    expect(formatBytes(20e9, 'decimal')).toBe('20 GB');
    expect(formatBytes(18_600_000_000, 'decimal')).toBe('18.6 GB');
    expect(formatBytes(999, 'decimal')).toBe('999 B');
  });

  it('prices in cents from a dollar up, else two significant digits', () => {
    expect(formatMoney(12.3)).toBe('$12.30');
    expect(formatMoney(0.31)).toBe('$0.31');
    expect(formatMoney(0.0042)).toBe('$0.0042');
    expect(formatMoney(0.0999)).toBe('$0.10');
    expect(formatMoney(0.999)).toBe('$1.00');
    expect(formatMoney(-0.5)).toBe('-$0.50');
    expect(formatMoney(null)).toBe('unknown');
  });
});
