import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { openaiEvent } from '../../../test/fakes/events';
import { removeDir, startSidecar, tempDir } from '../../../test/fakes/sidecar';
import { LLM_QUERIES, LlmStore, type StoredCall } from './llmStore';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

function dir(): string {
  const d = tempDir('vigilo-store-');
  cleanups.push(() => removeDir(d));
  return d;
}

const DAY = 86_400_000;

/** A call as the columns of its row (the subset these tests need; the rest default in SQL or are nullable). */
function rowOf(c: StoredCall): Record<string, string | number | null> {
  return {
    id: c.id, run_id: c.runId, provider: c.provider, operation: c.operation, request_model: c.requestModel, response_model: c.responseModel, priced_model: c.pricedModel,
    started_at_ms: c.startedAtMs, latency_ms: c.latencyMs, stream: 0, status: c.status, has_usage: 1, input_tokens: 1000, output_tokens: 100, cached_input_tokens: 0,
    cache_write_tokens: 0, reasoning_tokens: 0, usage_estimated: 0, cost_usd: c.costUsd, conversation_key: c.conversationKey, tags: '{}', sdk: c.sdk
  };
}

/** One totals row as the table holds it (not through the store's cache). */
function rowTotals(store: LlmStore, dim: string, key: string, bucket: string) {
  const r = store.db.get(LLM_QUERIES.totals, [dim, key, bucket]);
  return r ? { key: r.key, bucket: r.bucket, calls: r.calls, errors: r.errors, pricedCalls: r.priced_calls, costUsd: r.cost_usd, estimatedCalls: r.estimated_calls,
    tokens: { inputTokens: r.input_tokens, outputTokens: r.output_tokens, cachedInputTokens: r.cached_input_tokens, cacheWriteTokens: r.cache_write_tokens, reasoningTokens: r.reasoning_tokens },
    firstMs: r.first_ms, lastMs: r.last_ms } : null;
}
const T0 = Date.parse('2026-03-02T12:00:00Z');

