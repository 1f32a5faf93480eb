/**
 * Dates for the context-transfer summary: read the day a turn was said
 * ("1:56 pm on 8 May, 2023", "2026-03-02T10:00:00Z", "8 May 2023") and anchor
 * the relative expressions in a sentence to it ("yesterday" ->
 * "yesterday [7 May 2023]"), so a fresh model reading the summary later still
 * knows when things happened. Pure: calendar arithmetic in UTC only, no clock.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_INDEX = new Map(MONTHS.flatMap((m, i) => [[m.toLowerCase(), i] as const, [m.slice(0, 3).toLowerCase(), i] as const]));

/** A calendar day (UTC noon, so day arithmetic never crosses a DST or zone edge). */
export interface Day {
  year: number;
  month: number;
  day: number;
}

function dayOf(ms: number): Day {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate() };
}

function msOf(d: Day): number {
  return Date.UTC(d.year, d.month, d.day, 12);
}

function addDays(d: Day, n: number): Day {
  return dayOf(msOf(d) + n * 86_400_000);
}

/** "8 May 2023". */
export function formatDay(d: Day): string {
  return `${d.day} ${MONTHS[d.month]} ${d.year}`;
}

function monthName(d: Day, delta: number): string {
  const m = d.month + delta;
  const year = d.year + Math.floor(m / 12);
  return `${MONTHS[((m % 12) + 12) % 12]} ${year}`;
}

/** The day in a timestamp-like string, or null: ISO dates, "8 May, 2023", "May 8, 2023". */
export function parseDay(text: string | undefined | null): Day | null {
  if (!text) {
    return null;
  }
  const iso = /\b(\d{4})-(\d{2})-(\d{2})(?!\d)/.exec(text);
  if (iso) {
    return { year: Number(iso[1]), month: Number(iso[2]) - 1, day: Number(iso[3]) };
  }
  const dmy = /\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b/.exec(text);
  if (dmy && MONTH_INDEX.has(dmy[2].toLowerCase())) {
    return { year: Number(dmy[3]), month: MONTH_INDEX.get(dmy[2].toLowerCase())!, day: Number(dmy[1]) };
  }
  const mdy = /\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/.exec(text);
  if (mdy && MONTH_INDEX.has(mdy[1].toLowerCase())) {
    return { year: Number(mdy[3]), month: MONTH_INDEX.get(mdy[1].toLowerCase())!, day: Number(mdy[2]) };
  }
  return null;
}

const NUMBER_WORDS = 'a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of|couple of|several|\\d+';
const WEEKDAY = 'sunday|monday|tuesday|wednesday|thursday|friday|saturday|sun|mon|tues?|wed|thurs?|thu|fri|sat';
/** "Fri", "tues" -> "Friday", "Tuesday". */
const weekday = (w: string) => WEEKDAYS.find(d => d.toLowerCase().startsWith(w.toLowerCase().slice(0, 3)))!;

interface Rule {
  pattern: RegExp;
  anchor: (m: RegExpExecArray, d: Day) => string;
}

/** Most specific first: a phrase is anchored once, by the first rule that takes it. */
const RULES: Rule[] = [
  { pattern: /\b(?:the )?day before yesterday\b/gi, anchor: (_m, d) => formatDay(addDays(d, -2)) },
  { pattern: /\b(?:yesterday|last night)\b/gi, anchor: (_m, d) => formatDay(addDays(d, -1)) },
  { pattern: /\b(?:the )?day after tomorrow\b/gi, anchor: (_m, d) => formatDay(addDays(d, 2)) },
  { pattern: /\btomorrow\b/gi, anchor: (_m, d) => formatDay(addDays(d, 1)) },
  { pattern: /\b(?:today|tonight|this (?:morning|afternoon|evening))\b/gi, anchor: (_m, d) => formatDay(d) },
  { pattern: new RegExp(`\\b(?:last|this past|past) (${WEEKDAY})(?![a-z])`, 'gi'), anchor: (m, d) => `the ${weekday(m[1])} before ${formatDay(d)}` },
  { pattern: new RegExp(`\\bnext (${WEEKDAY})(?![a-z])`, 'gi'), anchor: (m, d) => `the ${weekday(m[1])} after ${formatDay(d)}` },
  { pattern: /\b(?:last|past|this past) weekend\b/gi, anchor: (_m, d) => `the weekend before ${formatDay(d)}` },
  { pattern: /\bnext weekend\b/gi, anchor: (_m, d) => `the weekend after ${formatDay(d)}` },
  { pattern: /\bthis weekend\b/gi, anchor: (_m, d) => `the weekend of ${formatDay(d)}` },
  { pattern: /\b(?:last|past) week\b/gi, anchor: (_m, d) => `the week before ${formatDay(d)}` },
  { pattern: /\bnext week\b/gi, anchor: (_m, d) => `the week after ${formatDay(d)}` },
  { pattern: /\bthis week\b/gi, anchor: (_m, d) => `the week of ${formatDay(d)}` },
  { pattern: /\b(?:last|past) month\b/gi, anchor: (_m, d) => monthName(d, -1) },
  { pattern: /\bnext month\b/gi, anchor: (_m, d) => monthName(d, 1) },
  { pattern: /\bthis month\b/gi, anchor: (_m, d) => monthName(d, 0) },
  { pattern: /\blast year\b/gi, anchor: (_m, d) => String(d.year - 1) },
  { pattern: /\bnext year\b/gi, anchor: (_m, d) => String(d.year + 1) },
  { pattern: /\bthis year\b/gi, anchor: (_m, d) => String(d.year) },
  {
    pattern: new RegExp(`\\b(${NUMBER_WORDS}) (days?|weeks?|weekends?|months?|years?) ago\\b`, 'gi'),
    anchor: (m, d) => `${m[1].toLowerCase()} ${m[2].toLowerCase()} before ${formatDay(d)}`
  },
  { pattern: /\b(?:recently|the other day|lately)\b/gi, anchor: (_m, d) => `shortly before ${formatDay(d)}` }
];

/** True when the text holds a relative date expression that anchorDates() would anchor. */
export function hasRelativeDate(text: string): boolean {
  return RULES.some(r => new RegExp(r.pattern.source, 'i').test(text));
}

/**
 * The sentence with each relative date followed by its anchor in brackets:
 * "I went yesterday." said on 8 May 2023 -> "I went yesterday [7 May 2023]."
 * Without a day to anchor to, the text comes back unchanged.
 */
export function anchorDates(text: string, day: Day | null): string {
  if (!day) {
    return text;
  }
  // Mark what earlier (more specific) rules took so later rules leave it alone.
  const taken: Array<[number, number, string]> = [];
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = rule.pattern.exec(text))) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([s, e]) => start < e && end > s)) {
        continue;
      }
      // Already anchored by the writer ("yesterday (7 May)")? Leave it.
      if (/^\s*[[(]\s*\d/.test(text.slice(end))) {
        continue;
      }
      taken.push([start, end, rule.anchor(m, day)]);
    }
  }
  taken.sort((a, b) => b[0] - a[0]);
  let out = text;
  for (const [, end, anchor] of taken) {
    out = `${out.slice(0, end)} [${anchor}]${out.slice(end)}`;
  }
  return out;
}
