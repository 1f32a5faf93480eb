import { ApiError, GoogleGenAI } from '@google/genai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, wrap } from 'vigilo';
import { startFakeGoogle, type FakeGoogle } from '../../test/fakes/google';
import { useSidecar } from '../../test/fakes/harness';
import { groundingQueries } from './google';

const harness = useSidecar();
let fake: FakeGoogle;
beforeAll(async () => {
  fake = await startFakeGoogle();
});
afterAll(() => fake.close());

const client = () => new GoogleGenAI({ apiKey: 'test-not-a-key', httpOptions: { baseUrl: fake.baseUrl } });
const ask = { model: 'gemini-2.5-flash', contents: 'Explain caching.', config: { systemInstruction: 'Be brief.' } };
// gemini-2.5-flash: 1000 uncached × $0.30 + 4000 cached × $0.03 + (400 + 600 thinking) out × $2.50 per 1M.
const COST = (1000 * 0.3 + 4000 * 0.03 + 1000 * 2.5) / 1e6;
const TOKENS = { inputTokens: 5000, outputTokens: 1000, cachedInputTokens: 4000, cacheWriteTokens: 0, reasoningTokens: 600 };

describe('wrap(new GoogleGenAI())', () => {
  it('returns the same response and bills thinking and cached content', async () => {
    const plain = client();
    const wrapped = wrap(plain);
    expect(wrapped).toBeInstanceOf(GoogleGenAI);
    const expected = await plain.models.generateContent(ask);
    const got = await wrapped.models.generateContent(ask);
    expect(got.text).toBe(expected.text);
    expect(got.usageMetadata).toEqual(expected.usageMetadata);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ provider: 'google', operation: 'generateContent', model: 'gemini-2.5-flash', stream: false, tokens: TOKENS });
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('reads the last usageMetadata of a stream', async () => {
    const plain = client();
    const expected: string[] = [];
    for await (const chunk of await plain.models.generateContentStream(ask)) {
      expected.push(chunk.text ?? '');
    }
    const got: string[] = [];
    const stream = await wrap(plain).models.generateContentStream(ask);
    for await (const chunk of stream) {
      got.push(chunk.text ?? '');
    }
    expect(got).toEqual(expected);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ stream: true, status: 'ok', usageEstimated: false, tokens: TOKENS });
    expect(call.ttftMs).toBeTypeOf('number');
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it("lets the SDK's own 429 and 500 errors reach the user, and records them", async () => {
    const wrapped = wrap(client());
    fake.failNext({ status: 429 }, { status: 500 });
    const e1 = await wrapped.models.generateContent(ask).catch(e => e);
    const e2 = await wrapped.models.generateContentStream(ask).catch(e => e);
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1.status).toBe(429);
    expect(e2).toBeInstanceOf(ApiError);
    expect(e2.status).toBe(500);
    const calls = (await harness.calls()).slice(-2);
    expect(calls.map(c => [c.status, c.errorClass, c.httpStatus])).toEqual([
      ['error', 'ApiError', 429],
      ['error', 'ApiError', 500]
    ]);
  });

  it('returns the same response with the sidecar stopped', async () => {
    const plain = client();
    const expected = await plain.models.generateContent(ask);
    await flush();
    const sc = harness.sidecar();
    configure({ url: 'http://127.0.0.1:9', token: 'nobody-listens' });
    try {
      const got = await wrap(plain).models.generateContent(ask);
      expect(got.text).toBe(expected.text);
      expect(got.usageMetadata).toEqual(expected.usageMetadata);
      await flush();
    } finally {
      configure({ url: sc.url, token: sc.token });
    }
  });
});

describe('Google Search grounding, read off the response', () => {
  // A real recorded grounded stream (pydantic/pydantic-ai cassette, cited in the fixture): its last chunk carries
  // groundingMetadata with one webSearchQueries entry.
  const recorded = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/llm-recorded/google/google-stream-grounded.json'), 'utf8'));
  const chunks = String(recorded.response.body)
    .split('\n')
    .filter(line => line.startsWith('data:'))
    .map(line => JSON.parse(line.slice(5)));

  it('counts the search queries of the chunk that carries grounding metadata, none elsewhere', () => {
    const counts = chunks.map(groundingQueries);
    expect(counts.filter(c => c !== undefined)).toEqual([1]);
    expect(counts.slice(0, -1).every(c => c === undefined)).toBe(true);
  });

  it('says nothing for a response without grounding metadata, 0 for grounding that ran no query', () => {
    expect(groundingQueries({ candidates: [{ content: { parts: [{ text: 'hi' }] } }] })).toBeUndefined();
    expect(groundingQueries({ candidates: [{ groundingMetadata: { groundingChunks: [] } }] })).toBe(0);
    expect(groundingQueries(null)).toBeUndefined();
  });
});