function call(i: number, over: Partial<StoredCall> = {}): StoredCall {
  return {
    id: `c-${i}`, runId: 'run-a', provider: 'openai', operation: 'chat.completions', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini',
    pricedModel: 'gpt-4o-mini', startedAtMs: T0 + i * 1000, ttftMs: null, latencyMs: 800 + (i % 10), stream: false, status: 'ok', errorClass: null,
    httpStatus: null, tokens: { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    usageEstimated: false, costUsd: 0.001, conversationKey: `conv-${i % 20}`, fingerprint: null, tags: {}, messages: null, output: null, sdk: 'test',
    ...over
  };
}

describe('LLM history store', () => {
  it('answers every read through an index or a key, never by reading the whole table', () => {
    const store = new LlmStore(join(dir(), 'llm.sqlite'));
    cleanups.push(() => store.close());
    const calls = Array.from({ length: 20_000 }, (_, i) => call(i));
    for (let i = 0; i < calls.length; i += 5000) {
      store.insert(calls.slice(i, i + 5000));
    }
    store.db.exec('ANALYZE');
    for (const [name, sql] of Object.entries(LLM_QUERIES)) {
      const params = (sql.match(/\?/g) ?? []).map(() => 1);
      const plan = store.db.all(`EXPLAIN QUERY PLAN ${sql}`, params).map(r => String(r.detail));
      // SEARCH = key/index lookup; a SCAN is allowed only along an index with a LIMIT (bounded rows).
      for (const step of plan.filter(p => p.startsWith('SCAN'))) {
        expect(/USING (COVERING )?INDEX/.test(step) && /LIMIT \?/.test(sql), `${name}: ${step}`).toBe(true);
      }
      for (const step of plan) {
        expect(step, name).not.toMatch(/TEMP B-TREE/);
      }
    }
  });

  it('keeps totals that match the rows, and a retried batch counts once', () => {
    const store = new LlmStore(join(dir(), 'llm.sqlite'));
    cleanups.push(() => store.close());
    const batch = [call(1), call(2, { status: 'error', costUsd: null, pricedModel: null, tokens: null }), call(3, { pricedModel: null, costUsd: null, requestModel: 'x-1', responseModel: 'x-1' })];
    expect(store.insert(batch)).toEqual({ inserted: 3, duplicates: 0 });
    expect(store.insert(batch)).toEqual({ inserted: 0, duplicates: 3 });
    expect(store.totals('run', 'run-a')).toMatchObject({ calls: 3, errors: 1, pricedCalls: 1, costUsd: 0.001, tokens: { inputTokens: 2000, outputTokens: 200 } });
    // The refused call without usage is not billed, so only the unknown model is an "unpriced" warning.
    expect(store.buckets('run_unpriced', 'run-a').map(b => [LlmStore.unpricedBucket(b.bucket), b.calls])).toEqual([[{ provider: 'openai', model: 'x-1' }, 1]]);
    expect(store.daysSince('day_model', '2026-03-01').map(b => [b.key, b.bucket, b.calls])).toEqual([
      ['2026-03-02', 'gpt-4o-mini', 2],
      ['2026-03-02', 'x-1', 1]
    ]);
    expect(store.conversation('conv-1')).toMatchObject({ calls: 1, costUsd: 0.001, contentCallId: null });
  });

  it('answers totals from memory once read, equal to the table after every insert', () => {
    const file = join(dir(), 'llm.sqlite');
    const store = new LlmStore(file);
    cleanups.push(() => store.close());
    const ids: Array<[string, string, string]> = [['run', 'run-a', ''], ['day', '2026-03-02', ''], ['run_provider', 'run-a', 'openai'], ['run', 'run-b', '']];
    // Read before anything exists (cached as "none"), then after each insert.
    expect(ids.map(([d, k, b]) => store.totals(d, k, b))).toEqual([null, null, null, null]);
    const batches = [
      [call(1), call(2, { status: 'error', costUsd: null, pricedModel: null, tokens: null })],
      [call(3, { runId: 'run-b', startedAtMs: T0 - DAY }), call(4, { costUsd: 0.25, usageEstimated: true })],
      [call(4), call(5, { startedAtMs: T0 - 3600_000 })]
    ];
    for (const batch of batches) {
      store.insert(batch);
      const cached = ids.map(([d, k, b]) => store.totals(d, k, b));
      store.flushTotals();
      expect(cached).toEqual(ids.map(([d, k, b]) => rowTotals(store, d, k, b)));
    }
    expect(store.totals('run', 'run-a')?.calls).toBe(4);
  });

  it('deletes raw calls past retention oldest first, in bounded steps, and keeps the totals', () => {
    const store = new LlmStore(join(dir(), 'llm.sqlite'));
    cleanups.push(() => store.close());
    store.insert(Array.from({ length: 30 }, (_, i) => call(i, { startedAtMs: T0 - (30 - i) * DAY })));
    const cutoff = T0 - 10 * DAY;
    expect([store.prune(cutoff, 8), store.prune(cutoff, 8), store.prune(cutoff, 8)]).toEqual([8, 8, 4]);
    expect(store.count()).toBe(10);
    expect(store.recent(100).every(c => c.startedAtMs >= cutoff)).toBe(true);
    expect(store.totals('run', 'run-a')?.calls).toBe(30);
  });

  it('writes the totals of one-event inserts later, together, and counts at the next open what a killed process left uncounted', () => {
    const file = join(dir(), 'llm.sqlite');
    const store = new LlmStore(file);
    expect(store.totals('run', 'run-a')).toBeNull(); // read once: answered from memory from now on
    for (let i = 0; i < 5; i++) store.insert([call(i)]);
    // Rows are committed at once; their totals wait in memory (answered from there), not in the table yet.
    expect(store.count()).toBe(5);
    expect(store.totals('run', 'run-a')?.calls).toBe(5);
    expect(rowTotals(store, 'run', 'run-a', '')).toBeNull();
    // A read of the lists writes them first.
    expect(store.conversations(100).reduce((a, c) => a + c.calls, 0)).toBe(5);
    expect(rowTotals(store, 'run', 'run-a', '')?.calls).toBe(5);
    // A killed process: rows committed, their totals never written (the rows go straight into the table here).
    for (let i = 5; i < 8; i++) {
      store.db.run(`INSERT INTO llm_calls (${Object.keys(rowOf(call(i))).join(', ')}) VALUES (${Object.keys(rowOf(call(i))).map(() => '?').join(', ')})`, Object.values(rowOf(call(i))));
    }
    store.close();
    const reopened = new LlmStore(file);
    cleanups.push(() => reopened.close());
    expect(reopened.totals('run', 'run-a')?.calls).toBe(8);
    expect(reopened.conversation('conv-6')?.calls).toBe(1);
    expect(reopened.db.get('SELECT through_rowid AS n FROM llm_totals_mark')?.n).toBe(8);
  });

  it('never prunes the newest row, so new rows keep increasing rowids for the totals mark', () => {
    const store = new LlmStore(join(dir(), 'llm.sqlite'));
    cleanups.push(() => store.close());
    store.insert(Array.from({ length: 5 }, (_, i) => call(i, { startedAtMs: T0 - (10 - i) * DAY })));
    expect(store.prune(T0, 100)).toBe(4);
    expect(store.recent(10).map(c => c.id)).toEqual(['c-4']);
  });

  it.each([['a file this version created', false], ['a file from before auto-vacuum (switched once)', true]])(
    'gives the space of pruned calls back to the disk: %s',
    (_name, older) => {
      const file = join(dir(), 'llm.sqlite');
      const store = new LlmStore(file);
      cleanups.push(() => store.close());
      if (older) {
        store.db.exec('PRAGMA auto_vacuum=NONE; VACUUM;');
        expect(store.db.autoVacuum()).toBe('none');
      }
      const text = 'a long captured message '.repeat(40);
      for (let i = 0; i < 4000; i += 500) {
        store.insert(Array.from({ length: 500 }, (_, k) => call(i + k, { startedAtMs: T0 - DAY + i + k, messages: [{ role: 'user', content: text }] })));
      }
      store.db.checkpoint();
      const full = store.db.sizes().dbBytes;
      expect(full).toBeGreaterThan(4 * 1024 * 1024);
      while (store.prune(T0, 2000) === 2000);
      expect(store.count()).toBe(1);
      expect(store.db.sizes().dbBytes).toBe(full); // deleted rows leave free pages in the file
      let steps = 0;
      while (store.giveBackSpace(256) === 256) steps++;
      if (!older) expect(steps).toBeGreaterThan(3); // a bounded amount per step (the older file's switch is one VACUUM)
      expect(store.db.autoVacuum()).toBe('incremental');
      expect(store.db.sizes().dbBytes).toBeLessThan(full / 10);
      expect(store.db.sizes().walBytes).toBe(0);
      expect(store.totals('run', 'run-a')?.calls).toBe(4000);
    }
  );

  it('upgrades a history written before totals existed, counting its calls once', () => {
    const file = join(dir(), 'llm.sqlite');
    const first = new LlmStore(file);
    first.insert(Array.from({ length: 2500 }, (_, i) => call(i)));
    // Make it look like the first release's file: raw rows only, no totals, no schema record.
    first.db.exec('DROP TABLE llm_agg; DROP TABLE llm_conversations; DROP TABLE vigilo_schema;');
    first.close();
    const upgraded = new LlmStore(file);
    cleanups.push(() => upgraded.close());
    expect(upgraded.totals('run', 'run-a')).toMatchObject({ calls: 2500, pricedCalls: 2500 });
    expect(upgraded.totals('run', 'run-a')?.costUsd).toBeCloseTo(2.5, 9);
    expect(upgraded.conversations(100)).toHaveLength(20);
    expect(upgraded.db.get('SELECT version FROM vigilo_schema WHERE component = ?', ['llm'])?.version).toBe(3);
  });
});

describe('retention through the API', () => {
  it('deletes raw calls older than 90 days at start; their conversations leave the list, their cost stays in the totals', async () => {
    const d = dir();
    const seeded = new LlmStore(join(d, 'llm.sqlite'));
    seeded.insert([call(1, { conversationKey: 'old', startedAtMs: T0 - 100 * DAY }), call(2, { conversationKey: 'recent', startedAtMs: T0 - DAY })]);
    seeded.close();
    const sc = await startSidecar(d, new ManualClock(T0));
    cleanups.push(() => sc.stop());
    expect((await sc.get('/llm/conversations')).body.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual(['recent']);
    const old = await sc.get('/llm/health/old');
    expect(old.status).toBe(404);
    expect(old.body.error.message).toMatch(/retention/);
    expect((await sc.get('/llm/cost?days=365')).body.byDay.reduce((a: number, b: { calls: number }) => a + b.calls, 0)).toBe(2);
    // /status says what the databases take on disk.
    const { database } = (await sc.get('/status')).body;
    expect(database.files.map((f: { name: string }) => f.name)).toContain('llm.sqlite');
    expect(database.dbBytes).toBeGreaterThan(0);
    expect(database.dbBytes).toBe(database.files.reduce((a: number, f: { dbBytes: number }) => a + f.dbBytes, 0));
    expect(database.walLimitBytes).toBe(64 * 1024 * 1024);
  });
});

describe('POST /llm/events under concurrency', () => {
  it('answers each of many simultaneous one-event requests with its own count, written together', async () => {
    const sc = await startSidecar(dir(), new ManualClock(T0));
    cleanups.push(() => sc.stop());
    const events = Array.from({ length: 60 }, (_, i) => openaiEvent({ conversationId: `c-${i % 3}` }));
    const answers = await Promise.all([...events, events[0]].map(e => sc.send('POST', '/llm/events', { events: [e] })));
    expect(answers.every(a => a.status === 200)).toBe(true);
    // The retried first event is acknowledged as a duplicate, whichever of the two was written first.
    expect(answers.reduce((a, r) => a + r.body.accepted, 0)).toBe(60);
    expect(answers.reduce((a, r) => a + r.body.duplicates, 0)).toBe(1);
    expect((await sc.get('/llm/usage')).body.calls).toBe(60);
    expect((await sc.get('/llm/conversations')).body.conversations.map((c: { calls: number }) => c.calls)).toEqual([20, 20, 20]);
  });
});

describe('a conversation of 20,000 calls through the API', () => {
  it('reports its whole totals while health reads only the latest calls', async () => {
    const d = dir();
    const seeded = new LlmStore(join(d, 'llm.sqlite'));
    const calls = Array.from({ length: 20_000 }, (_, i) =>
      call(i, { id: `big-${i}`, runId: 'earlier', conversationKey: 'big', startedAtMs: T0 - DAY + i, latencyMs: i < 19_936 ? 800 : 800 + (i - 19_936) * 100 })
    );
    for (let i = 0; i < calls.length; i += 5000) {
      seeded.insert(calls.slice(i, i + 5000));
    }
    seeded.close();
    const sc = await startSidecar(d, new ManualClock(T0));
    cleanups.push(() => sc.stop());
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'big', startedAt: new Date(T0).toISOString() })] });

    const health = (await sc.get(`/llm/health/big`)).body;
    expect(health.calls).toBe(20_001);
    expect(health.firstAt).toBe(new Date(T0 - DAY).toISOString());
    expect(health.costUsd).toBeGreaterThan(20);
    // Latency climbs only over the last 64 calls: a trend over the whole history would not see it.
    expect(health.latency.rising).toBe(true);
    expect((await sc.get('/llm/conversations')).body.conversations[0]).toMatchObject({ conversationId: 'big', calls: 20_001 });
    const cost = (await sc.get('/llm/cost?days=7')).body;
    expect(cost.byDay.reduce((a: number, b: { calls: number }) => a + b.calls, 0)).toBe(20_001);
    expect((await sc.get('/llm/usage')).body.calls).toBe(1);
  });
});
