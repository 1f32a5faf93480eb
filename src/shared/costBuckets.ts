/**
 * The keys of GET /llm/cost buckets, shared by the sidecar (which groups by
 * them) and the panel (which looks up today's and this week's bucket), and
 * the UTC midnight they start from. Pure.
 */
const DAY_MS = 86_400_000;

/** 00:00 UTC of a moment's day (ms): the start of daily budgets, cost windows and quota weeks. */
export function utcDayStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** A moment's UTC date, "2026-01-31": the `byDay` key. */
export function utcDayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A moment's ISO week (Monday first, UTC), "2026-W05": the `byWeek` key. */
export function isoWeekKey(ms: number): string {
  const date = new Date(utcDayStart(ms));
  // The ISO week belongs to the year of its Thursday.
  date.setUTCDate(date.getUTCDate() + 4 - (date.getUTCDay() || 7));
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / DAY_MS + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
