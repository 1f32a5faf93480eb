/** Human formatting shared by the panel, the status bar and the %vigilo report. Pure functions. */

/** Bytes in a MiB: nvidia-smi and PyTorch report memory in MiB. */
export const MIB_BYTES = 1_048_576;

/** Binary units for memory and files, decimal units for the limits platforms state in GB. */
export type ByteUnits = 'binary' | 'decimal';

const BYTE_UNITS: Record<ByteUnits, { base: number; names: string[] }> = {
  binary: { base: 1024, names: ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] },
  decimal: { base: 1000, names: ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] }
};

/** MiB (nvidia-smi, PyTorch) → bytes, for formatBytes; null stays null. */
export function bytesOfMiB(mib: number | null | undefined): number | null {
  return mib === null || mib === undefined ? null : mib * MIB_BYTES;
}

/**
 * The one byte formatter, with the rounding the user sees everywhere: whole
 * bytes, else one decimal with a trailing ".0" dropped.
 * 16_000_000_000 → "14.9 GiB", 16 GiB → "16 GiB", 512 MiB → "512 MiB";
 * decimal: 20e9 → "20 GB", 18_600_000_000 → "18.6 GB".
 */
export function formatBytes(bytes: number | null | undefined, units: ByteUnits = 'binary'): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '—';
  }
  const { base, names } = BYTE_UNITS[units];
  let value = Math.abs(bytes);
  let unit = 0;
  // Move up while the figure would round to a whole `base` ("1024.0 KiB" reads "1 MiB").
  while (unit < names.length - 1 && value >= base - 0.05) {
    value /= base;
    unit++;
  }
  const rounded = unit === 0 ? Math.round(value) : Math.round(value * 10) / 10;
  const text = Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1);
  return `${bytes < 0 ? '-' : ''}${text} ${names[unit]}`;
}

/** 12.345 → "12%"; null → "—". */
export function formatPercent(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return `${value.toFixed(digits)}%`;
}

/** Seconds → "2 h 05 min", "3 min 12 s", "45 s"; days from 48 h on ("2 d 1 h"), so a weekly quota reads "27 h 30 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  const negative = seconds < 0;
  let s = Math.floor(Math.abs(seconds));
  const d = s >= 2 * 86_400 ? Math.floor(s / 86_400) : 0;
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let text: string;
  if (d > 0) {
    text = `${d} d ${h} h`;
  } else if (h > 0) {
    text = `${h} h ${String(m).padStart(2, '0')} min`;
  } else if (m > 0) {
    text = `${m} min ${String(s).padStart(2, '0')} s`;
  } else {
    text = `${s} s`;
  }
  return negative ? `-${text}` : text;
}

/** used/total as a percentage, or null when it cannot be computed. */
export function ratioPercent(used: number | null | undefined, total: number | null | undefined): number | null {
  if (used === null || used === undefined || !total || !Number.isFinite(used) || !Number.isFinite(total)) {
    return null;
  }
  return Math.min(100, Math.max(0, (used / total) * 100));
}

/** "sessionRemainingS" → "Session remaining". */
export function humanize(key: string): string {
  const words = key
    .replace(/(Bytes|MiB|Percent|S|Ms|At)$/, '')
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return words.length ? words[0].toUpperCase() + words.slice(1) : key;
}

