import { boundToTarget, cachedProxy, methodProxy, observeStainlessCreate, requestFacts, sdkVersion, type SdkFacts } from './observe';
import type { TrackOptions, VigiloRuntime } from './runtime';
import { openaiChatRequest, openaiResponsesRequest } from './text';

/** The text of a whole chat completion (also read by summarizeWithModel). */
export function chatOutput(data: any): string | null {
  const choice = data?.choices?.[0]?.message;
  return typeof choice?.content === 'string' ? choice.content : null;
}

function responsesOutput(data: any): string | null {
  if (typeof data?.output_text === 'string') {
    return data.output_text;
  }
  const texts: string[] = [];
  for (const item of Array.isArray(data?.output) ? data.output : []) {
    for (const c of Array.isArray(item?.content) ? item.content : []) {
      if (c?.type === 'output_text' && typeof c.text === 'string') {
        texts.push(c.text);
      }
    }
  }
  return texts.length ? texts.join('') : null;
}

function sdk(client: any): SdkFacts {
  return { provider: 'openai', sdkName: 'openai', sdkVersion: sdkVersion(client) };
}

function wrapChatCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return observeStainlessCreate(rt, original, {
    begin(params: any) {
      const stream = params?.stream === true;
      // Without include_usage a stream never says how many tokens it used: ask for it, and hide the extra chunk.
      const inject = stream && params?.stream_options?.include_usage !== true;
      const sent = inject ? { ...params, stream_options: { ...(params.stream_options ?? {}), include_usage: true } } : params;
      const rec = rt.start(requestFacts(sdk(client), 'chat.completions', params, stream, openaiChatRequest(params ?? {}), rt.currentScope(scope)));
      return { rec, sent, state: { inject } };
    },
    output: chatOutput,
    onItem(chunk: any, tally, rec, { inject }) {
      tally.model ??= chunk?.model ?? null;
      if (chunk?.usage) {
        tally.usage = chunk.usage;
      }
      const choices = Array.isArray(chunk?.choices) ? chunk.choices : [];
      for (const choice of choices) {
        const delta = choice?.delta ?? {};
        if (typeof delta.content === 'string' && delta.content) {
          tally.output += delta.content;
          rec.firstToken();
        } else if (delta.tool_calls || delta.refusal) {
          rec.firstToken();
        }
      }
      return !(inject && choices.length === 0 && chunk?.usage);
    },
    // A stream that ended before its usage chunk (the user stopped early) is estimated.
    prompt: openaiChatRequest,
    usageKeys: ['prompt_tokens', 'completion_tokens']
  });
}

function wrapResponsesCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return observeStainlessCreate(rt, original, {
    begin(params: any) {
      const rec = rt.start(requestFacts(sdk(client), 'responses', params, params?.stream === true, openaiResponsesRequest(params ?? {}), rt.currentScope(scope)));
      return { rec, sent: params, state: null };
    },
    output: responsesOutput,
    onItem(event: any, tally, rec) {
      const type = String(event?.type ?? '');
      if (type === 'response.output_text.delta' && typeof event.delta === 'string') {
        tally.output += event.delta;
        rec.firstToken();
      } else if (type.endsWith('.delta')) {
        rec.firstToken();
      }
      if (event?.response) {
        tally.model = event.response.model ?? tally.model;
        if (event.response.usage) {
          tally.usage = event.response.usage;
        }
      }
      return true;
    },
    prompt: openaiResponsesRequest,
    usageKeys: ['input_tokens', 'output_tokens']
  });
}

/** A Proxy of an `openai` client: chat.completions.create and responses.create are observed; everything else is the client's own. */
export function wrapOpenAI<T extends object>(rt: VigiloRuntime, client: T, scope?: TrackOptions): T {
  const cache = new WeakMap<object, any>();
  const bound = new WeakMap<object, any>();
  // The helpers (parse, stream, runTools) call `this._client.chat.completions.create`: give them this proxy.
  const self = (): object => proxy;
  const proxy: T = new Proxy(client, {
    get(target, prop) {
      const value: any = Reflect.get(target, prop, target);
      if (prop === 'chat' && value && typeof value === 'object') {
        return cachedProxy(cache, value, chat =>
          new Proxy(chat, {
            get(c, p, r) {
              const v = Reflect.get(c, p, r);
              return p === 'completions' && v && typeof v === 'object' ? methodProxy(cache, v, 'create', o => wrapChatCreate(rt, target, o, scope), self) : v;
            }
          })
        );
      }
      if (prop === 'responses' && value && typeof value === 'object') {
        return methodProxy(cache, value, 'create', o => wrapResponsesCreate(rt, target, o, scope), self);
      }
      return boundToTarget(bound, target, prop, value);
    }
  });
  return proxy;
}
