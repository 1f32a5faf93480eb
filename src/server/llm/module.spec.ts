import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { openaiEvent, OPENAI_EVENT_COST } from '../../../test/fakes/events';
import { json, startFake, type FakeServer } from '../../../test/fakes/server';
import { removeDir, startSidecar, tempDir, type TestSidecar } from '../../../test/fakes/sidecar';
import { isoWeekKey as isoWeek } from '../../shared/costBuckets';
import shipped from '../../../data/pricing.json';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

async function sidecar(dir = tempDir(), clock = new ManualClock(Date.parse('2026-03-02T12:00:00Z'))): Promise<TestSidecar> {
  const sc = await startSidecar(dir, clock);
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => sc.stop());
  return sc;
}

describe('POST /llm/events', () => {
  it('refuses an invalid event with a 400 that names the bad field', async () => {
    const sc = await sidecar();
    const bad = { ...openaiEvent(), provider: 'mistral' };
    const r = await sc.send('POST', '/llm/events', { events: [bad] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/body\.events\.0\.provider/);
    const tooMany = await sc.send('POST', '/llm/events', { events: Array.from({ length: 501 }, () => openaiEvent()) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/body\.events/);
  });

  it('ignores a retried batch, so a call is never counted twice', async () => {
    const sc = await sidecar();
    const events = [openaiEvent(), openaiEvent()];
    expect((await sc.send('POST', '/llm/events', { events })).body).toMatchObject({ accepted: 2, duplicates: 0, budget: { hardStop: false, reason: null } });
    expect((await sc.send('POST', '/llm/events', { events })).body).toMatchObject({ accepted: 0, duplicates: 2 });
    const usage = (await sc.get('/llm/usage')).body;
    expect(usage.calls).toBe(2);
    expect(usage.tokens).toMatchObject({ inputTokens: 2400, outputTokens: 600, cachedInputTokens: 2048 });
    expect(usage.costUsd).toBeCloseTo(2 * OPENAI_EVENT_COST, 12);
  });

  it('publishes an `llm` event on the bus for the panel', async () => {
    const sc = await sidecar();
    const seen: unknown[] = [];
    const off = sc.sidecar.ctx.bus.subscribe(m => m.event === 'llm' && seen.push(m.data));
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'chat-1' })] });
    off();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'calls', accepted: 1, conversations: ['chat-1'] });
  });
});

