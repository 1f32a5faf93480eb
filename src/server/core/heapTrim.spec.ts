import { afterEach, describe, expect, it, vi } from 'vitest';
import { fullCollection, HeapTrim } from './heapTrim';

describe('HeapTrim: one collection after a burst of large requests', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('collects once, when the requests have stopped for the quiet time, and only after enough body bytes', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const trim = new HeapTrim({ thresholdBytes: 1000, quietMs: 10_000, collect });
    // One-call requests that never add up to the threshold: nothing, however long.
    for (let i = 0; i < 9; i++) {
      trim.note(100);
      vi.advanceTimersByTime(20_000);
    }
    expect(collect).not.toHaveBeenCalled();
    // A burst: the threshold is passed, but each request pushes the collection back.
    for (let i = 0; i < 20; i++) {
      trim.note(500);
      vi.advanceTimersByTime(2_000);
    }
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(8_001);
    expect(collect).toHaveBeenCalledTimes(1);
    // Counting starts again: the next burst gets its own collection, small requests none.
    trim.note(100);
    vi.advanceTimersByTime(60_000);
    expect(collect).toHaveBeenCalledTimes(1);
    trim.note(2000);
    vi.advanceTimersByTime(10_001);
    expect(collect).toHaveBeenCalledTimes(2);
    expect(trim.runs).toBe(2);
  });

  it('stop() cancels a pending collection', () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const trim = new HeapTrim({ thresholdBytes: 10, quietMs: 1000, collect });
    trim.note(100);
    trim.stop();
    vi.advanceTimersByTime(5000);
    expect(collect).not.toHaveBeenCalled();
  });

  it("gives the heap of dropped request bodies back (V8's gc without --expose-gc)", () => {
    expect(fullCollection()).toBe(true);
    const before = process.memoryUsage().heapTotal;
    let bodies: unknown[] = [];
    for (let i = 0; i < 150; i++) {
      bodies.push(JSON.parse(JSON.stringify(Array.from({ length: 2000 }, (_, j) => ({ id: `call-${i}-${j}`, tokens: j, tags: [i, j] })))));
    }
    const grown = process.memoryUsage().heapTotal;
    expect(bodies.length).toBe(150);
    expect(grown - before).toBeGreaterThan(30 * 1024 * 1024);
    bodies = [];
    expect(fullCollection()).toBe(true);
    // Most of what the bodies grew is given back at once (without the collection: none of it).
    expect(process.memoryUsage().heapTotal - before).toBeLessThan((grown - before) / 2);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
