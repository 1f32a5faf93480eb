import { describe, expect, it } from 'vitest';
import {
  chooseDestination,
  decideCheckpoint,
  DEFAULT_CHECKPOINT_SETTINGS,
  sessionEndThresholdS,
  type DestinationInput,
  type PolicyInput
} from './checkpointPolicy';

const MIN = 60_000;
const T0 = Date.parse('2026-11-30T10:00:00Z');

function input(patch: Partial<PolicyInput> = {}): PolicyInput {
  return {
    nowMs: T0,
    settings: DEFAULT_CHECKPOINT_SETTINGS,
    watching: true,
    watchingSinceMs: T0,
    saving: false,
    lastAttemptAtMs: null,
    lastSaveS: null,
    manualRequested: false,
    failure: null,
    sessionRemainingS: null,
    idleRemainingS: null,
    diskUsedPercent: null,
    oomSecondsToLimit: null,
    latches: {},
    ...patch
  };
}

describe('checkpoint policy: when', () => {
  it('saves every 30 minutes by default, counted from the last save', () => {
    expect(decideCheckpoint(input({ nowMs: T0 + 29 * MIN })).due).toBeNull();
    expect(decideCheckpoint(input({ nowMs: T0 + 30 * MIN })).due?.trigger).toBe('interval');
    const afterSave = input({ nowMs: T0 + 45 * MIN, lastAttemptAtMs: T0 + 30 * MIN, lastSaveS: 20 });
    expect(decideCheckpoint(afterSave).due).toBeNull();
    expect(decideCheckpoint(afterSave).next.atMs).toBe(T0 + 60 * MIN);
  });

  it('honours a configured interval', () => {
    const settings = { ...DEFAULT_CHECKPOINT_SETTINGS, intervalMin: 5 };
    expect(decideCheckpoint(input({ settings, nowMs: T0 + 5 * MIN })).due?.trigger).toBe('interval');
  });

  it('saves when session time left falls under 3 × the last save + margin, once', () => {
    // Last save 100 s → threshold 3 × 100 + 120 = 420 s.
    expect(sessionEndThresholdS(DEFAULT_CHECKPOINT_SETTINGS, 100)).toBe(420);
    const base = { lastAttemptAtMs: T0, lastSaveS: 100, nowMs: T0 + 10 * MIN };
    expect(decideCheckpoint(input({ ...base, sessionRemainingS: 421 })).due).toBeNull();
    const d = decideCheckpoint(input({ ...base, sessionRemainingS: 419 }));
    expect(d.due?.trigger).toBe('session-end');
    expect(d.due?.reason).toMatch(/session ends in/);
    // Latched: the next tick with the same condition does not save again.
    const again = decideCheckpoint(input({ ...base, nowMs: base.nowMs + 5000, sessionRemainingS: 414, lastAttemptAtMs: base.nowMs, latches: d.latches }));
    expect(again.due).toBeNull();
  });

  it('a slow save moves the session-end save earlier', () => {
    const fast = decideCheckpoint(input({ lastAttemptAtMs: T0, lastSaveS: 10, sessionRemainingS: 600, nowMs: T0 + MIN }));
    const slow = decideCheckpoint(input({ lastAttemptAtMs: T0, lastSaveS: 200, sessionRemainingS: 600, nowMs: T0 + MIN }));
    expect(fast.due).toBeNull();
    expect(slow.due?.trigger).toBe('session-end');
  });

  it('saves before the idle cut-off, when the disk passes its threshold, and when an OOM is near', () => {
    const recent = { lastAttemptAtMs: T0, lastSaveS: 10, nowMs: T0 + MIN };
    expect(decideCheckpoint(input({ ...recent, idleRemainingS: 299 })).due?.trigger).toBe('idle-cutoff');
    expect(decideCheckpoint(input({ ...recent, idleRemainingS: 301 })).due).toBeNull();
    expect(decideCheckpoint(input({ ...recent, diskUsedPercent: 90 })).due?.trigger).toBe('disk');
    expect(decideCheckpoint(input({ ...recent, diskUsedPercent: 89.9 })).due).toBeNull();
    expect(decideCheckpoint(input({ ...recent, oomSecondsToLimit: 100 })).due?.trigger).toBe('oom');
    expect(decideCheckpoint(input({ ...recent, oomSecondsToLimit: 500 })).due).toBeNull();
  });

  it('re-arms a condition once it clears', () => {
    const recent = { lastAttemptAtMs: T0, lastSaveS: 10, nowMs: T0 + MIN };
    const first = decideCheckpoint(input({ ...recent, diskUsedPercent: 95 }));
    expect(first.latches.disk).toBe(true);
    const cleared = decideCheckpoint(input({ ...recent, diskUsedPercent: 50, latches: first.latches }));
    expect(cleared.latches.disk).toBeUndefined();
    expect(decideCheckpoint(input({ ...recent, diskUsedPercent: 95, latches: cleared.latches })).due?.trigger).toBe('disk');
  });

  it('OOM comes before the other conditions when several hold', () => {
    const d = decideCheckpoint(input({ lastAttemptAtMs: T0, lastSaveS: 10, nowMs: T0 + MIN, oomSecondsToLimit: 30, diskUsedPercent: 99 }));
    expect(d.due?.trigger).toBe('oom');
  });

  it('"Checkpoint now" saves at once, even with auto off', () => {
    const settings = { ...DEFAULT_CHECKPOINT_SETTINGS, auto: false };
    expect(decideCheckpoint(input({ settings, manualRequested: true })).due?.trigger).toBe('manual');
    expect(decideCheckpoint(input({ settings, nowMs: T0 + 60 * MIN })).due).toBeNull();
    expect(decideCheckpoint(input({ settings })).next.reason).toMatch(/off/);
  });

  it('never starts two saves at once', () => {
    expect(decideCheckpoint(input({ saving: true, manualRequested: true, nowMs: T0 + 60 * MIN, oomSecondsToLimit: 1 })).due).toBeNull();
  });

  it('nothing is due when no kernel watches anything', () => {
    const d = decideCheckpoint(input({ watching: false, manualRequested: true }));
    expect(d.due).toBeNull();
    expect(d.next.reason).toMatch(/watch/);
  });

  it('backs off when a save takes longer than the interval, and says so', () => {
    // A 40-minute save with a 30-minute interval: every 80 minutes instead.
    const d = decideCheckpoint(input({ lastAttemptAtMs: T0, lastSaveS: 40 * 60, nowMs: T0 + 31 * MIN }));
    expect(d.due).toBeNull();
    expect(d.backoff?.intervalMin).toBe(80);
    expect(d.backoff?.reason).toMatch(/longer than the 30 min interval/);
    expect(decideCheckpoint(input({ lastAttemptAtMs: T0, lastSaveS: 40 * 60, nowMs: T0 + 80 * MIN })).due?.trigger).toBe('interval');
  });

  it('retries a retryable failure after 1 min, not a whole interval later', () => {
    const failure = { atMs: T0 + 30 * MIN + 20_000, consecutive: 1, retryable: true };
    const attempt = { lastAttemptAtMs: T0 + 30 * MIN, failure };
    expect(decideCheckpoint(input({ ...attempt, nowMs: T0 + 31 * MIN })).due).toBeNull();
    const retry = decideCheckpoint(input({ ...attempt, nowMs: T0 + 31 * MIN + 20_000 }));
    expect(retry.due).toEqual({ trigger: 'interval', reason: 'a retry after 1 failure(s)' });
    // A failure retrying cannot help (a full disk) waits for the normal interval.
    const stuck = { lastAttemptAtMs: T0 + 30 * MIN, failure: { ...failure, retryable: false } };
    expect(decideCheckpoint(input({ ...stuck, nowMs: T0 + 59 * MIN })).due).toBeNull();
    expect(decideCheckpoint(input({ ...stuck, nowMs: T0 + 60 * MIN })).due?.trigger).toBe('interval');
  });

  it('retries a retryable failure with doubling delays, and says when', () => {
    const failed = { lastAttemptAtMs: T0, nowMs: T0 + 30 * MIN + 1 };
    const one = decideCheckpoint(input({ ...failed, failure: { atMs: T0 + 30 * MIN, consecutive: 1, retryable: true } }));
    expect(one.due).toBeNull();
    expect(one.backoff?.retryAtMs).toBe(T0 + 31 * MIN);
    expect(one.backoff?.reason).toMatch(/failed 1 time/);
    const three = decideCheckpoint(input({ ...failed, nowMs: T0 + 33 * MIN, failure: { atMs: T0 + 30 * MIN, consecutive: 3, retryable: true } }));
    expect(three.due).toBeNull(); // 4 min after the third failure
    expect(decideCheckpoint(input({ ...failed, nowMs: T0 + 34 * MIN, failure: { atMs: T0 + 30 * MIN, consecutive: 3, retryable: true } })).due?.trigger).toBe('interval');
  });
});