describe('pricing in the sidecar', () => {
  it('gives an unknown model a null cost and a visible warning, never $0', async () => {
    const sc = await sidecar();
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ requestModel: 'my-private-model', responseModel: 'my-private-model' }), openaiEvent()] });
    const usage = (await sc.get('/llm/usage')).body;
    expect(usage.unpricedCalls).toBe(1);
    expect(usage.costUsd).toBeCloseTo(OPENAI_EVENT_COST, 12);
    expect(usage.warnings).toHaveLength(1);
    expect(usage.warnings[0].message).toMatch(/No price for openai model "my-private-model"/);
    const cost = (await sc.get('/llm/cost?days=7')).body;
    expect(cost.byModel.find((b: any) => b.key === 'my-private-model')).toMatchObject({ unpricedCalls: 1, costUsd: null });
    expect(cost.totalUsd).toBeCloseTo(OPENAI_EVENT_COST, 12);
    expect(cost.warnings[0].model).toBe('my-private-model');
  });

  it('says null, not $0, in /llm/usage and /llm/cost when no call could be priced', async () => {
    const sc = await sidecar();
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ requestModel: 'mystery-1', responseModel: 'mystery-1' })] });
    const usage = (await sc.get('/llm/usage')).body;
    expect(usage).toMatchObject({ calls: 1, unpricedCalls: 1, costUsd: null });
    expect(usage.byProvider).toEqual([{ provider: 'openai', calls: 1, costUsd: null }]);
    expect(usage.warnings[0].message).toMatch(/mystery-1.*unknown cost/);
    const cost = (await sc.get('/llm/cost?days=7')).body;
    expect(cost.totalUsd).toBeNull();
    for (const list of [cost.byDay, cost.byWeek, cost.byProvider, cost.byModel]) {
      expect(list).toEqual([expect.objectContaining({ calls: 1, unpricedCalls: 1, costUsd: null })]);
    }
    const [call] = (await sc.get('/llm/calls')).body.calls;
    expect(call).toMatchObject({ costUsd: null, pricedModel: null });
  });

  it('prices dated, prefixed and models/-named responses like their model, per provider, as computed by hand', async () => {
    const sc = await sidecar();
    const events = [
      // gpt-4o ($2.50 in, $1.25 cached, $10 out): 976 uncached + 1024 cached + 500 out.
      openaiEvent({ requestModel: 'gpt-4o', responseModel: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 2000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 1024 } } }),
      // responses API with a provider prefix: gpt-4.1 ($2 in, $0.50 cached, $8 out): 1500 uncached + 500 cached + 100 out (40 reasoning, included).
      openaiEvent({ operation: 'responses', requestModel: 'openai/gpt-4.1', responseModel: 'openai/gpt-4.1', usage: { input_tokens: 2000, input_tokens_details: { cached_tokens: 500 }, output_tokens: 100, output_tokens_details: { reasoning_tokens: 40 } } }),
      // claude-haiku-4-5 ($1 in, $1.25 cache write, $0.10 cache read, $5 out): 100 + 2000 written + 8000 read + 250 out.
      openaiEvent({ provider: 'anthropic', operation: 'messages', requestModel: 'anthropic/claude-haiku-4-5', responseModel: 'claude-haiku-4-5-20251001', usage: { input_tokens: 100, cache_creation_input_tokens: 2000, cache_read_input_tokens: 8000, output_tokens: 250 } }),
      // gemini-2.5-flash ($0.30 in, $0.03 cached, $2.50 out): 2000 uncached + 1000 cached + 300 + 200 thoughts.
      openaiEvent({ provider: 'google', operation: 'generateContent', requestModel: 'models/gemini-2.5-flash', responseModel: 'models/gemini-2.5-flash', usage: { promptTokenCount: 3000, cachedContentTokenCount: 1000, candidatesTokenCount: 300, thoughtsTokenCount: 200 } })
    ];
    await sc.send('POST', '/llm/events', { events });
    const calls = (await sc.get('/llm/calls')).body.calls.reverse();
    expect(calls.map((c: any) => c.pricedModel)).toEqual(['gpt-4o-2024-08-06', 'gpt-4.1', 'claude-haiku-4-5-20251001', 'gemini-2.5-flash']);
    const expected = [
      (976 * 2.5 + 1024 * 1.25 + 500 * 10) / 1e6,
      (1500 * 2 + 500 * 0.5 + 100 * 8) / 1e6,
      (100 * 1 + 2000 * 1.25 + 8000 * 0.1 + 250 * 5) / 1e6,
      (2000 * 0.3 + 1000 * 0.03 + 500 * 2.5) / 1e6
    ];
    calls.forEach((c: any, i: number) => expect(c.costUsd, c.pricedModel).toBeCloseTo(expected[i], 12));
    expect(calls[2].tokens).toMatchObject({ inputTokens: 10_100, cachedInputTokens: 8000, cacheWriteTokens: 2000, outputTokens: 250 });
    const usage = (await sc.get('/llm/usage')).body;
    expect(usage.unpricedCalls).toBe(0);
    expect(usage.warnings).toEqual([]);
    expect(usage.costUsd).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 12);
  });

  it('applies the user overrides in <dataDir>/pricing.json', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pricing.json'), JSON.stringify({ models: { 'my-private-model': { provider: 'openai', input: 1, output: 2, contextWindow: 32000 } } }));
    const sc = await sidecar(dir);
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ requestModel: 'my-private-model', responseModel: 'my-private-model', usage: { prompt_tokens: 1000, completion_tokens: 500 } })] });
    expect((await sc.get('/llm/usage')).body.costUsd).toBeCloseTo((1000 * 1 + 500 * 2) / 1e6, 12);
    const pricing = (await sc.get('/llm/pricing')).body;
    expect(pricing.overrides).toEqual(['my-private-model']);
    expect(pricing.date).toBe(shipped.date);
    expect(pricing.googleSearchGrounding).toBe('free');
  });

  it('bills Gemini Google Search grounding only once the user says the free allowance is used up', async () => {
    const grounded = (id: string, model: string, queries: number) =>
      openaiEvent({
        id,
        provider: 'google',
        operation: 'generateContent',
        requestModel: model,
        responseModel: model,
        usage: { promptTokenCount: 1000, candidatesTokenCount: 100 },
        groundingQueries: queries
      });
    const tokens = (input: number, output: number) => (1000 * input + 100 * output) / 1e6;
    const free = await sidecar();
    await free.send('POST', '/llm/events', { events: [grounded('g1', 'gemini-2.5-flash', 2)] });
    // Within the allowance (the default): the tokens only.
    expect((await free.get('/llm/usage')).body.costUsd).toBeCloseTo(tokens(0.3, 2.5), 12);

    const dir = tempDir();
    writeFileSync(join(dir, 'pricing.json'), JSON.stringify({ googleSearchGrounding: 'billed' }));
    const billed = await sidecar(dir);
    expect((await billed.get('/llm/pricing')).body.googleSearchGrounding).toBe('billed');
    // Gemini 2.5 Flash: $35 per 1,000 grounded prompts, however many queries ran; Gemini 3: $14 per 1,000 queries.
    await billed.send('POST', '/llm/events', { events: [grounded('g2', 'gemini-2.5-flash', 2)] });
    expect((await billed.get('/llm/usage')).body.costUsd).toBeCloseTo(tokens(0.3, 2.5) + 0.035, 12);
    await billed.send('POST', '/llm/events', { events: [grounded('g3', 'gemini-3-flash-preview', 3), grounded('g4', 'gemini-2.5-flash', 0)] });
    expect((await billed.get('/llm/usage')).body.costUsd).toBeCloseTo(2 * tokens(0.3, 2.5) + 0.035 + tokens(0.5, 3) + 3 * 0.014, 12);
  });

  it('imports LiteLLM prices from a URL (a loopback server here)', async () => {
    const sc = await sidecar();
    const litellm = {
      sample_spec: { input_cost_per_token: 0 },
      'openai/gpt-imported-1': { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 2e-6, output_cost_per_token: 8e-6, cache_read_input_token_cost: 5e-7, max_input_tokens: 64000, max_output_tokens: 8000 }
    };
    const server: FakeServer = await startFake((req, res) => json(res, 200, litellm));
    cleanups.push(() => server.close());
    const r = await sc.send('POST', '/llm/pricing/import', { from: `${server.url}/model_prices_and_context_window.json` });
    expect(r.status).toBe(200);
    expect(r.body.imported).toEqual({ from: `${server.url}/model_prices_and_context_window.json`, models: 1 });
    expect(r.body.models['gpt-imported-1']).toMatchObject({ input: 2, output: 8, cachedInput: 0.5, contextWindow: 64000 });
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ requestModel: 'gpt-imported-1', responseModel: 'gpt-imported-1', usage: { prompt_tokens: 1000, completion_tokens: 100 } })] });
    expect((await sc.get('/llm/usage')).body.costUsd).toBeCloseTo((1000 * 2 + 100 * 8) / 1e6, 12);
    const failing: FakeServer = await startFake((req, res) => json(res, 404, { error: 'no' }));
    cleanups.push(() => failing.close());
    const refused = await sc.send('POST', '/llm/pricing/import', { from: `${failing.url}/x.json` });
    // The price server failed, not the caller: 502, with the upstream status in the message.
    expect(refused.status).toBe(502);
    expect(refused.body.error.message).toMatch(/HTTP 404/);
  });
});

