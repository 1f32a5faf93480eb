import { describe, expect, it } from 'vitest';
import { describePrevious, type SessionRecord } from '../session/record';

const record: SessionRecord = {
  sidecarPid: 10,
  startedAt: '2026-11-30T08:00:00.000Z',
  runtimeStartedAt: '2026-11-30T07:59:00.000Z',
  lastSeenAt: '2026-11-30T19:59:00.000Z',
  platform: 'colab',
  accelerator: 'Tesla T4',
  gpus: [],
  kernels: [],
  endedAt: null,
  endReason: null
};

describe('previous-session report', () => {
  it('says which step the last verified checkpoint holds and how long before the runtime ended', () => {
    const p = describePrevious(record, Date.parse('2026-11-30T20:30:00Z'), { step: 4200, time: '2026-11-30T19:47:00.000Z' });
    expect(p.how).toMatch(/ended with its runtime/);
    expect(p.how).toContain('last verified checkpoint at step 4200, 12 min before the runtime ended');
  });

  it('says nothing about checkpoints when none was verified', () => {
    expect(describePrevious(record, Date.parse('2026-11-30T20:30:00Z')).how).not.toMatch(/checkpoint/);
  });
});
