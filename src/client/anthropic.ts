import { cachedProxy, estimateTokens, instrumentStainlessStream, observeApiPromise, safely, sdkVersion } from './observe';
import type { TrackOptions, VigiloRuntime } from './runtime';
import { anthropicRequest } from './text';

function messageText(data: any): string | null {
  const blocks = Array.isArray(data?.content) ? data.content : [];
  const text = blocks.filter((b: any) => b?.type === 'text' && typeof b.text === 'string').map((b: any) => b.text);
  return text.length ? text.join('') : null;
}

function wrapCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return function create(this: unknown, params: any, options?: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const rec = safely(
      rt,
      () => {
        const extracted = anthropicRequest(params ?? {});
        return rt.start({
          provider: 'anthropic',
          operation: 'messages',
          requestModel: typeof params?.model === 'string' ? params.model : null,
          stream: params?.stream === true,
          system: extracted.system,
          messages: extracted.messages,
          sdkName: '@anthropic-ai/sdk',
          sdkVersion: sdkVersion(client),
          scope: rt.currentScope(scope)
        });
      },
      null
    );
    const promise = original.call(this, params, options);
    if (!rec) {
      return promise;
    }
    const stream = params?.stream === true;
    return observeApiPromise(rt, promise, rec, data => {
      if (!stream) {
        rec.finish({ responseModel: data?.model ?? null, usage: data?.usage ?? null, output: messageText(data) });
        return data;
      }
      let model: string | null = null;
      // message_start carries the input side (and cache tokens); message_delta the running output count.
      let usage: Record<string, unknown> | null = null;
      let output = '';
      instrumentStainlessStream(rt, data, rec, {
        onItem(event: any) {
          switch (event?.type) {
            case 'message_start':
              model = event.message?.model ?? null;
              usage = { ...(event.message?.usage ?? {}) };
              break;
            case 'content_block_delta':
              rec.firstToken();
              if (event.delta?.type === 'text_delta' && typeof event.delta.text === 'string') {
                output += event.delta.text;
              }
              break;
            case 'message_delta':
              if (event.usage && typeof event.usage === 'object') {
                usage ??= {};
                for (const [k, v] of Object.entries(event.usage)) {
                  if (v !== null && v !== undefined) {
                    usage[k] = v;
                  }
                }
              }
              break;
          }
          return true;
        },
        facts() {
          if (usage) {
            return { responseModel: model, usage, output };
          }
          const prompt = anthropicRequest(params).messages.map(m => m.content).join('\n');
          return { responseModel: model, output, usageEstimated: true, usage: { input_tokens: estimateTokens(prompt), output_tokens: estimateTokens(output) } };
        }
      });
      return data;
    });
  };
}

/**
 * A Proxy of an `@anthropic-ai/sdk` client. messages.create is observed;
 * messages.stream() runs on the proxied resource, so the SDK's own
 * MessageStream calls the observed create and reads the observed events.
 */
export function wrapAnthropic<T extends object>(rt: VigiloRuntime, client: T, scope?: TrackOptions): T {
  const cache = new WeakMap<object, any>();
  const bound = new WeakMap<object, any>();
  return new Proxy(client, {
    get(target, prop) {
      const value: any = Reflect.get(target, prop, target);
      if (prop === 'messages' && value && typeof value === 'object') {
        return cachedProxy(cache, value, messages => {
          let wrapped: any = null;
          return new Proxy(messages, {
            get(m, p, r) {
              const v: any = Reflect.get(m, p, r);
              if (p === 'create' && typeof v === 'function') {
                wrapped ??= wrapCreate(rt, target, v, scope);
                return wrapped;
              }
              return v;
            }
          });
        });
      }
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
