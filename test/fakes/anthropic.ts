import { json, pieces, sse, startFake, type FakeServer } from './server';

export interface AnthropicScript {
  reply: string;
  model: string;
  /** Uncached input tokens (Anthropic's input_tokens excludes cache tokens). */
  inputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
}

export interface FakeAnthropic extends FakeServer {
  script: AnthropicScript;
  baseURL: string;
}

const ERRORS = {
  429: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit.' } },
  500: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
  529: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
};

/**
 * Loopback Anthropic Messages API: POST /v1/messages, JSON and SSE
 * (message_start with the input-side usage incl. cache_creation_input_tokens
 * and cache_read_input_tokens, content_block_* deltas, message_delta with the
 * output token count, message_stop).
 */
export async function startFakeAnthropic(script: Partial<AnthropicScript> = {}): Promise<FakeAnthropic> {
  const state: AnthropicScript = { reply: 'Hello from the fake Claude.', model: 'claude-sonnet-4-5-20250929', inputTokens: 200, cacheCreationTokens: 1000, cacheReadTokens: 3000, outputTokens: 150, ...script };
  let n = 0;
  const server = await startFake((req, res, failure) => {
    const s = state;
    const headers = { 'request-id': `req_fake_${++n}` };
    if (failure) {
      json(res, failure.status, ERRORS[failure.status], headers);
      return;
    }
    if (!(req.method === 'POST' && req.path === '/v1/messages')) {
      json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `Unknown fake endpoint ${req.method} ${req.path}` } });
      return;
    }
    const id = 'msg_fake';
    const usage = {
      input_tokens: s.inputTokens,
      cache_creation_input_tokens: s.cacheCreationTokens,
      cache_read_input_tokens: s.cacheReadTokens,
      output_tokens: s.outputTokens,
      service_tier: 'standard'
    };
    if (!req.body?.stream) {
      json(res, 200, { id, type: 'message', role: 'assistant', model: s.model, content: [{ type: 'text', text: s.reply }], stop_reason: 'end_turn', stop_sequence: null, usage }, headers);
      return;
    }
    const events: Array<{ event: string; data: unknown }> = [
      {
        event: 'message_start',
        data: { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: s.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }
      },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      { event: 'ping', data: { type: 'ping' } }
    ];
    for (const p of pieces(s.reply)) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } });
    events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: s.outputTokens } } });
    events.push({ event: 'message_stop', data: { type: 'message_stop' } });
    sse(res, events, undefined, headers);
  });
  return Object.assign(server, { script: state, baseURL: server.url });
}
