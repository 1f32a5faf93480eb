import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { wrap } from 'vigilo';
import { useSidecar } from './fakes/harness';
import { geminiModel, recordedCases, startReplay, type RecordedCase } from './fakes/replay';

/**
 * Real recorded provider responses (test/fixtures/llm-recorded/, each citing its repository, path and
 * commit) replayed byte for byte from a loopback server to the real SDKs, wrapped with Vigilo; the
 * sidecar's cost is compared with the cost computed by hand from the provider's published prices.
 */
const harness = useSidecar();
const cases = recordedCases();

/** Make the recorded call through the real SDK, reading a stream to its end. */
async function replay(c: RecordedCase, baseURL: string): Promise<void> {
  const body = c.request.body ?? {};
  if (c.provider === 'anthropic') {
    const client = wrap(new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL, maxRetries: 0 }));
    const result: any = await client.messages.create(body);
    if (body.stream) {
      for await (const _ of result) {
        // read to the end
      }
    }
    return;
  }
  if (c.provider === 'openai') {
    const client = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${baseURL}/v1`, maxRetries: 0 }));
    const result: any = c.api === 'responses' ? await client.responses.create(body) : await client.chat.completions.create(body);
    if (body.stream) {
      for await (const _ of result) {
        // read to the end
      }
    }
    return;
  }
  const ai = wrap(new GoogleGenAI({ apiKey: 'test-not-a-key', httpOptions: { baseUrl: baseURL } }));
  const params = { model: geminiModel(c.source.recordedUri), contents: body.contents, config: body.systemInstruction ? { systemInstruction: body.systemInstruction } : {} };
  if (c.source.recordedUri.includes('streamGenerateContent')) {
    for await (const _ of await ai.models.generateContentStream(params)) {
      // read to the end
    }
  } else {
    await ai.models.generateContent(params);
  }
}

describe('recorded provider responses, replayed to the real SDKs', () => {
  it('cover every provider for plain, streamed, cached (read and write), reasoning and multimodal calls', () => {
    for (const provider of ['openai', 'anthropic', 'google']) {
      const kinds = new Set(cases.filter(c => c.provider === provider).flatMap(c => c.kinds));
      const need = provider === 'google' ? ['plain', 'streamed', 'cache-read', 'reasoning', 'multimodal'] : ['plain', 'streamed', 'cache-read', 'cache-write', 'reasoning', 'multimodal'];
      expect([...kinds].sort(), provider).toEqual(expect.arrayContaining(need));
    }
    for (const c of cases) {
      expect(c.source.commit, c.id).toMatch(/^[0-9a-f]{40}$/);
      expect(c.expected, c.id).not.toBeNull();
    }
  });

  for (const c of cases) {
    it(`${c.id}: ${c.expected?.arithmetic}`, async () => {
      const server = await startReplay(c);
      try {
        await replay(c, server.url);
      } finally {
        await server.close();
      }
      const [call] = (await harness.calls()).slice(-1);
      expect(call.provider).toBe(c.provider);
      expect(call.status).toBe('ok');
      expect(call.usageEstimated).toBe(false);
      expect(call.pricedModel, 'priced').not.toBeNull();
      expect(call.costUsd).toBeCloseTo(c.expected!.costUsd, 10);
      if (c.expected!.reasoningTokens !== undefined) {
        expect(call.tokens?.reasoningTokens, 'reasoning tokens').toBe(c.expected!.reasoningTokens);
      }
    });
  }
});
