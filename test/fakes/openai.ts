import { json, pieces, sse, startFake, type FakeServer } from './server';

/** What the fake answers with; tests change it between calls. */
export interface OpenAIScript {
  reply: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export interface FakeOpenAI extends FakeServer {
  script: OpenAIScript;
  /** baseURL for `new OpenAI({ baseURL })`. */
  baseURL: string;
}

const ERRORS = {
  429: { error: { message: 'Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
  500: { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } },
  529: { error: { message: 'The engine is currently overloaded, please try again later', type: 'server_error', param: null, code: null } }
};

/**
 * Loopback OpenAI: POST /v1/chat/completions and /v1/responses, JSON and SSE,
 * in the wire format of the API (usage with prompt_tokens_details.cached_tokens
 * and completion_tokens_details.reasoning_tokens; the final usage-only chunk
 * with `choices: []` only when stream_options.include_usage is set).
 */
export async function startFakeOpenAI(script: Partial<OpenAIScript> = {}): Promise<FakeOpenAI> {
  const state: OpenAIScript = { reply: 'Hello from the fake OpenAI.', model: 'gpt-4o-mini-2024-07-18', promptTokens: 1200, completionTokens: 300, cachedTokens: 1024, reasoningTokens: 0, ...script };
  let n = 0;
  const server = await startFake((req, res, failure) => {
    const s = state;
    const headers = { 'x-request-id': `req_fake_${++n}` };
    if (failure) {
      json(res, failure.status, ERRORS[failure.status], headers);
      return;
    }
    const created = 1_767_225_600;
    if (req.method === 'POST' && req.path === '/v1/chat/completions') {
      const usage = {
        prompt_tokens: s.promptTokens,
        completion_tokens: s.completionTokens,
        total_tokens: s.promptTokens + s.completionTokens,
        prompt_tokens_details: { cached_tokens: s.cachedTokens, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: s.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
      };
      const id = 'chatcmpl-fake';
      if (!req.body?.stream) {
        json(
          res,
          200,
          {
            id,
            object: 'chat.completion',
            created,
            model: s.model,
            choices: [{ index: 0, message: { role: 'assistant', content: s.reply, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
            usage,
            service_tier: 'default',
            system_fingerprint: 'fp_fake'
          },
          headers
        );
        return;
      }
      const withUsage = req.body?.stream_options?.include_usage === true;
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: s.model,
        service_tier: 'default',
        system_fingerprint: 'fp_fake',
        choices,
        ...(withUsage ? { usage: null } : {}),
        ...extra
      });
      const events: Array<{ data: unknown }> = [
        { data: chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]) }
      ];
      for (const p of pieces(s.reply)) {
        events.push({ data: chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]) });
      }
      events.push({ data: chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]) });
      if (withUsage) {
        events.push({ data: chunk([], { usage }) });
      }
      sse(res, events, 'data: [DONE]\n\n', headers);
      return;
    }
    if (req.method === 'POST' && req.path === '/v1/responses') {
      const id = 'resp_fake';
      const usage = {
        input_tokens: s.promptTokens,
        input_tokens_details: { cached_tokens: s.cachedTokens },
        output_tokens: s.completionTokens,
        output_tokens_details: { reasoning_tokens: s.reasoningTokens },
        total_tokens: s.promptTokens + s.completionTokens
      };
      const message = { id: 'msg_fake', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: s.reply, annotations: [], logprobs: [] }] };
      const response = (status: string, output: unknown[], u: unknown) => ({
        id,
        object: 'response',
        created_at: created,
        status,
        error: null,
        incomplete_details: null,
        instructions: req.body?.instructions ?? null,
        model: s.model,
        output,
        parallel_tool_calls: true,
        temperature: 1,
        tool_choice: 'auto',
        tools: [],
        top_p: 1,
        usage: u
      });
      if (!req.body?.stream) {
        json(res, 200, response('completed', [message], usage), headers);
        return;
      }
      let seq = 0;
      const events: Array<{ event: string; data: unknown }> = [
        { event: 'response.created', data: { type: 'response.created', sequence_number: seq++, response: response('in_progress', [], null) } },
        { event: 'response.output_item.added', data: { type: 'response.output_item.added', sequence_number: seq++, output_index: 0, item: { ...message, status: 'in_progress', content: [] } } }
      ];
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      events.push({ event: 'response.content_part.added', data: { type: 'response.content_part.added', sequence_number: seq++, item_id: message.id, output_index: 0, content_index: 0, part } });
      for (const p of pieces(s.reply)) {
        events.push({ event: 'response.output_text.delta', data: { type: 'response.output_text.delta', sequence_number: seq++, item_id: message.id, output_index: 0, content_index: 0, delta: p, logprobs: [] } });
      }
      events.push({ event: 'response.output_text.done', data: { type: 'response.output_text.done', sequence_number: seq++, item_id: message.id, output_index: 0, content_index: 0, text: s.reply, logprobs: [] } });
      events.push({ event: 'response.content_part.done', data: { type: 'response.content_part.done', sequence_number: seq++, item_id: message.id, output_index: 0, content_index: 0, part: { ...part, text: s.reply } } });
      events.push({ event: 'response.output_item.done', data: { type: 'response.output_item.done', sequence_number: seq++, output_index: 0, item: message } });
      events.push({ event: 'response.completed', data: { type: 'response.completed', sequence_number: seq++, response: response('completed', [message], usage) } });
      sse(res, events, undefined, headers);
      return;
    }
    json(res, 404, { error: { message: `Unknown fake endpoint ${req.method} ${req.path}`, type: 'invalid_request_error', param: null, code: null } });
  });
  return Object.assign(server, { script: state, baseURL: `${server.url}/v1` });
}