describe('GET /openapi.json', () => {
  it('lists every /llm route, with the request schemas of the ones that take a body or a query', async () => {
    const sc = await sidecar();
    const r = await fetch(`${sc.url}/openapi.json`, { headers: { authorization: `Bearer ${sc.token}` } });
    expect(r.status).toBe(200);
    const doc = (await r.json()) as any;
    const llm = Object.keys(doc.paths).filter(p => p.startsWith('/llm/'));
    expect(llm.sort()).toEqual(
      [
        '/llm/budgets',
        '/llm/calls',
        '/llm/chains',
        '/llm/conversations',
        '/llm/conversations/{conversationId}/chain',
        '/llm/conversations/{conversationId}/fresh-start',
        '/llm/conversations/{conversationId}/messages',
        '/llm/conversations/{conversationId}/summary',
        '/llm/conversations/{conversationId}/summary-request',
        '/llm/cost',
        '/llm/events',
        '/llm/health/{conversationId}',
        '/llm/pricing',
        '/llm/pricing/import',
        '/llm/pricing/update',
        '/llm/summary',
        '/llm/summary-request',
        '/llm/usage'
      ].sort()
    );
    const events = doc.paths['/llm/events'].post.requestBody.content['application/json'].schema;
    expect(events.properties.events.type).toBe('array');
    expect(events.properties.events.maxItems).toBe(500);
    expect(events.properties.events.items.properties.provider.enum).toEqual(['openai', 'anthropic', 'google']);
    expect(doc.paths['/llm/budgets'].put.requestBody.content['application/json'].schema.properties).toHaveProperty('hardStop');
    expect(doc.paths['/llm/pricing/import'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('from');
    expect(doc.paths['/llm/cost'].get.parameters.map((p: any) => p.name)).toContain('days');
    expect(doc.paths['/llm/conversations/{conversationId}/summary'].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['conversationId', 'budgetTokens']));
  });
});

describe('history', () => {
  it('keeps daily and weekly cost across a sidecar restart, in a 0600 SQLite file', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const clock = new ManualClock(Date.parse('2026-03-04T12:00:00Z'));
    const first = await startSidecar(dir, clock);
    await first.send('POST', '/llm/events', {
      events: [
        openaiEvent({ startedAt: '2026-03-01T09:00:00.000Z' }), // Sunday: ISO week 9
        openaiEvent({ startedAt: '2026-03-02T09:00:00.000Z' }), // Monday: week 10
        openaiEvent({ startedAt: '2026-03-02T18:00:00.000Z' })
      ]
    });
    await first.stop();
    expect(statSync(join(dir, 'llm.sqlite')).mode & 0o777).toBe(0o600);

    const second = await startSidecar(dir, clock);
    cleanups.push(() => second.stop());
    const cost = (await second.get('/llm/cost?days=7')).body;
    expect(cost.byDay.map((b: any) => [b.key, b.calls])).toEqual([
      ['2026-03-01', 1],
      ['2026-03-02', 2]
    ]);
    expect(cost.byWeek.map((b: any) => [b.key, b.calls])).toEqual([
      ['2026-W09', 1],
      ['2026-W10', 2]
    ]);
    expect(cost.totalUsd).toBeCloseTo(3 * OPENAI_EVENT_COST, 12);
    expect(cost.byProvider).toEqual([expect.objectContaining({ key: 'openai', calls: 3 })]);
    expect(cost.byModel).toEqual([expect.objectContaining({ key: 'gpt-4o-mini-2024-07-18', calls: 3 })]);
    // "This session" starts again with the new sidecar.
    expect((await second.get('/llm/usage')).body.calls).toBe(0);
  });

  it('splits each day by provider for the chart, keeps unpriced calls counted as unpriced, and stops at 14 days', async () => {
    const sc = await sidecar(tempDir(), new ManualClock(Date.parse('2026-03-20T12:00:00Z')));
    const haiku = (startedAt: string, over: Record<string, unknown> = {}) =>
      openaiEvent({ provider: 'anthropic', operation: 'messages', requestModel: 'claude-haiku-4-5', responseModel: 'claude-haiku-4-5-20251001', startedAt, usage: { input_tokens: 1000, output_tokens: 200 }, ...over });
    const HAIKU_COST = (1000 * 1 + 200 * 5) / 1e6;
    await sc.send('POST', '/llm/events', {
      events: [
        openaiEvent({ startedAt: '2026-03-01T09:00:00.000Z' }), // 20 days ago: outside the chart, inside byProvider
        openaiEvent({ startedAt: '2026-03-18T09:00:00.000Z' }),
        openaiEvent({ startedAt: '2026-03-18T23:59:00.000Z' }),
        haiku('2026-03-18T10:00:00.000Z'),
        haiku('2026-03-20T08:00:00.000Z'),
        // An unknown Anthropic model the same day: counted, unpriced, never $0.
        haiku('2026-03-20T09:00:00.000Z', { requestModel: 'claude-private', responseModel: 'claude-private' }),
        openaiEvent({ startedAt: '2026-03-20T07:00:00.000Z', requestModel: 'mystery-1', responseModel: 'mystery-1' })
      ]
    });
    const cost = (await sc.get('/llm/cost?days=30')).body;
    expect(cost.byDayProvider.map((b: any) => [b.key, b.provider, b.calls, b.unpricedCalls])).toEqual([
      ['2026-03-18', 'anthropic', 1, 0],
      ['2026-03-18', 'openai', 2, 0],
      ['2026-03-20', 'anthropic', 2, 1],
      ['2026-03-20', 'openai', 1, 1]
    ]);
    const [a18, o18, a20, o20] = cost.byDayProvider;
    expect(a18.costUsd).toBeCloseTo(HAIKU_COST, 12);
    expect(o18.costUsd).toBeCloseTo(2 * OPENAI_EVENT_COST, 12);
    expect(a20.costUsd).toBeCloseTo(HAIKU_COST, 12);
    expect(o20.costUsd).toBeNull();
    // The day totals are the sum of their providers.
    const day18 = cost.byDay.find((b: any) => b.key === '2026-03-18');
    expect(day18.costUsd).toBeCloseTo(a18.costUsd + o18.costUsd, 12);
    expect(cost.byProvider.find((b: any) => b.key === 'openai').calls).toBe(4);
    // A shorter window narrows the chart too.
    const short = (await sc.get('/llm/cost?days=1')).body;
    expect(short.byDayProvider.map((b: any) => `${b.key} ${b.provider}`)).toEqual(['2026-03-20 anthropic', '2026-03-20 openai']);
  });

  it('labels ISO weeks across a year boundary', () => {
    expect(isoWeek(Date.parse('2026-01-01T00:00:00Z'))).toBe('2026-W01');
    expect(isoWeek(Date.parse('2027-01-01T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(Date.parse('2024-12-30T00:00:00Z'))).toBe('2025-W01');
  });
});

describe('conversations', () => {
  it('groups a growing conversation under one derived id and serves its health and summary', async () => {
    const sc = await sidecar();
    const fingerprint = 'b'.repeat(64);
    const events = Array.from({ length: 4 }, (_, i) =>
      openaiEvent({
        fingerprint,
        startedAt: `2026-03-02T10:0${i}:00.000Z`,
        messages: [
          { role: 'system', content: 'You are a planner.' },
          { role: 'user', content: 'We are working on the Berlin offsite plan. The budget is 4000 euros.' },
          ...Array.from({ length: i }, (_, j) => ({ role: j % 2 ? 'user' : 'assistant', content: `Turn ${j}.` }))
        ],
        output: 'We decided to book the venue on Friday.'
      })
    );
    await sc.send('POST', '/llm/events', { events });
    const list = (await sc.get('/llm/conversations')).body.conversations;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ conversationId: 'fp-bbbbbbbbbbbbbbbb', calls: 4, summaryAvailable: true });
    const health = (await sc.get('/llm/health/fp-bbbbbbbbbbbbbbbb')).body;
    expect(health.context.windowTokens).toBe(128000);
    const summary = (await sc.get('/llm/conversations/fp-bbbbbbbbbbbbbbbb/summary?budgetTokens=300')).body;
    expect(summary.hasContent).toBe(true);
    expect(summary.text).toMatch(/Berlin/);
    expect(summary.text).toMatch(/4000 euros/);
    expect(summary.text).toMatch(/book the venue on Friday/);
    expect(summary.tokens).toBeLessThanOrEqual(300);
    expect((await sc.get('/llm/health/nope')).status).toBe(404);
  });

  it('says the summary has nothing to work from when content capture was off', async () => {
    const sc = await sidecar();
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'quiet' })] });
    const summary = (await sc.get('/llm/conversations/quiet/summary')).body;
    expect(summary.hasContent).toBe(false);
    expect(summary.text).toMatch(/content capture is off/);
    expect((await sc.get('/llm/health/quiet')).body.summaryAvailable).toBe(false);
  });
});

