import { describe, expect, it } from 'vitest';
import { durationPoint, OPERATION_DURATION_BUCKETS, spanOfCall, tokenUsagePoints, type CallFacts } from './otelGenAi';

const call: CallFacts = {
  id: 'call-1',
  provider: 'anthropic',
  operation: 'messages',
  requestModel: 'claude-sonnet-4-5',
  responseModel: 'claude-sonnet-4-5-20250929',
  startedAtMs: Date.UTC(2026, 11, 5, 23, 59, 0),
  ttftMs: 420,
  latencyMs: 2500,
  stream: true,
  status: 'ok',
  errorClass: null,
  httpStatus: null,
  tokens: { inputTokens: 3000, outputTokens: 500, cachedInputTokens: 2048, cacheWriteTokens: 100, reasoningTokens: 200 },
  usageEstimated: false,
  costUsd: 0.0123,
  pricedModel: 'claude-sonnet-4-5',
  conversationKey: 'conv-9',
  tags: { team: 'nlp' },
  messages: [{ role: 'user', content: 'my secret prompt' }],
  output: 'the secret answer',
  sdk: 'python:anthropic@0.70.0'
};

describe('one stored LLM call as an OpenTelemetry GenAI span', () => {
  const span = spanOfCall(call, { captureContent: false, oldNames: false });

  it('is named "{operation} {request model}" and covers the call from its start to its end', () => {
    expect(span.name).toBe('chat claude-sonnet-4-5');
    expect(span.endMs - span.startMs).toBe(2500);
    expect(span.error).toBeNull();
  });

  it('carries the v1.41.0 GenAI attributes, input tokens including the cached ones', () => {
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.response.model': 'claude-sonnet-4-5-20250929',
      'gen_ai.request.stream': true,
      'gen_ai.response.time_to_first_chunk': 0.42,
      'gen_ai.conversation.id': 'conv-9',
      'gen_ai.usage.input_tokens': 3000,
      'gen_ai.usage.output_tokens': 500,
      'gen_ai.usage.cache_read.input_tokens': 2048,
      'gen_ai.usage.cache_creation.input_tokens': 100,
      'gen_ai.usage.reasoning.output_tokens': 200,
      'vigilo.tag.team': 'nlp'
    });
  });

  it("carries Vigilo's cost as the proposed gen_ai.usage.cost.* attributes, and none for an unknown model", () => {
    expect(span.attributes).toMatchObject({ 'gen_ai.usage.cost.amount': 0.0123, 'gen_ai.usage.cost.currency': 'USD', 'gen_ai.usage.cost.source': 'local' });
    const unpriced = spanOfCall({ ...call, costUsd: null }, { captureContent: false, oldNames: false });
    expect(Object.keys(unpriced.attributes).filter(k => k.startsWith('gen_ai.usage.cost'))).toEqual([]);
  });

  it('sends no message text unless content capture is asked for', () => {
    expect(JSON.stringify(span)).not.toMatch(/secret/);
    const withContent = spanOfCall(call, { captureContent: true, oldNames: false });
    expect(JSON.parse(String(withContent.attributes['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'my secret prompt' }] }]);
    expect(JSON.parse(String(withContent.attributes['gen_ai.output.messages']))).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'the secret answer' }] }]);
  });

  it('uses the deprecated names only when OTEL_SEMCONV_STABILITY_OPT_IN asked for them', () => {
    expect(span.attributes['gen_ai.system']).toBeUndefined();
    expect(span.attributes['gen_ai.usage.prompt_tokens']).toBeUndefined();
    const dup = spanOfCall(call, { captureContent: false, oldNames: true });
    expect(dup.attributes).toMatchObject({ 'gen_ai.system': 'anthropic', 'gen_ai.usage.prompt_tokens': 3000, 'gen_ai.usage.completion_tokens': 500, 'gen_ai.provider.name': 'anthropic' });
  });

  it('marks a failed call with error.type (the HTTP status) and an error status', () => {
    const failed = spanOfCall({ ...call, status: 'error', errorClass: 'RateLimitError', httpStatus: 429, tokens: null }, { captureContent: false, oldNames: false });
    expect(failed.attributes['error.type']).toBe('429');
    expect(failed.error).toBe('RateLimitError');
    expect(failed.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
  });

  it('names Gemini gcp.gemini / generate_content and keeps the kernel when one is known', () => {
    const g = spanOfCall({ ...call, provider: 'google', operation: 'generateContent' }, { captureContent: false, oldNames: false, kernelId: 'k-1' });
    expect(g.attributes['gen_ai.provider.name']).toBe('gcp.gemini');
    expect(g.name).toBe('generate_content claude-sonnet-4-5');
    expect(g.attributes['vigilo.kernel.id']).toBe('k-1');
  });
});

describe('GenAI client metrics of a call', () => {
  it('records the duration in seconds without the conversation id (bounded attributes)', () => {
    const d = durationPoint(call);
    expect(d.value).toBe(2.5);
    expect(d.attributes['gen_ai.conversation.id']).toBeUndefined();
    expect(OPERATION_DURATION_BUCKETS[0]).toBe(0.01);
    expect(OPERATION_DURATION_BUCKETS.at(-1)).toBe(81.92);
  });

  it('records input and output token usage, and nothing for a call without usage', () => {
    expect(tokenUsagePoints(call).map(p => [p.attributes['gen_ai.token.type'], p.value])).toEqual([
      ['input', 3000],
      ['output', 500]
    ]);
    expect(tokenUsagePoints({ ...call, tokens: null })).toEqual([]);
  });
});
