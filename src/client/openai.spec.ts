import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configure, flush, stats, wrap } from 'vigilo';
import { useSidecar } from '../../test/fakes/harness';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';
import { startFake } from '../../test/fakes/server';

const harness = useSidecar();
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

const client = () => new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 });
const ask = { model: 'gpt-4o-mini', messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Say hello.' }] };
// gpt-4o-mini: 176 uncached × $0.15 + 1024 cached × $0.075 + 300 out × $0.60 per 1M tokens.
const COST = (176 * 0.15 + 1024 * 0.075 + 300 * 0.6) / 1e6;

describe('wrap(new OpenAI())', () => {
  it('keeps the client type and returns the same response as the unwrapped client', async () => {
    const plain = client();
    const wrapped = wrap(plain);
    expect(wrapped).toBeInstanceOf(OpenAI);
    expect(wrapped.baseURL).toBe(plain.baseURL);
    const expected = await plain.chat.completions.create(ask);
    const got = await wrapped.chat.completions.create(ask);
    expect(got).toEqual(expected);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({
      provider: 'openai',
      operation: 'chat.completions',
      model: 'gpt-4o-mini-2024-07-18',
      pricedModel: 'gpt-4o-mini-2024-07-18',
      stream: false,
      status: 'ok',
      ttftMs: null,
      tokens: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, cacheWriteTokens: 0, reasoningTokens: 0 },
      usageEstimated: false
    });
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('counts a call once when the client is wrapped twice, and refuses what it cannot wrap', async () => {
    const twice = wrap(wrap(client()));
    const before = (await harness.calls()).length;
    await twice.chat.completions.create(ask);
    expect((await harness.calls()).length).toBe(before + 1);
    expect(() => wrap({ notAnLlmClient: true })).toThrow(TypeError);
  });

  it('reads usage from a stream opened without include_usage and hides the extra chunk', async () => {
    const plain = client();
    const expected: unknown[] = [];
    for await (const chunk of await plain.chat.completions.create({ ...ask, stream: true })) {
      expected.push(chunk);
    }
    const got: any[] = [];
    for await (const chunk of await wrap(plain).chat.completions.create({ ...ask, stream: true })) {
      got.push(chunk);
    }
    expect(fake.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    expect(got.map(c => c.choices)).toEqual(expected.map((c: any) => c.choices));
    expect(got.some(c => c.choices.length === 0)).toBe(false);
    expect(got.map(c => c.choices[0]?.delta?.content ?? '').join('')).toBe(fake.script.reply);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ stream: true, status: 'ok', usageEstimated: false, tokens: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024 } });
    expect(call.ttftMs).toBeTypeOf('number');
    expect(call.ttftMs!).toBeLessThanOrEqual(call.latencyMs);
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('passes the usage chunk through when the user asked for it', async () => {
    const got: any[] = [];
    for await (const chunk of await wrap(client()).chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } })) {
      got.push(chunk);
    }
    expect(got.at(-1).choices).toEqual([]);
    expect(got.at(-1).usage.prompt_tokens).toBe(1200);
  });

  it('estimates, and says so, when the user stops reading a stream before its usage', async () => {
    for await (const _chunk of await wrap(client()).chat.completions.create({ ...ask, stream: true })) {
      break;
    }
    const [call] = (await harness.calls()).slice(-1);
    expect(call.usageEstimated).toBe(true);
    expect(call.tokens!.inputTokens).toBeGreaterThan(0);
  });

  it('tracks responses.create, plain and streamed', async () => {
    const wrapped = wrap(client());
    const r = await wrapped.responses.create({ model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'Say hello.' });
    expect(r.output_text).toBe(fake.script.reply);
    let text = '';
    for await (const event of await wrapped.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.', stream: true })) {
      if (event.type === 'response.output_text.delta') {
        text += event.delta;
      }
    }
    expect(text).toBe(fake.script.reply);
    const calls = (await harness.calls()).slice(-2);
    expect(calls.map(c => [c.operation, c.stream, c.tokens?.inputTokens, c.tokens?.cachedInputTokens])).toEqual([
      ['responses', false, 1200, 1024],
      ['responses', true, 1200, 1024]
    ]);
    expect(calls[1].ttftMs).toBeTypeOf('number');
  });

  it("lets the SDK's own 429 and 500 errors reach the user, and records them", async () => {
    const wrapped = wrap(client());
    fake.failNext({ status: 429 }, { status: 500 });
    const e1 = await wrapped.chat.completions.create(ask).catch(e => e);
    const e2 = await wrapped.chat.completions.create({ ...ask, stream: true }).catch(e => e);
    expect(e1).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e1.status).toBe(429);
    expect(e2).toBeInstanceOf(OpenAI.InternalServerError);
    const calls = (await harness.calls()).slice(-2);
    expect(calls.map(c => [c.status, c.errorClass, c.httpStatus, c.costUsd])).toEqual([
      ['error', 'RateLimitError', 429, 0],
      ['error', 'InternalServerError', 500, 0]
    ]);
  });

  it('keeps .withResponse() and .asResponse() working', async () => {
    const wrapped = wrap(client());
    const { data, response, request_id } = await wrapped.chat.completions.create(ask).withResponse();
    expect(data.choices[0].message.content).toBe(fake.script.reply);
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_fake_/);
    const raw = await wrapped.chat.completions.create(ask).asResponse();
    expect(((await raw.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBe(1200);
  });

  it('adds no wait to the call when the sidecar hangs without answering', async () => {
    // A sidecar that accepts the connection and never answers: sends time out after 3 s.
    const hanging = await startFake(() => undefined);
    const sc = harness.sidecar();
    await flush();
    configure({ url: hanging.url, token: 'x', timeoutMs: 3000, batchSize: 1 });
    try {
      const wrapped = wrap(client());
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) {
        await wrapped.chat.completions.create(ask); // batchSize 1: each call starts a send that hangs
      }
      const elapsed = performance.now() - t0;
      expect(hanging.requests.length).toBeGreaterThan(0); // the sends did go out, and hang
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await hanging.close(); // ends the hung sends at once
      configure({ url: sc.url, token: sc.token, timeoutMs: 2000, batchSize: 100 });
      await flush();
    }
  });

  it('returns the same response with the sidecar stopped, and keeps the event until a sidecar answers', async () => {
    const plain = client();
    const expected = await plain.chat.completions.create(ask);
    await flush();
    const sc = harness.sidecar();
    const stored = (await harness.calls()).length;
    configure({ url: 'http://127.0.0.1:9', token: 'nobody-listens' });
    try {
      const before = stats();
      const got = await wrap(plain).chat.completions.create(ask);
      expect(got).toEqual(expected);
      expect(await flush()).toBe(false);
      const after = stats();
      expect(after.dropped).toBe(before.dropped);
      expect(after.sendFailures).toBeGreaterThan(before.sendFailures);
      expect(after.buffered).toBe(1);
    } finally {
      configure({ url: sc.url, token: sc.token });
    }
    expect(await flush()).toBe(true);
    expect((await harness.calls()).length).toBe(stored + 1);
  });
});
