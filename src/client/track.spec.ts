import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, stats, track, VigiloBudgetExceededError, wrap } from 'vigilo';
import { useSidecar } from '../../test/fakes/harness';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';
import { json, startFake } from '../../test/fakes/server';
import { getRuntime } from './runtime';

const harness = useSidecar();
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ model: 'gpt-4o-2024-08-06' });
});
afterAll(() => fake.close());
afterEach(() => {
  const sc = harness.sidecar();
  configure({ url: sc.url, token: sc.token, captureContent: true, hardBudget: false, maxBufferedEvents: 2000 });
  fake.script.promptTokens = 1200;
});

const client = () => wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));
type Msg = { role: 'system' | 'user' | 'assistant'; content: string };

describe('track()', () => {
  it('gives every call inside the callback its conversation id and tags, across awaits', async () => {
    const openai = client();
    await track(
      async () => {
        await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one' }] });
        await new Promise(resolve => setImmediate(resolve));
        await track(() => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'two' }] }), { tags: { step: 'inner' } });
      },
      { conversationId: 'onboarding', tags: { team: 'ml' } }
    );
    await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'outside' }] });
    const calls = (await harness.calls()).slice(-3);
    expect(calls.map(c => [c.conversationId, c.tags])).toEqual([
      ['onboarding', { team: 'ml' }],
      ['onboarding', { team: 'ml', step: 'inner' }],
      [expect.stringMatching(/^cv-[0-9a-f]{16}$/), {}]
    ]);
  });

  it('keeps one id for a conversation whose message list grows, and another for a different one', async () => {
    const openai = client();
    const history: Msg[] = [{ role: 'system', content: 'You plan trips.' }, { role: 'user', content: 'Plan Lisbon.' }];
    for (let i = 0; i < 3; i++) {
      const r = await openai.chat.completions.create({ model: 'gpt-4o', messages: history });
      history.push({ role: 'assistant', content: r.choices[0].message.content ?? '' }, { role: 'user', content: `And day ${i + 2}?` });
    }
    await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'You plan trips.' }, { role: 'user', content: 'Plan Porto.' }] });
    const ids = (await harness.calls()).slice(-4).map(c => c.conversationId);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(ids[0]).toMatch(/^cv-[0-9a-f]{16}$/);
    expect(ids[3]).not.toBe(ids[0]);
  });

  it('sends no message content when capture is off, and the summary says so', async () => {
    configure({ captureContent: false });
    await track(() => client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'secret plans' }] }), { conversationId: 'private' });
    await flush();
    const summary = await harness.sidecar().get('/llm/conversations/private/summary');
    expect(summary.body.hasContent).toBe(false);
    expect(JSON.stringify(summary.body)).not.toMatch(/secret plans/);
  });
});

/** Every byte of the sidecar's SQLite files (the database and any journal next to it), as latin1 text. */
function dbBytes(): string {
  const dir = harness.sidecar().dataDir;
  return readdirSync(dir)
    // The database, its WAL and owner files; not the WASM engine's lock folder.
    .filter(f => f.startsWith('llm.sqlite') && statSync(join(dir, f)).isFile())
    .map(f => readFileSync(join(dir, f)).toString('latin1'))
    .join('\n');
}

describe('what reaches the database and the events', () => {
  it('keeps message content out of the SQLite file when capture is off, and stores it when on', async () => {
    configure({ captureContent: false });
    await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'the vault code is QX-83317-OFF' }] });
    configure({ captureContent: true });
    await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'the vault code is QX-83317-ON' }] });
    await flush();
    const bytes = dbBytes();
    expect(bytes).toContain('QX-83317-ON'); // the check can see content when it is there
    expect(bytes).not.toContain('QX-83317-OFF');
  });

  it('never sends the API key or request headers, and never stores them', async () => {
    const apiKey = 'sk-vigilo-canary-7f3a9c1e';
    const bodies: string[] = [];
    const fakeSidecar = await startFake((req, res) => {
      bodies.push(JSON.stringify(req.body));
      json(res, 200, { accepted: req.body?.events?.length ?? 0, duplicates: 0, budget: { hardStop: false, reason: null } });
    });
    const sc = harness.sidecar();
    const openai = wrap(new OpenAI({ apiKey, baseURL: fake.baseURL, maxRetries: 0, defaultHeaders: { 'x-canary-header': 'hdr-canary-55' } }));
    try {
      await flush();
      configure({ url: fakeSidecar.url, token: 'fake' });
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      for await (const _ of await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], stream: true })) {
        // read to the end
      }
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-per-call': 'call-canary-66' } });
      await flush();
      configure({ url: sc.url, token: sc.token });
      const events = bodies.join('\n');
      expect(events).toContain('"provider":"openai"');
      expect(bodies.map(b => JSON.parse(b).events.length).reduce((a, b) => a + b, 0)).toBe(3);
      for (const secret of [apiKey, 'hdr-canary-55', 'call-canary-66', 'Bearer', 'x-stainless']) {
        expect(events).not.toContain(secret);
      }
      // The same calls through the real sidecar: nothing of the key in its database either.
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-per-call': 'call-canary-66' } });
      await flush();
      const bytes = dbBytes();
      for (const secret of [apiKey, 'hdr-canary-55', 'call-canary-66']) {
        expect(bytes).not.toContain(secret);
      }
    } finally {
      configure({ url: sc.url, token: sc.token });
      await fakeSidecar.close();
    }
  });
});