describe('spend budgets', () => {
  it('alerts at 50, 80 and 100 % of the daily budget and reports the hard stop', async () => {
    const sc = await sidecar();
    const limit = 10 * OPENAI_EVENT_COST;
    const put = await sc.send('PUT', '/llm/budgets', { dayUsd: limit, hardStop: true });
    expect(put.status).toBe(200);
    const post = async (n: number) => (await sc.send('POST', '/llm/events', { events: Array.from({ length: n }, () => openaiEvent({ startedAt: '2026-03-02T11:00:00.000Z' })) })).body;
    await post(4); // 40 %
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.day' })).toHaveLength(0);
    await post(2); // 60 %
    await post(3); // 90 %
    const last = await post(1); // 100 %
    const alerts = sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.day' }).reverse();
    expect(alerts.map(a => [a.threshold, a.severity])).toEqual([
      [50, 'info'],
      [80, 'warning'],
      [100, 'critical']
    ]);
    expect(alerts[2].message).toMatch(/today \(2026-03-02, UTC\) reached 100 % of the day budget/);
    expect(last.budget.hardStop).toBe(true);
    expect(last.budget.reason).toMatch(/daily LLM budget/);
    const budgets = (await sc.get('/llm/budgets')).body;
    expect(budgets.spent.dayUsd).toBeCloseTo(limit, 12);
    expect(statSync(budgets.file).mode & 0o777).toBe(0o600);
  });

  it('raises one alert per crossing, not one per event', async () => {
    const sc = await sidecar();
    await sc.send('PUT', '/llm/budgets', { sessionUsd: 20 * OPENAI_EVENT_COST, conversationUsd: 20 * OPENAI_EVENT_COST });
    const alerted: unknown[] = [];
    const off = sc.sidecar.ctx.bus.subscribe(m => m.event === 'alert' && alerted.push(m.data));
    // 12 batches of one event: 5 %, 10 %, ... 60 %: the 50 % mark is crossed once.
    for (let i = 0; i < 12; i++) {
      await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'c1' })] });
    }
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.session' }).map(a => a.threshold)).toEqual([50]);
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.conversation' }).map(a => [a.key, a.threshold])).toEqual([['c1', 50]]);
    // Then 8 more, up to 100 %: one more alert each at 80 and 100.
    for (let i = 0; i < 8; i++) {
      await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'c1' })] });
    }
    off();
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.session' }).map(a => a.threshold).sort()).toEqual([100, 50, 80]);
    expect(alerted.length).toBe(6);
  });

  it('alerts per conversation and per session without a hard stop by default', async () => {
    const sc = await sidecar();
    await sc.send('PUT', '/llm/budgets', { conversationUsd: 2 * OPENAI_EVENT_COST, sessionUsd: 4 * OPENAI_EVENT_COST });
    const r = await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'big' }), openaiEvent({ conversationId: 'big' })] });
    expect(r.body.budget.hardStop).toBe(false);
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.conversation' })[0]).toMatchObject({ key: 'big', threshold: 100 });
    expect(sc.sidecar.ctx.alerts.list({ ruleId: 'llm.budget.session' })[0]).toMatchObject({ threshold: 50 });
  });
});
