import { describe, expect, it } from 'vitest';
import { RejectedBatch, SpanQueue } from './spanQueue';

/** Timers and a clock the test moves by hand; a receiver that is up, down or refusing. */
function harness(options: { maxQueue?: number; batchSize?: number } = {}) {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 0;
  const received: string[][] = [];
  const receiver = { mode: 'up' as 'up' | 'down' | 'refuse', calls: 0 };
  const queue = new SpanQueue({
    maxQueue: options.maxQueue ?? 100,
    batchSize: options.batchSize ?? 4,
    delayMs: 1000,
    now: () => now,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return () => {
        timers = timers.filter(t => t.id !== id);
      };
    },
    send: async ids => {
      receiver.calls++;
      if (receiver.mode === 'down') {
        throw new Error('connect ECONNREFUSED 127.0.0.1:4318');
      }
      if (receiver.mode === 'refuse') {
        throw new RejectedBatch('receiver refused the spans (HTTP 400)');
      }
      received.push(ids);
    }
  });
  /** Move the clock, firing due timers in order and letting their sends settle. */
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter(t => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) {
        break;
      }
      timers = timers.filter(t => t !== due);
      now = Math.max(now, due.at);
      due.fn();
      for (let i = 0; i < 5; i++) {
        await Promise.resolve();
      }
    }
    now = until;
  };
  return { queue, received, receiver, advance };
}

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `c${from + i}`);

describe('the bounded retry buffer in front of the OTLP exporter', () => {
  it('sends a full batch at once and a partial one after the delay', async () => {
    const h = harness();
    h.queue.add(ids(0, 5));
    await h.advance(0);
    expect(h.received).toEqual([ids(0, 4)]);
    await h.advance(999);
    expect(h.received).toHaveLength(1);
    await h.advance(1);
    expect(h.received[1]).toEqual(['c4']);
    expect(h.queue.snapshot()).toMatchObject({ sent: 5, queued: 0, dropped: 0, receiver: 'up' });
  });

  it('keeps what the receiver did not take while it is down, and sends it in order when it returns', async () => {
    const h = harness();
    h.receiver.mode = 'down';
    h.queue.add(ids(0, 6));
    await h.advance(0);
    expect(h.queue.snapshot()).toMatchObject({ sent: 0, queued: 6, failedBatches: 1, receiver: 'down' });
    expect(h.queue.snapshot().lastError).toMatch(/ECONNREFUSED/);
    // Backoff doubles: 1 s, 2 s, 4 s ... no retry storm while it is down.
    await h.advance(1000);
    await h.advance(2000);
    expect(h.receiver.calls).toBe(3);
    h.queue.add(ids(6, 2));
    await h.advance(1000);
    expect(h.receiver.calls).toBe(3);
    h.receiver.mode = 'up';
    await h.advance(3000);
    await h.advance(1000);
    expect(h.received.flat()).toEqual(ids(0, 8));
    expect(h.queue.snapshot()).toMatchObject({ sent: 8, dropped: 0, queued: 0, receiver: 'up', retryAt: null });
  });

  it('drops the oldest calls past the bound and counts them; memory stays bounded however long the receiver is away', async () => {
    const h = harness({ maxQueue: 10 });
    h.receiver.mode = 'down';
    for (let i = 0; i < 100; i++) {
      h.queue.add(ids(i * 10, 10));
      await h.advance(500);
    }
    const s = h.queue.snapshot();
    expect(s.queued + s.inFlight).toBeLessThanOrEqual(10);
    expect(s.dropped).toBe(1000 - s.queued - s.inFlight);
    h.receiver.mode = 'up';
    await h.advance(60_000);
    // The newest ten survive, in order.
    expect(h.received.flat()).toEqual(ids(990, 10));
  });

  it('does not retry a batch the receiver refused for good, and counts it as rejected', async () => {
    const h = harness();
    h.receiver.mode = 'refuse';
    h.queue.add(ids(0, 4));
    await h.advance(0);
    h.receiver.mode = 'up';
    h.queue.add(ids(4, 4));
    await h.advance(0);
    expect(h.received).toEqual([ids(4, 4)]);
    expect(h.queue.snapshot()).toMatchObject({ rejected: 4, sent: 4, queued: 0 });
  });

  it('drops and counts what waits when the export is turned off, and sends nothing more of it', async () => {
    const h = harness();
    h.receiver.mode = 'down';
    h.queue.add(ids(0, 6));
    await h.advance(0);
    h.queue.discard();
    h.receiver.mode = 'up';
    await h.advance(60_000);
    expect(h.received).toEqual([]);
    expect(h.queue.snapshot()).toMatchObject({ queued: 0, dropped: 6, sent: 0 });
  });

  it('never blocks the caller: add() returns before any send settles', () => {
    const h = harness();
    h.receiver.mode = 'down';
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      h.queue.add(ids(i * 10, 10));
    }
    expect(h.receiver.calls).toBe(0);
    expect(h.queue.snapshot().dropped).toBe(10_000 - 100);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
