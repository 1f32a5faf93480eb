import { boundToTarget, methodProxy, observeStainlessCreate, requestFacts, sdkVersion } from './observe';
import type { TrackOptions, VigiloRuntime } from './runtime';
import { anthropicRequest } from './text';

/** The text of a whole message (also read by summarizeWithModel). */
export function messageText(data: any): string | null {
  const blocks = Array.isArray(data?.content) ? data.content : [];
  const text = blocks.filter((b: any) => b?.type === 'text' && typeof b.text === 'string').map((b: any) => b.text);
  return text.length ? text.join('') : null;
}

function wrapCreate(rt: VigiloRuntime, client: any, original: (...a: any[]) => any, scope: TrackOptions | undefined) {
  return observeStainlessCreate(rt, original, {
    begin(params: any, options?: any) {
      const sdk = { provider: 'anthropic', sdkName: '@anthropic-ai/sdk', sdkVersion: sdkVersion(client) } as const;
      const facts = requestFacts(sdk, 'messages', params, params?.stream === true, anthropicRequest(params ?? {}), rt.currentScope(scope));
      const rec = rt.start({ ...facts, betas: anthropicBetas(client, params, options) });
      return { rec, sent: params, state: null };
    },
    output: messageText,
    onItem(event: any, tally, rec) {
      switch (event?.type) {
        case 'message_start':
          tally.model = event.message?.model ?? null;
          // message_start carries the input side (and cache tokens); message_delta the cumulative counts.
          // Both are sent as they are; the sidecar merges them (src/core/llm/usage.ts).
          tally.usage = event.message?.usage ?? {};
          tally.usageEvents.push({ type: 'message_start', usage: event.message?.usage ?? {} });
          break;
        case 'content_block_delta':
          rec.firstToken();
          if (event.delta?.type === 'text_delta' && typeof event.delta.text === 'string') {
            tally.output += event.delta.text;
          }
          break;
        case 'message_delta':
          if (event.usage && typeof event.usage === 'object') {
            tally.usage ??= event.usage;
            tally.usageEvents.push({ type: 'message_delta', usage: event.usage });
          }
          break;
      }
      return true;
    },
    prompt: anthropicRequest,
    usageKeys: ['input_tokens', 'output_tokens']
  });
}

/**
 * The `anthropic-beta` values a request sends (request options' headers, the
 * client's default headers, a `betas` parameter), comma-split: facts the
 * sidecar uses for the context window (docs/LLM.md).
 */
function anthropicBetas(client: any, params: any, options: any): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    for (const part of Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : []) {
      const b = String(part).trim();
      if (b && !out.includes(b) && out.length < 32) {
        out.push(b.slice(0, 128));
      }
    }
  };
  const headerValue = (headers: any): unknown => {
    if (!headers || typeof headers !== 'object') return undefined;
    if (typeof headers.get === 'function') return headers.get('anthropic-beta') ?? undefined;
    const key = Object.keys(headers).find(k => k.toLowerCase() === 'anthropic-beta');
    return key ? headers[key] : undefined;
  };
  add(headerValue(client?._options?.defaultHeaders));
  add(headerValue(options?.headers));
  add(params?.betas);
  return out;
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
        return methodProxy(cache, value, 'create', original => wrapCreate(rt, target, original, scope));
      }
      return boundToTarget(bound, target, prop, value);
    }
  });
}
