import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, wrap } from 'vigilo';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/fakes/anthropic';
import { useSidecar } from '../../test/fakes/harness';

const harness = useSidecar();
let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ model: 'claude-opus-4-7' });
});
afterAll(() => fake.close());

const client = () => new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 });
const ask = { model: 'claude-opus-4-7', max_tokens: 256, system: 'You review code.', messages: [{ role: 'user' as const, content: 'Review this.' }] };
// claude-opus-4-7: 200 uncached × $5 + 1000 cache-write × $6.25 + 3000 cache-read × $0.50 + 150 out × $25 per 1M.
const COST = (200 * 5 + 1000 * 6.25 + 3000 * 0.5 + 150 * 25) / 1e6;
const TOKENS = { inputTokens: 4200, outputTokens: 150, cachedInputTokens: 3000, cacheWriteTokens: 1000, reasoningTokens: 0 };

describe('wrap(new Anthropic())', () => {
  it('returns the same message and prices cache writes and reads', async () => {
    const plain = client();
    const wrapped = wrap(plain);
    expect(wrapped).toBeInstanceOf(Anthropic);
    const expected = await plain.messages.create(ask);
    const got = await wrapped.messages.create(ask);
    expect(got).toEqual(expected);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ provider: 'anthropic', operation: 'messages', model: 'claude-opus-4-7', stream: false, status: 'ok', tokens: TOKENS });
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('reads usage from message_start and message_delta of a raw stream', async () => {
    const plain = client();
    const expected: unknown[] = [];
    for await (const e of await plain.messages.create({ ...ask, stream: true })) {
      expected.push(e);
    }
    const got: unknown[] = [];
    for await (const e of await wrap(plain).messages.create({ ...ask, stream: true })) {
      got.push(e);
    }
    expect(got).toEqual(expected);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ stream: true, status: 'ok', usageEstimated: false, tokens: TOKENS });
    expect(call.ttftMs).toBeTypeOf('number');
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('tracks messages.stream() once, with the final message intact', async () => {
    const before = (await harness.calls()).length;
    const stream = wrap(client()).messages.stream(ask);
    let text = '';
    stream.on('text', t => (text += t));
    const message = await stream.finalMessage();
    expect(text).toBe(fake.script.reply);
    expect(message.usage.output_tokens).toBe(150);
    const calls = await harness.calls();
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)).toMatchObject({ stream: true, tokens: TOKENS });
  });

  it("lets the SDK's own 429 and 500 errors reach the user, and records them", async () => {
    const wrapped = wrap(client());
    fake.failNext({ status: 429 }, { status: 500 });
    const e1 = await wrapped.messages.create(ask).catch(e => e);
    const e2 = await wrapped.messages.stream(ask).finalMessage().catch(e => e);
    expect(e1).toBeInstanceOf(Anthropic.RateLimitError);
    expect(e2).toBeInstanceOf(Anthropic.InternalServerError);
    const calls = (await harness.calls()).slice(-2);
    expect(calls.map(c => [c.status, c.errorClass, c.httpStatus])).toEqual([
      ['error', 'RateLimitError', 429],
      ['error', 'InternalServerError', 500]
    ]);
  });

  it('returns the same message with the sidecar stopped', async () => {
    const plain = client();
    const expected = await plain.messages.create(ask);
    await flush();
    const sc = harness.sidecar();
    configure({ url: 'http://127.0.0.1:9', token: 'nobody-listens' });
    try {
      expect(await wrap(plain).messages.create(ask)).toEqual(expected);
      await flush();
    } finally {
      configure({ url: sc.url, token: sc.token });
    }
  });
});