const colab: DestinationInput = {
  platform: 'colab',
  driveMounted: false,
  driveMountPoint: '/content/drive',
  configured: null,
  run: 'run1',
  ephemeralPaths: ['/content'],
  durablePaths: ['/content/drive'],
  kaggleOutputBytes: null,
  kaggleLimitBytes: null,
  localDataDir: '/home/u/.local/share/vigilo'
};

describe('checkpoint policy: where', () => {
  it('uses Drive when it is mounted', () => {
    const d = chooseDestination({ ...colab, driveMounted: true });
    expect(d).toMatchObject({ kind: 'drive', durable: true, path: '/content/drive/MyDrive/vigilo-checkpoints/run1' });
  });

  it('on Colab without Drive, says there is no durable place and how to mount Drive', () => {
    const d = chooseDestination(colab);
    expect(d.kind).toBe('none');
    expect(d.path).toBeNull();
    expect(d.durable).toBe(false);
    expect(d.fix).toMatch(/drive\.mount/);
  });

  it('never calls a configured path on the ephemeral disk safe', () => {
    const d = chooseDestination({ ...colab, configured: '/content/ckpt' });
    expect(d.durable).toBe(false);
    expect(d.reason).toMatch(/NOT safe/);
    expect(chooseDestination({ ...colab, configured: '/content/drive/Shared/x' }).durable).toBe(true);
  });

  it('on Kaggle uses /kaggle/working and counts the room left under the 20 GB limit', () => {
    const d = chooseDestination({ ...colab, platform: 'kaggle', ephemeralPaths: ['/kaggle/temp'], durablePaths: ['/kaggle/working'], kaggleOutputBytes: 5e9, kaggleLimitBytes: 20e9 });
    expect(d).toMatchObject({ kind: 'kaggle', path: '/kaggle/working/vigilo-checkpoints/run1', freeBytes: 15e9, limitBytes: 20e9 });
  });

  it('locally defaults to the data folder', () => {
    const d = chooseDestination({ ...colab, platform: 'local', ephemeralPaths: [], durablePaths: [] });
    expect(d.path).toBe('/home/u/.local/share/vigilo/checkpoints/run1');
    expect(d.durable).toBe(true);
  });
});