describe('budget hard stop', () => {
  it('refuses the next call before sending it once the budget is spent, only when enabled', async () => {
    const sc = harness.sidecar();
    await sc.send('PUT', '/llm/budgets', { sessionUsd: 0.000001, hardStop: true });
    try {
      const openai = client();
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'spend' }] });
      await flush(); // the sidecar answers with hardStop: true
      // Off by default: the call still goes out.
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still allowed' }] });
      configure({ hardBudget: true });
      const sent = fake.requests.length;
      const error = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'refused' }] }).catch(e => e);
      expect(error).toBeInstanceOf(VigiloBudgetExceededError);
      expect(error.message).toMatch(/session LLM budget of \$0\.0000010 reached/);
      expect(fake.requests.length).toBe(sent);
      // Raising the limit lifts the stop: the refused call asked the sidecar again.
      await sc.send('PUT', '/llm/budgets', { sessionUsd: 1000, hardStop: true });
      await getRuntime().transport.refreshBudget(Date.now() + 10_000);
      expect(getRuntime().transport.budget.hardStop).toBe(false);
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'allowed again' }] });
    } finally {
      await sc.send('PUT', '/llm/budgets', {});
      await flush();
    }
  });
});

describe('delivery', () => {
  it('keeps a bounded buffer while the sidecar is down (no disk allowed here), dropping the oldest with a counter', async () => {
    await flush();
    configure({ url: 'http://127.0.0.1:9', token: 'nobody-listens', maxBufferedEvents: 3, maxSpooledBytes: 0, batchSize: 100 });
    const before = stats();
    const openai = client();
    for (let i = 0; i < 5; i++) {
      await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `m${i}` }] });
    }
    expect(stats().buffered).toBe(3);
    expect(stats().dropped).toBe(before.dropped + 2);
    expect(await flush()).toBe(false); // undelivered events stay buffered for the next sidecar
    expect(stats().dropped).toBe(before.dropped + 2);
    expect(stats().buffered).toBe(3);
  });

  it('flushes pending events on a normal exit (beforeExit)', async () => {
    await flush();
    const before = stats().delivered;
    await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'last words' }] });
    expect(stats().buffered).toBe(1);
    process.emit('beforeExit', 0);
    await flush(); // waits for the exit flush already in flight
    expect(stats().delivered).toBe(before + 1);
  });
});

describe('conversation health end to end', () => {
  it('predicts the messages left as a conversation grows toward its window, and recommends the transfer', async () => {
    const openai = client();
    const history: Msg[] = [{ role: 'user', content: 'We are writing the migration guide. The deadline is 14 March.' }];
    for (let i = 0; i < 12; i++) {
      fake.script.promptTokens = 22_000 + i * 8_000; // gpt-4o: 128K window; the last call uses 110K + 300
      const r = await openai.chat.completions.create({ model: 'gpt-4o', messages: history });
      history.push({ role: 'assistant', content: r.choices[0].message.content ?? '' }, { role: 'user', content: `Next section ${i}.` });
    }
    const [last] = (await harness.calls()).slice(-1);
    const health = (await harness.sidecar().get(`/llm/health/${last.conversationId}`)).body;
    expect(health.context).toMatchObject({ usedTokens: 110_300, windowTokens: 128_000, growthPerMessage: 8_000, messagesLeft: 2 });
    expect(health.context.text).toBe('110K of 128K used — about 2 messages left');
    expect(health.recommendations).toContain('about 2 messages left before the context window is full: carry the summary into a fresh conversation');
    expect(health.summaryAvailable).toBe(true);
  });

  async function conversationWithLatencies(id: string, latencies: number[]) {
    const rt = getRuntime();
    const original = rt.monotonic;
    // Each non-streamed call reads the monotonic clock twice: at start and at finish.
    let t = 0;
    let reads = 0;
    let call = 0;
    rt.monotonic = () => (reads++ % 2 === 0 ? t : (t += latencies[call++]));
    try {
      const openai = client();
      await track(async () => {
        for (let i = 0; i < latencies.length; i++) {
          await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `q${i}` }] });
        }
      }, { conversationId: id });
    } finally {
      rt.monotonic = original;
    }
    await flush();
    return (await harness.sidecar().get(`/llm/health/${id}`)).body;
  }

  it('flags rising latency as degradation', async () => {
    const latencies = [900, 1100, 950, 1300, 1250, 1500, 1700, 1600, 1900, 2100, 2050, 2400];
    const health = await conversationWithLatencies('slowing', latencies);
    const calls = await harness.calls('slowing');
    expect(calls.map(c => c.latencyMs)).toEqual(latencies);
    expect(health.latency.rising).toBe(true);
    expect(health.recommendations.join(' ')).toMatch(/consider starting fresh/);
  });

  it('does not flag noisy but flat latency', async () => {
    const health = await conversationWithLatencies('noisy', [1200, 700, 1900, 900, 1500, 650, 2300, 1000, 800, 1700, 950, 1300]);
    expect(health.latency.rising).toBe(false);
    expect(health.recommendations).toEqual([]);
  });
});

describe('summary written by a model', () => {
  it("sends the captured conversation to the user's own model and returns its summary", async () => {
    const openai = client();
    await track(() => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Our deadline is 14 March and we use Postgres 16.' }] }), { conversationId: 'to-transfer' });
    await flush();
    const { summarizeWithModel } = await import('vigilo');
    const summary = await summarizeWithModel(openai, { conversationId: 'to-transfer', model: 'gpt-4o-mini', budgetTokens: 300 });
    expect(summary).toEqual({ conversationId: 'to-transfer', method: 'model', text: fake.script.reply, note: null });
    const sent = fake.requests.at(-1)!.body;
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.max_completion_tokens).toBe(300);
    expect(sent.messages[1].content).toContain('Our deadline is 14 March and we use Postgres 16.');
    expect(sent.messages[1].content).toContain(`ASSISTANT: ${fake.script.reply}`);
  });
});
