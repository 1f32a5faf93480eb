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
    begin(params: any) {
      const sdk = { provider: 'anthropic', sdkName: '@anthropic-ai/sdk', sdkVersion: sdkVersion(client) } as const;
      const rec = rt.start(requestFacts(sdk, 'messages', params, params?.stream === true, anthropicRequest(params ?? {}), rt.currentScope(scope)));
      return { rec, sent: params, state: null };
    },
    output: messageText,
    onItem(event: any, tally, rec) {
      switch (event?.type) {
        case 'message_start':
          tally.model = event.message?.model ?? null;
          // message_start carries the input side (and cache tokens); message_delta the running output count.
          tally.usage = { ...(event.message?.usage ?? {}) };
          break;
        case 'content_block_delta':
          rec.firstToken();
          if (event.delta?.type === 'text_delta' && typeof event.delta.text === 'string') {
            tally.output += event.delta.text;
          }
          break;
        case 'message_delta':
          if (event.usage && typeof event.usage === 'object') {
            tally.usage ??= {};
            for (const [k, v] of Object.entries(event.usage)) {
              if (v !== null && v !== undefined) {
                tally.usage[k] = v;
              }
            }
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
