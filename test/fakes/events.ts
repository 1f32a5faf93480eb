import { randomUUID } from 'node:crypto';
import type { LlmCallEvent } from '../../src/shared/llm-api';

/** An OpenAI chat event as a client would send it; override any field. */
export function openaiEvent(over: Partial<LlmCallEvent> = {}): LlmCallEvent {
  return {
    id: randomUUID(),
    provider: 'openai',
    operation: 'chat.completions',
    requestModel: 'gpt-4o-mini',
    responseModel: 'gpt-4o-mini-2024-07-18',
    startedAt: '2026-03-02T10:00:00.000Z',
    ttftMs: null,
    latencyMs: 850,
    stream: false,
    status: 'ok',
    error: null,
    usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 1024 } },
    usageEstimated: false,
    conversationId: null,
    fingerprint: 'a'.repeat(64),
    tags: {},
    messages: null,
    output: null,
    sdk: { language: 'typescript', name: 'openai', version: '6.49.0' },
    ...over
  };
}

/** Hand-computed: gpt-4o-mini, 176 uncached × $0.15 + 1024 cached × $0.075 + 300 out × $0.60 per 1M. */
export const OPENAI_EVENT_COST = (176 * 0.15 + 1024 * 0.075 + 300 * 0.6) / 1e6;
