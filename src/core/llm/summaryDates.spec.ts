import { describe, expect, it } from 'vitest';
import { anchorDates, formatDay, hasRelativeDate, parseDay } from './summaryDates';

describe('dates in the context-transfer summary', () => {
  it('reads the day out of LoCoMo session stamps, ISO timestamps and written dates', () => {
    expect(parseDay('1:56 pm on 8 May, 2023')).toEqual({ year: 2023, month: 4, day: 8 });
    expect(parseDay('2026-03-02T23:59:00.000Z')).toEqual({ year: 2026, month: 2, day: 2 });
    expect(parseDay('March 2, 2026')).toEqual({ year: 2026, month: 2, day: 2 });
    expect(parseDay('no date here')).toBeNull();
  });

  it('anchors yesterday, last Friday, last week, last year and "two weekends ago" to the day they were said', () => {
    const day = parseDay('1:56 pm on 8 May, 2023');
    expect(anchorDates('I went to a support group yesterday and it was powerful.', day)).toBe('I went to a support group yesterday [7 May 2023] and it was powerful.');
    expect(anchorDates('Last Fri I took my kids to a pottery workshop.', day)).toBe('Last Fri [the Friday before 8 May 2023] I took my kids to a pottery workshop.');
    expect(anchorDates('I painted that last year, we moved last week.', day)).toBe('I painted that last year [2022], we moved last week [the week before 8 May 2023].');
    expect(anchorDates('We went camping two weekends ago.', day)).toBe('We went camping two weekends ago [two weekends before 8 May 2023].');
    expect(anchorDates('The show is next month.', parseDay('20 December 2023'))).toBe('The show is next month [January 2024].');
  });

  it('crosses month and year ends in UTC, whatever the local time zone', () => {
    expect(anchorDates('yesterday', parseDay('1 January 2024'))).toBe('yesterday [31 December 2023]');
    expect(anchorDates('tomorrow', parseDay('2024-02-28T23:59:00Z'))).toBe('tomorrow [29 February 2024]');
    expect(formatDay({ year: 2023, month: 4, day: 8 })).toBe('8 May 2023');
  });

  it('leaves text alone without a day, and does not anchor twice', () => {
    expect(anchorDates('I went yesterday.', null)).toBe('I went yesterday.');
    expect(anchorDates('I went yesterday (7 May).', parseDay('8 May 2023'))).toBe('I went yesterday (7 May).');
    expect(hasRelativeDate('see you tomorrow')).toBe(true);
    expect(hasRelativeDate('on 8 May 2023')).toBe(false);
  });
});
