import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from '../core/units';
import { DURATION_PATTERN, durationString, SIZE_PATTERN, sizeString } from './unitPatterns';

/** Deterministic pseudo-random strings over an alphabet that makes near-misses likely. */
function* strings(alphabet: string, count: number, seed = 7): Generator<string> {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < count; i++) {
    const length = 1 + (next() % 9);
    yield Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
  }
}

const accepts = (parse: (s: string) => number, s: string): boolean => {
  try {
    parse(s);
    return true;
  } catch {
    return false;
  }
};

/** Every generated string the pattern matches, the parser takes too; and enough of them match to mean something. */
function expectNoLooserThan(pattern: string, parse: (s: string) => number, alphabet: string): void {
  const re = new RegExp(pattern);
  let matched = 0;
  for (const s of strings(alphabet, 20_000)) {
    if (re.test(s)) {
      matched++;
      expect(accepts(parse, s), s).toBe(true);
    }
  }
  expect(matched).toBeGreaterThan(500);
}

describe('unit patterns: the REST schema is exactly as strict as the parser', () => {
  it('accepts what users type for durations', () => {
    for (const s of ['23', '23h', '22h30m', '22:30', '1.5h', '90m', '45 min', '1d 2h', '2 Hours', '30S', '0']) {
      expect(new RegExp(DURATION_PATTERN).test(s), s).toBe(true);
      expect(accepts(parseDuration, s), s).toBe(true);
    }
    // 7 digits: a value so large that a date computed from it would not be valid.
    for (const s of ['lots', 'forever', '22:60', '1hm', 'h', '', '-1h', '1e3h', '１h', '1h\n', '1234567d']) {
      expect(new RegExp(DURATION_PATTERN).test(s), s).toBe(false);
    }
  });

  it('never lets through a duration the parser refuses (20k generated strings)', () => {
    expectNoLooserThan(DURATION_PATTERN, parseDuration, '0123456789.: hmsdHMSayiour');
  });

  it('never lets through a size the parser refuses, and takes the usual ones', () => {
    for (const s of ['20GB', '15 GiB', '500mb', '1024', '1.5T']) expect(new RegExp(SIZE_PATTERN).test(s), s).toBe(true);
    expectNoLooserThan(SIZE_PATTERN, parseSize, '0123456789. kmgtibKMGTIB');
  });

  it('refuses with a message that says how to write it', () => {
    expect(durationString().safeParse('lots').error!.issues[0].message).toBe('"lots" is not a duration; write it like "23h", "22h30m", "22:30", "90m" or a number of hours.');
    expect(durationString({ noLimit: true }).safeParse('NONE').success).toBe(true);
    expect(sizeString({ noLimit: true }).safeParse('unlimited').success).toBe(true);
    expect(sizeString().safeParse('20 parsecs').error!.issues[0].message).toMatch(/is not a size; write it like "20GB"/);
  });
});
