import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../../../test/fakes/sidecar';
import { defaultEngine } from './engine';
import { LlmStore, type StoredCall } from './llmStore';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) {
    cleanups.pop()!();
  }
});

const T0 = Date.parse('2026-03-02T12:00:00Z');
/** The bound under test: small, so a few thousand calls are "sustained load" for it. */
const LIMIT = 256 * 1024;

function call(i: number): StoredCall {
  return {
    id: `c-${i}`, runId: 'run-a', provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini',
    pricedModel: 'gpt-4o-mini', startedAtMs: T0 + i * 1000, ttftMs: null, latencyMs: 800, stream: false, status: 'ok', errorClass: null,
    httpStatus: null, tokens: { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    usageEstimated: false, costUsd: 0.001, conversationKey: `conv-${i % 40}`, fingerprint: null, tags: {},
    messages: [{ role: 'user', content: `Question ${i}: ${'words '.repeat(40)}` }], output: 'An answer.', sdk: 'test'
  };
}

/** Batches of 100 calls, each followed by the lookups the sidecar makes after a commit (budgets, health); the WAL's size after each. */
function sustainedLoad(store: LlmStore, batches: number): number[] {
  const walSizes: number[] = [];
  for (let b = 0; b < batches; b++) {
    store.insert(Array.from({ length: 100 }, (_, k) => call(b * 100 + k)));
    store.totals('run', 'run-a');
    store.conversation(`conv-${b % 40}`);
    store.healthWindow(`conv-${b % 40}`, 64);
    walSizes.push(store.db.sizes().walBytes);
  }
  return walSizes;
}

const engines = (['wasm', ...(defaultEngine() === 'node:sqlite' ? ['node'] : [])] as const).map(e => e as 'wasm' | 'node');

describe.each(engines)('the write-ahead log under sustained batched load (%s engine)', engine => {
  /** A store in a fresh dir with the test's bound; SQLite checkpoints on its own every `autocheckpointPages`. */
  const openStore = (autocheckpointPages: number): LlmStore => {
    const dir = tempDir('vigilo-wal-');
    cleanups.push(() => removeDir(dir));
    const store = new LlmStore(join(dir, 'llm.sqlite'), { engine, walLimitBytes: LIMIT, walAutocheckpointPages: autocheckpointPages });
    cleanups.push(() => store.close());
    return store;
  };

  it("stays under its bound with SQLite's own checkpoints, and the rows reach the database file", () => {
    const store = openStore(16);
    const walSizes = sustainedLoad(store, 60);
    expect(Math.max(...walSizes)).toBeLessThanOrEqual(LIMIT);
    expect(store.count()).toBe(6000);
    // Checkpointed: the calls are in the database file itself, not only in the log.
    expect(store.db.sizes().dbBytes).toBeGreaterThan(1024 * 1024);
  });

  it('is truncated after a commit that leaves it past the bound, when SQLite would not checkpoint yet', () => {
    // SQLite's own checkpoint only after 100 000 pages (400 MB): the bound alone keeps the log small.
    const store = openStore(100_000);
    const walSizes = sustainedLoad(store, 60);
    expect(Math.max(...walSizes)).toBeLessThanOrEqual(LIMIT);
    // It did grow and was cut back (not merely never written).
    expect(walSizes.some(s => s > 0)).toBe(true);
    expect(walSizes.filter((s, i) => i > 0 && s < walSizes[i - 1]).length).toBeGreaterThan(0);
    expect(store.count()).toBe(6000);
  });
});
