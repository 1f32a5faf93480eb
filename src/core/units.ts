/**
 * Parsing of the raw values users type ("23h", "22h30m", "90m", "20GB"):
 * the `%vigilo` magic and the REST API send them as typed; TypeScript decides.
 */

export class UnitParseError extends Error {}

const DURATION_UNITS: Record<string, number> = {
  d: 86_400,
  day: 86_400,
  days: 86_400,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1
};

/**
 * "23h", "22h30m", "1.5h", "90m", "45 min", "1d 2h" → seconds. A bare number
 * takes `bareUnit` ('h' by default: "%vigilo quota 23" means hours).
 */
export function parseDuration(raw: string | number, bareUnit: 'h' | 'm' | 's' = 'h'): number {
  const bareFactor = DURATION_UNITS[bareUnit];
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) {
      throw new UnitParseError(`"${raw}" is not a duration: give a non-negative number of ${bareUnit === 'h' ? 'hours' : bareUnit === 'm' ? 'minutes' : 'seconds'}.`);
    }
    return raw * bareFactor;
  }
  const text = raw.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) {
    return Number(text) * bareFactor;
  }
  // "hh:mm" as shown by Kaggle's quota bar, e.g. "22:30".
  const clock = /^(\d+):([0-5]\d)$/.exec(text);
  if (clock) {
    return Number(clock[1]) * 3600 + Number(clock[2]) * 60;
  }
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(text)) !== null) {
    const factor = DURATION_UNITS[m[2]];
    if (factor === undefined) {
      throw new UnitParseError(`"${raw}": unknown unit "${m[2]}"; use d, h, m or s (e.g. "22h30m").`);
    }
    total += Number(m[1]) * factor;
    matched = part.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new UnitParseError(`"${raw}" is not a duration; write it like "23h", "22h30m", "90m" or a number of ${bareUnit === 'h' ? 'hours' : 'units'}.`);
  }
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40
};

/** "20GB" (decimal, as Kaggle states it), "15 GiB", "500MB", a bare number of bytes → bytes. */
export function parseSize(raw: string | number): number {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) {
      throw new UnitParseError(`"${raw}" is not a size in bytes.`);
    }
    return raw;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  if (!m) {
    throw new UnitParseError(`"${raw}" is not a size; write it like "20GB", "15GiB" or "500MB".`);
  }
  const factor = SIZE_UNITS[(m[2] || 'b').toLowerCase()];
  if (factor === undefined) {
    throw new UnitParseError(`"${raw}": unknown size unit "${m[2]}"; use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB.`);
  }
  return Math.round(Number(m[1]) * factor);
}

/** 45296 → "12h34m56s"; 5400 → "1h30m"; 59 → "59s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', r || (!h && !m) ? `${r}s` : ''].join('');
}
