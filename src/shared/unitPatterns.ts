/**
 * The raw values users type ("23h", "22h30m", "22:30", "20GB", "none") as
 * regular expressions, so the REST schemas (and /openapi.json) are exactly as
 * strict as the parsers in src/core/units.ts: the edge refuses what the parser
 * would refuse, and a client generating from the schema only sends what the
 * parser takes. ASCII classes only ([0-9], not \d; spaces, not \s): the same
 * pattern means the same thing in JavaScript and in Python clients.
 */
import { z } from 'zod';

/** "hours" → "[hH][oO][uU][rR][sS]": case-insensitive without regex flags (JSON Schema has none). */
function anyCase(word: string): string {
  return [...word].map(c => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join('');
}

// At most 6 digits before the point and 3 after: "999999d" is 2700 years, so every accepted value
// (and a date computed from it) stays finite; a size is a separate, longer number (bytes).
const NUMBER = '[0-9]{1,6}(?:\\.[0-9]{1,3})?';
const BYTES = '[0-9]{1,16}(?:\\.[0-9]{1,3})?';
// Longest first, so each alternative is tried before its prefixes.
const DURATION_UNITS = ['seconds', 'minutes', 'second', 'minute', 'hours', 'days', 'secs', 'mins', 'hour', 'hrs', 'sec', 'min', 'day', 'hr', 'd', 'h', 'm', 's'];
const SIZE_UNITS = ['kib', 'mib', 'gib', 'tib', 'kb', 'mb', 'gb', 'tb', 'b', 'k', 'm', 'g', 't'];

const DURATION_BODY = `${NUMBER}|[0-9]{1,6}:[0-5][0-9]|(?:${NUMBER} ?(?:${DURATION_UNITS.map(anyCase).join('|')}) ?)+`;
const SIZE_BODY = `${BYTES} ?(?:${SIZE_UNITS.map(anyCase).join('|')})?`;
const NO_LIMIT_BODY = ['none', 'off', 'unlimited'].map(anyCase).join('|');

/** A bare number (hours), "hh:mm", or number+unit parts: "23h", "22h30m", "1.5 hours", "1d 2h". */
export const DURATION_PATTERN = `^(?:${DURATION_BODY})$`;
/** "20GB", "15 GiB", "500mb", a bare number of bytes. */
export const SIZE_PATTERN = `^(?:${SIZE_BODY})$`;

/** A value as typed, matching `body` (and, with `noLimit`, the words that remove a limit). */
function unitString(body: string, what: string, hint: string, noLimit = false) {
  const pattern = `^(?:${body}${noLimit ? `|${NO_LIMIT_BODY}` : ''})$`;
  return z
    .string()
    .max(40)
    .regex(new RegExp(pattern), { error: iss => `"${String(iss.input)}" is not ${what}; ${hint}${noLimit ? ', or "none"' : ''}.` });
}

/** A duration as typed: a string ("23h", "22:30", "1.5"; `noLimit` adds "none"/"off"/"unlimited"). */
export function durationString(options: { noLimit?: boolean } = {}) {
  return unitString(DURATION_BODY, 'a duration', 'write it like "23h", "22h30m", "22:30", "90m" or a number of hours', options.noLimit);
}

/** A size as typed: a string ("20GB"; `noLimit` adds "none"/"off"/"unlimited"). */
export function sizeString(options: { noLimit?: boolean } = {}) {
  return unitString(SIZE_BODY, 'a size', 'write it like "20GB", "15GiB", "500MB" or a number of bytes', options.noLimit);
}
