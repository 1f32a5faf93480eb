import type { LlmOperation } from '../shared/llm-api';
import { cachedProxy, estimateTokens, instrumentStainlessStream, observeApiPromise, safely, sdkVersion } from './observe';
import type { RequestFacts, TrackOptions, VigiloRuntime } from './runtime';
import { openaiChatRequest, openaiResponsesRequest, type Extracted } from './text';

function chatOutput(data: any): string | null {
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

function facts(client: any, operation: LlmOperation, params: any, extracted: Extracted, scope: TrackOptions): RequestFacts {
  return {
    provider: 'openai',
    operation,
    requestModel: typeof params?.model === 'string' ? params.model : null,
    stream: params?.stream === true,
    system: extracted.system,
    messages: extracted.messages,
    sdkName: 'openai',
    sdkVersion: sdkVersion(client),
    scope
  };
}

function wrapChatCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return function create(this: unknown, params: any, options?: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const prepared = safely(
      rt,
      () => {
        const stream = params?.stream === true;
        // Without include_usage a stream never says how many tokens it used: ask for it, and hide the extra chunk.
        const inject = stream && params?.stream_options?.include_usage !== true;
        const sent = inject ? { ...params, stream_options: { ...(params.stream_options ?? {}), include_usage: true } } : params;
        const rec = rt.start(facts(client, 'chat.completions', params, openaiChatRequest(params ?? {}), rt.currentScope(scope)));
        return { sent, inject, rec, stream };
      },
      null
    );
    if (!prepared) {
      return original.call(this, params, options);
    }
    const { sent, inject, rec, stream } = prepared;
    const promise = original.call(this, sent, options);
    return observeApiPromise(rt, promise, rec, data => {
      if (!stream) {
        rec.finish({ responseModel: data?.model ?? null, usage: data?.usage ?? null, output: chatOutput(data) });
        return data;
      }
      let model: string | null = null;
      let usage: Record<string, unknown> | null = null;
      let output = '';
      instrumentStainlessStream(rt, data, rec, {
        onItem(chunk: any) {
          model ??= chunk?.model ?? null;
          if (chunk?.usage) {
            usage = chunk.usage;
          }
          const choices = Array.isArray(chunk?.choices) ? chunk.choices : [];
          for (const choice of choices) {
            const delta = choice?.delta ?? {};
            if (typeof delta.content === 'string' && delta.content) {
              output += delta.content;
              rec.firstToken();
            } else if (delta.tool_calls || delta.refusal) {
              rec.firstToken();
            }
          }
          return !(inject && choices.length === 0 && chunk?.usage);
        },
        facts() {
          if (usage) {
            return { responseModel: model, usage, output };
          }
          // The stream ended before its usage chunk (the user stopped early): estimate, and say so.
          const prompt = openaiChatRequest(params).messages.map(m => m.content).join('\n');
          return { responseModel: model, output, usageEstimated: true, usage: { prompt_tokens: estimateTokens(prompt), completion_tokens: estimateTokens(output) } };
        }
      });
      return data;
    });
  };
}

function wrapResponsesCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return function create(this: unknown, params: any, options?: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const rec = safely(rt, () => rt.start(facts(client, 'responses', params, openaiResponsesRequest(params ?? {}), rt.currentScope(scope))), null);
    const promise = original.call(this, params, options);
    if (!rec) {
      return promise;
    }
    const stream = params?.stream === true;
    return observeApiPromise(rt, promise, rec, data => {
      if (!stream) {
        rec.finish({ responseModel: data?.model ?? null, usage: data?.usage ?? null, output: responsesOutput(data) });
        return data;
      }
      let model: string | null = null;
      let usage: Record<string, unknown> | null = null;
      let output = '';
      instrumentStainlessStream(rt, data, rec, {
        onItem(event: any) {
          const type = String(event?.type ?? '');
          if (type === 'response.output_text.delta' && typeof event.delta === 'string') {
            output += event.delta;
            rec.firstToken();
          } else if (type.endsWith('.delta')) {
            rec.firstToken();
          }
          if (event?.response) {
            model = event.response.model ?? model;
            if (event.response.usage) {
              usage = event.response.usage;
            }
          }
          return true;
        },
        facts() {
          if (usage) {
            return { responseModel: model, usage, output };
          }
          const prompt = openaiResponsesRequest(params).messages.map(m => m.content).join('\n');
          return { responseModel: model, output, usageEstimated: true, usage: { input_tokens: estimateTokens(prompt), output_tokens: estimateTokens(output) } };
        }
      });
      return data;
    });
  };
}

/** A Proxy of an `openai` client: chat.completions.create and responses.create are observed; everything else is the client's own. */
export function wrapOpenAI<T extends object>(rt: VigiloRuntime, client: T, scope?: TrackOptions): T {
  const cache = new WeakMap<object, any>();
  const bound = new WeakMap<object, any>();
  const resource = (target: object, method: string, make: (original: any) => any) =>
    cachedProxy(cache, target, t => {
      let wrapped: any = null;
      return new Proxy(t, {
        get(obj, prop, receiver) {
          const value = Reflect.get(obj, prop, receiver);
          if (prop === method && typeof value === 'function') {
            wrapped ??= make(value);
            return wrapped;
          }
          return value;
        }
      });
    });
  return new Proxy(client, {
    get(target, prop) {
      const value: any = Reflect.get(target, prop, target);
      if (prop === 'chat' && value && typeof value === 'object') {
        return cachedProxy(cache, value, chat =>
          new Proxy(chat, {
            get(c, p, r) {
              const v = Reflect.get(c, p, r);
              return p === 'completions' && v && typeof v === 'object' ? resource(v, 'create', o => wrapChatCreate(rt, target, o, scope)) : v;
            }
          })
        );
      }
      if (prop === 'responses' && value && typeof value === 'object') {
        return resource(value, 'create', o => wrapResponsesCreate(rt, target, o, scope));
      }
      // The client's own methods may use #private fields: call them on the real client.
      if (typeof value === 'function' && prop !== 'constructor') {
        let b = bound.get(value);
        if (!b) {
          b = value.bind(target);
          bound.set(value, b);
        }
        return b;
      }
      return value;
    }
  });
}
