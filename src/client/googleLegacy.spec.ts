import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError } from '@google/generative-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { track, wrap } from 'vigilo';
import { startFakeGoogle, type FakeGoogle } from '../../test/fakes/google';
import { useSidecar } from '../../test/fakes/harness';

const harness = useSidecar();
let fake: FakeGoogle;
beforeAll(async () => {
  fake = await startFakeGoogle();
});
afterAll(() => fake.close());

// gemini-2.5-flash: 1000 uncached × $0.30 + 4000 cached × $0.03 + (400 + 600 thinking) out × $2.50 per 1M.
const COST = (1000 * 0.3 + 4000 * 0.03 + 1000 * 2.5) / 1e6;
const TOKENS = { inputTokens: 5000, outputTokens: 1000, cachedInputTokens: 4000, cacheWriteTokens: 0, reasoningTokens: 600 };

const genAI = () => new GoogleGenerativeAI('test-not-a-key');
const model = () => genAI().getGenerativeModel({ model: 'gemini-2.5-flash', systemInstruction: 'Be brief.' }, { baseUrl: fake.baseUrl });

describe('wrap(GenerativeModel) of @google/generative-ai', () => {
  it('returns the same response and bills cached and thinking tokens', async () => {
    const plain = model();
    const wrapped = wrap(plain);
    const expected = await plain.generateContent('Explain caching.');
    const got = await wrapped.generateContent('Explain caching.');
    expect(got.response.text()).toBe(expected.response.text());
    expect(got.response.usageMetadata).toEqual(expected.response.usageMetadata);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ provider: 'google', operation: 'generateContent', model: 'gemini-2.5-flash', stream: false, status: 'ok', tokens: TOKENS });
    expect(call.conversationId).not.toMatch(/^chat-/); // a single call: the sidecar's own identity
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('tracks models made by a wrapped GoogleGenerativeAI, and a request with its own contents', async () => {
    const before = (await harness.calls()).length;
    const m = wrap(wrap(genAI()).getGenerativeModel({ model: 'gemini-2.5-flash' }, { baseUrl: fake.baseUrl })); // wrapped once, not twice
    await m.generateContent({ contents: [{ role: 'user', parts: [{ text: 'Explain caching.' }] }], systemInstruction: 'Be brief.' });
    const calls = (await harness.calls()).slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ tokens: TOKENS });
    expect(fake.requests.at(-1)!.body.systemInstruction).toEqual({ role: 'system', parts: [{ text: 'Be brief.' }] });
  });

  it('reads a stream chunk by chunk, and finishes it with the usage the response carries', async () => {
    const expected: string[] = [];
    for await (const chunk of (await model().generateContentStream('Explain caching.')).stream) {
      expected.push(chunk.text());
    }
    const result = await wrap(model()).generateContentStream('Explain caching.');
    const got: string[] = [];
    for await (const chunk of result.stream) {
      got.push(chunk.text());
    }
    expect(got).toEqual(expected);
    expect((await result.response).text()).toBe(fake.script.reply);
    const [call] = (await harness.calls()).slice(-1);
    expect(call).toMatchObject({ stream: true, status: 'ok', usageEstimated: false, tokens: TOKENS });
    expect(call.ttftMs).toBeTypeOf('number');
    expect(call.costUsd).toBeCloseTo(COST, 12);
  });

  it('records a stream the user never reads (the SDK reads it for `response`)', async () => {
    const before = (await harness.calls()).length;
    const result = await wrap(model()).generateContentStream('Explain caching.');
    await result.response;
    const calls = await harness.calls();
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)).toMatchObject({ stream: true, tokens: TOKENS });
  });

  it('makes each chat session one conversation, plain and streamed, unless track() names one', async () => {
    const wrapped = wrap(model());
    const chat = wrapped.startChat();
    await chat.sendMessage('Explain caching.');
    const streamed = await chat.sendMessageStream('And eviction?');
    for await (const _chunk of streamed.stream) {
      // read to the end
    }
    await streamed.response;
    await wrapped.startChat().sendMessage('Explain caching.');
    await track(() => chat.sendMessage('Once more.'), { conversationId: 'support-9' });
    const calls = (await harness.calls()).slice(-4);
    expect(calls[0].conversationId).toMatch(/^chat-[0-9a-f]{16}$/);
    expect(calls[1].conversationId).toBe(calls[0].conversationId);
    expect(calls[2].conversationId).toMatch(/^chat-/);
    expect(calls[2].conversationId).not.toBe(calls[0].conversationId);
    expect(calls[3].conversationId).toBe('support-9');
    expect(calls.map(c => [c.stream, c.tokens?.inputTokens])).toEqual([
      [false, 5000],
      [true, 5000],
      [false, 5000],
      [false, 5000]
    ]);
    // What the session sent, as captured: its system prompt, the history, then the new message.
    const transcript = await harness.sidecar().get(`/llm/conversations/${calls[1].conversationId}/messages`);
    expect(transcript.body.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'],
      ['user', 'Explain caching.'],
      ['assistant', fake.script.reply],
      ['user', 'And eviction?'],
      ['assistant', fake.script.reply]
    ]);
    // The SDK's session kept its history: the third message sent the two exchanges before it.
    expect(fake.requests.at(-1)!.body.contents).toHaveLength(5);
    expect((await chat.getHistory()).length).toBe(6);
  });

  it("lets the SDK's own errors reach the user, and records them", async () => {
    const wrapped = wrap(model());
    fake.failNext({ status: 429 }, { status: 500 });
    const e1 = await wrapped.generateContent('Explain caching.').catch(e => e);
    const e2 = await wrapped.startChat().sendMessageStream('Explain caching.').catch(e => e);
    expect(e1).toBeInstanceOf(GoogleGenerativeAIFetchError);
    expect(e1.status).toBe(429);
    expect(e2).toBeInstanceOf(GoogleGenerativeAIFetchError);
    expect(e2.status).toBe(500);
    const calls = (await harness.calls()).slice(-2);
    expect(calls.map(c => [c.status, c.errorClass, c.httpStatus, c.costUsd])).toEqual([
      ['error', 'GoogleGenerativeAIFetchError', 429, 0],
      ['error', 'GoogleGenerativeAIFetchError', 500, 0]
    ]);
  });
});

