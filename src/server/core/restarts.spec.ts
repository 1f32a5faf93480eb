import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESTART_FILE, readRestarts } from './restarts';

describe('the restart record a new sidecar reads at start (written by vigilo/_restarts.py)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigilo-restarts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (value: unknown): void => writeFileSync(join(dir, RESTART_FILE), typeof value === 'string' ? value : JSON.stringify(value));

  it('no file, or a damaged one: never restarted', () => {
    expect(readRestarts(dir)).toEqual({ count: 0, last: null, failedStarts: 0 });
    write('{"count": 3, "last": ');
    expect(readRestarts(dir)).toEqual({ count: 0, last: null, failedStarts: 0 });
  });

  it('a pending restart is this very start: counted, and it is the last one', () => {
    write({ count: 2, last: { atMs: 1_796_000_000_000, reason: 'old', previousPid: 1 }, pending: { atMs: 1_796_000_600_000, reason: 'sidecar pid 42 exited', previousPid: 42 }, failedStarts: 1 });
    expect(readRestarts(dir)).toEqual({ count: 3, last: { at: new Date(1_796_000_600_000).toISOString(), reason: 'sidecar pid 42 exited', previousPid: 42 }, failedStarts: 1 });
  });

  it('bad fields fall back one by one instead of failing the start', () => {
    write({ count: -4, last: { atMs: 'soon', reason: 7 }, failedStarts: 'many' });
    expect(readRestarts(dir)).toEqual({ count: 0, last: null, failedStarts: 0 });
    write({ count: 1, last: { atMs: 1e20, reason: 'far future', previousPid: null }, failedStarts: 0 });
    expect(readRestarts(dir).last).toBeNull();
  });
});
