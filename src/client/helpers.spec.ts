import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrap } from 'vigilo';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/fakes/anthropic';
import { startFakeGoogle } from '../../test/fakes/google';
import { useSidecar } from '../../test/fakes/harness';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';

/**
 * The SDK helpers people use, each counted once with its tokens, and what stays missed:
 * openai chat.completions.stream()/.parse(), responses.stream()/.parse(), .withResponse();
 * Anthropic messages.stream(); streams the user breaks off or drops unread.
 */
const harness = useSidecar();
let fake: FakeOpenAI;
let claude: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  claude = await startFakeAnthropic({ model: 'claude-opus-4-7' });
});
afterAll(async () => {
  await fake.close();
  await claude.close();
});

const openai = () => wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));
const messages = [{ role: 'user' as const, content: 'Say hello.' }];
const CHAT_TOKENS = { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, cacheWriteTokens: 0, reasoningTokens: 0 };

/** Calls the sidecar stored since `before`, and how many requests reached the provider meanwhile. */
async function since(before: number): Promise<Awaited<ReturnType<typeof harness.calls>>> {
  return (await harness.calls()).slice(before);
}

describe('openai helpers on a wrapped client', () => {
  it('chat.completions.stream() is one streamed call with its tokens; its events keep the shape the user asked for', async () => {
    const before = (await harness.calls()).length;
    const requests = fake.requests.length;
    const chunks: any[] = [];
    const stream = openai().chat.completions.stream({ model: 'gpt-4o-mini', messages });
    stream.on('chunk', chunk => chunks.push(chunk));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].message.content).toBe(fake.script.reply);
    expect(chunks.every(c => c.choices.length > 0)).toBe(true); // the usage-only chunk the client asked for stays hidden
    const calls = await since(before);
    expect(calls.map(c => [c.operation, c.stream, c.tokens])).toEqual([['chat.completions', true, CHAT_TOKENS]]);
    expect(fake.requests.length - requests).toBe(1);
  });

  it('chat.completions.parse() and responses.parse() are one call each', async () => {
    const before = (await harness.calls()).length;
    const client = openai();
    const parsed = await client.chat.completions.parse({ model: 'gpt-4o-mini', messages });
    expect(parsed.choices[0].message.content).toBe(fake.script.reply);
    const response = await client.responses.parse({ model: 'gpt-4o-mini', input: 'Say hello.' });
    expect(response.output_text).toBe(fake.script.reply);
    const calls = await since(before);
    expect(calls.map(c => [c.operation, c.stream, c.tokens?.inputTokens, c.tokens?.cachedInputTokens])).toEqual([
      ['chat.completions', false, 1200, 1024],
      ['responses', false, 1200, 1024]
    ]);
  });

  it('chat.completions.runTools() counts each request it makes (one here: the model calls no tool)', async () => {
    const before = (await harness.calls()).length;
    const runner = openai().chat.completions.runTools({ model: 'gpt-4o-mini', messages, tools: [] });
    expect(await runner.finalContent()).toBe(fake.script.reply);
    const calls = await since(before);
    expect(calls.map(c => [c.operation, c.tokens])).toEqual([['chat.completions', CHAT_TOKENS]]);
  });

  it('responses.stream() is one streamed call with its tokens', async () => {
    const before = (await harness.calls()).length;
    const stream = openai().responses.stream({ model: 'gpt-4o-mini', input: 'Say hello.' });
    let text = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') {
        text += event.delta;
      }
    }
    expect(text).toBe(fake.script.reply);
    const calls = await since(before);
    expect(calls.map(c => [c.operation, c.stream, c.tokens?.inputTokens, c.usageEstimated])).toEqual([['responses', true, 1200, false]]);
  });

  it('.withResponse() is tracked; .asResponse() (the user takes the raw body) is missed', async () => {
    const before = (await harness.calls()).length;
    const client = openai();
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(data.usage?.prompt_tokens).toBe(1200);
    expect(response.status).toBe(200);
    const raw = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).asResponse();
    expect(raw.status).toBe(200);
    await raw.text();
    const calls = await since(before);
    expect(calls.map(c => c.tokens)).toEqual([CHAT_TOKENS]); // one: the asResponse() call sent no event
  });
});

describe('Anthropic messages.stream() on a wrapped client', () => {
  it('is one streamed call with cache tokens', async () => {
    const before = (await harness.calls()).length;
    const client = wrap(new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: claude.baseURL, maxRetries: 0 }));
    const stream = client.messages.stream({ model: 'claude-opus-4-7', max_tokens: 256, messages: [{ role: 'user', content: 'Review this.' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: claude.script.reply });
    const calls = await since(before);
    expect(calls.map(c => [c.operation, c.stream, c.tokens])).toEqual([
      ['messages', true, { inputTokens: 4200, outputTokens: 150, cachedInputTokens: 3000, cacheWriteTokens: 1000, reasoningTokens: 0 }]
    ]);
  });
});

describe('streams the user walks away from', () => {
  it('a stream broken off after its first text is recorded with what was seen, estimated and marked incomplete', async () => {
    const before = (await harness.calls()).length;
    for await (const chunk of await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) {
      if (chunk.choices[0]?.delta?.content) {
        break;
      }
    }
    const [call] = await since(before);
    expect(call).toMatchObject({ stream: true, status: 'ok', usageEstimated: true, tags: { 'vigilo.stream': 'incomplete' } });
    expect(call.tokens!.outputTokens).toBe(2); // "Hello " seen: 6 characters, about 2 tokens
  });

  it('a Gemini stream broken off keeps the running usage it saw, marked incomplete', async () => {
    const gemini = await startFakeGoogle();
    try {
      const before = (await harness.calls()).length;
      const ai = wrap(new GoogleGenAI({ apiKey: 'test-not-a-key', httpOptions: { baseUrl: gemini.baseUrl } }));
      for await (const _chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Explain caching.' })) {
        break;
      }
      const [call] = await since(before);
      // The first chunk's usageMetadata (a running total) is what was seen: the provider's, not an estimate.
      expect(call).toMatchObject({ stream: true, usageEstimated: false, tags: { 'vigilo.stream': 'incomplete' } });
      expect(call.tokens!.inputTokens).toBe(5000);
    } finally {
      await gemini.close();
    }
  });

  it('a stream dropped unread is recorded when it is collected, not lost', async () => {
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const before = (await harness.calls()).length;
    await (async () => {
      await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }); // never read
    })();
    let calls: Awaited<ReturnType<typeof since>> = [];
    for (let i = 0; i < 20 && calls.length === 0; i++) {
      gc();
      await new Promise(resolve => setTimeout(resolve, 10));
      calls = await since(before);
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ stream: true, status: 'ok', usageEstimated: true, tags: { 'vigilo.stream': 'incomplete' } });
    expect(calls[0].tokens!.inputTokens).toBeGreaterThan(0); // the prompt, estimated; no output was seen
    expect(calls[0].tokens!.outputTokens).toBe(0);
  });
});