describe('ai.chats of a wrapped @google/genai client', () => {
  const ai = () => wrap(new GoogleGenAI({ apiKey: 'test-not-a-key', httpOptions: { baseUrl: fake.baseUrl } }));

  it('tracks every message of a session as one conversation, plain and streamed', async () => {
    const client = ai();
    const chat = client.chats.create({ model: 'gemini-2.5-flash', config: { systemInstruction: 'Be brief.' } });
    const reply = await chat.sendMessage({ message: 'Explain caching.' });
    expect(reply.text).toBe(fake.script.reply);
    let text = '';
    for await (const chunk of await chat.sendMessageStream({ message: 'And eviction?' })) {
      text += chunk.text ?? '';
    }
    expect(text).toBe(fake.script.reply);
    await client.chats.create({ model: 'gemini-2.5-flash', config: { systemInstruction: 'Be brief.' } }).sendMessage({ message: 'Explain caching.' });
    const calls = (await harness.calls()).slice(-3);
    expect(calls.map(c => [c.stream, c.tokens])).toEqual([
      [false, TOKENS],
      [true, TOKENS],
      [false, TOKENS]
    ]);
    expect(calls[0].conversationId).toMatch(/^chat-/);
    expect(calls[1].conversationId).toBe(calls[0].conversationId);
    expect(calls[2].conversationId).not.toBe(calls[0].conversationId);
    expect(fake.requests.at(-2)!.body.contents.map((c: any) => c.role)).toEqual(['user', 'model', 'user']);
  });
});
