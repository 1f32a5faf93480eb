/** Human formatting shared by the panel, the status bar and the %vigilo report. Pure functions. */

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 16_000_000_000 → "14.9 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '—';
  }
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return `${sign}${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${BINARY_UNITS[unit]}`;
}

/** MiB as nvidia-smi reports them → "15.0 GiB" / "512 MiB". */
export function formatMiB(mib: number | null | undefined): string {
  if (mib === null || mib === undefined || !Number.isFinite(mib)) {
    return '—';
  }
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(0)} MiB`;
}

/** 12.345 → "12%"; null → "—". */
export function formatPercent(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return `${value.toFixed(digits)}%`;
}

/** Seconds → "2 h 05 min", "3 min 12 s", "45 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  const negative = seconds < 0;
  let s = Math.floor(Math.abs(seconds));
  const d = Math.floor(s / 86_400);
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

/** 0.0123 → "$0.0123", 12.3 → "$12.30": four decimals below a dollar, where LLM calls cost. */
export function formatUsd(value: number): string {
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
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
      return formatMiB(value);
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
      return formatUsd(value);
    }
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
  if (typeof value === 'boolean') {
    return value ? 'yes' : 'no';
  }
  if (typeof value === 'string') {
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) {
        return date.toLocaleString();
      }
    }
    return value;
  }
  if (Array.isArray(value)) {
    return value.every(v => typeof v !== 'object' || v === null) ? value.join(', ') : `${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  return JSON.stringify(value);
}