/** Format a value by the unit its key names (the sidecar's naming convention). */
export function formatByKey(key: string, value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    if (/Bytes$/.test(key)) {
      return formatBytes(value);
    }
    if (/MiB$/.test(key)) {
      return formatBytes(bytesOfMiB(value));
    }
    if (/Percent$/.test(key)) {
      return formatPercent(value, 1);
    }
    if (/(^|[a-z])S$/.test(key) || /Seconds$/.test(key)) {
      return formatDuration(value);
    }
    if (/Ms$/.test(key)) {
      return `${Math.round(value)} ms`;
    }
    if (/Usd$|Cost$/i.test(key)) {
      return formatMoney(value);
    }
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
  if (typeof value === 'boolean') {
    return value ? 'yes' : 'no';
  }
  if (typeof value === 'string') {
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) && toDate(value)) {
      return formatDateTime(value);
    }
    return value;
  }
  if (Array.isArray(value)) {
    return value.every(v => typeof v !== 'object' || v === null) ? value.join(', ') : `${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  return JSON.stringify(value);
}

/**
 * The one money formatter (panel, status bar, report, budget and health advice):
 * cents from a dollar up, else two significant digits, because single LLM calls
 * cost fractions of a cent. 12.3 → "$12.30", 0.31 → "$0.31", 0.0123 → "$0.012",
 * 0.000684 → "$0.00068", 0 → "$0.00"; null → "unknown".
 */
export function formatMoney(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return 'unknown';
  }
  const abs = Math.abs(value);
  if (abs >= 0.995 || abs === 0) {
    return `${value < 0 ? '-' : ''}$${abs.toFixed(2)}`;
  }
  const twoSignificant = Number(abs.toPrecision(2));
  const digits = Math.max(2, 1 - Math.floor(Math.log10(twoSignificant)));
  return `${value < 0 ? '-' : ''}$${twoSignificant.toFixed(digits)}`;
}

/**
 * Counts (tokens, calls) one way everywhere: 950 → "950", 4000 → "4.0K",
 * 12_345 → "12K", 330_000 → "330K", 2_500_000 → "2.5M".
 */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) {
    return '—';
  }
  const abs = Math.abs(n);
  const scaled = (value: number, suffix: string): string => `${value < 10 ? value.toFixed(1) : Math.round(value).toString()}${suffix}`;
  if (abs >= 1_000_000_000) {
    return scaled(n / 1_000_000_000, 'B');
  }
  if (abs >= 1_000_000) {
    return scaled(n / 1_000_000, 'M');
  }
  if (abs >= 1000) {
    return scaled(n / 1000, 'K');
  }
  return String(Math.round(n));
}

/** Seconds → the status bar's compact form: "10h57m", "12m", "45s", "2d3h". */
export function formatShortDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) {
    return `${d}d${h}h`;
  }
  if (h > 0) {
    return `${h}h${String(m).padStart(2, '0')}m`;
  }
  return m > 0 ? `${m}m` : `${s}s`;
}

/** A rounded duration for sentences: "~3 min", "10 h 57 min", "45 s". */
export function formatApproxDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.round(s / 60)} min`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  if (h >= 48) {
    return `${Math.round(s / 86_400)} days`;
  }
  return m === 60 ? `${h + 1} h` : m === 0 ? `${h} h` : `${h} h ${String(m).padStart(2, '0')} min`;
}

export interface IClockOptions {
  /** BCP 47 locale; the runtime's default when absent (the browser's in the panel). */
  locale?: string;
  /** IANA zone; the runtime's own when absent. */
  timeZone?: string;
  /** "now" for deciding whether to add the weekday, ms. */
  nowMs?: number;
}

/**
 * A time of day in the user's locale and zone, with the zone: "21:28 CET",
 * "9:28 PM EST"; the weekday is added when it is not today: "Tue 09:12 CET".
 */
export function formatClock(iso: string | number | null | undefined, options: IClockOptions = {}): string {
  const date = toDate(iso);
  if (!date) {
    return '—';
  }
  const base: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', timeZoneName: 'short', timeZone: options.timeZone };
  const dayOf = (d: Date): string => new Intl.DateTimeFormat('en-CA', { timeZone: options.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const now = new Date(options.nowMs ?? Date.now());
  const sameDay = dayOf(date) === dayOf(now);
  return new Intl.DateTimeFormat(options.locale, sameDay ? base : { ...base, weekday: 'short' }).format(date);
}

/** A date and time in the user's locale with the zone: "30 Nov 2026, 21:28 CET". */
export function formatDateTime(iso: string | number | null | undefined, options: IClockOptions = {}): string {
  const date = toDate(iso);
  if (!date) {
    return '—';
  }
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: options.timeZone
  }).format(date) + ` ${zoneName(date, options)}`;
}

/** A valid Date, or null for a missing or unparseable time. */
function toDate(iso: string | number | null | undefined): Date | null {
  if (iso === null || iso === undefined) {
    return null;
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

function zoneName(date: Date, options: IClockOptions): string {
  const part = new Intl.DateTimeFormat(options.locale, { timeZoneName: 'short', timeZone: options.timeZone })
    .formatToParts(date)
    .find(p => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** Used of total in one unit where they share it: "14.9 / 252.0 GiB", else "512 MiB / 15.0 GiB". */
export function formatUsedOf(usedBytes: number | null | undefined, totalBytes: number | null | undefined): string {
  const used = formatBytes(usedBytes);
  const total = formatBytes(totalBytes);
  const [u, uUnit] = used.split(' ');
  const [, tUnit] = total.split(' ');
  return uUnit && uUnit === tUnit ? `${u} / ${total}` : `${used} / ${total}`;
}

