import { randomUUID } from 'node:crypto';
import type { TrackOptions, VigiloRuntime } from './runtime';

/**
 * Chat sessions (`ai.chats.create()` of @google/genai, `model.startChat()` of
 * @google/generative-ai): one session object is one conversation. Each gets
 * an id of its own (`chat-` + 16 hex digits); calls made while one of its
 * send methods runs carry it, unless the user named a conversation through
 * track() or wrap(client, { conversationId }).
 */
const ids = new WeakMap<object, string>();

function sessionId(session: object): string {
  let id = ids.get(session);
  if (!id) {
    id = `chat-${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    ids.set(session, id);
  }
  return id;
}

/** Run `fn` in the session's conversation (AsyncLocalStorage: through the SDK's awaits). */
function inSession<R>(rt: VigiloRuntime, session: object, scope: TrackOptions | undefined, fn: () => R): R {
  const ambient = rt.scope.getStore();
  if (scope?.conversationId || ambient?.conversationId) {
    return fn();
  }
  return rt.scope.run({ ...(ambient ?? {}), conversationId: sessionId(session) }, fn);
}

/** A Proxy of `session` whose `methods` run in its conversation; `observe` may replace each one further. */
export function sessionProxy<T extends object>(
  rt: VigiloRuntime,
  session: T,
  methods: readonly string[],
  scope: TrackOptions | undefined,
  observe: (name: string, original: (...a: any[]) => any) => (...a: any[]) => any = (_n, o) => o
): T {
  const made = new Map<string, (...a: any[]) => any>();
  return new Proxy(session, {
    get(target, prop, receiver) {
      const value: any = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function' || !methods.includes(prop)) {
        return value;
      }
      let fn = made.get(prop);
      if (!fn) {
        const observed = observe(prop, value);
        fn = (...args: any[]) => inSession(rt, target, scope, () => observed.apply(target, args));
        made.set(prop, fn);
      }
      return fn;
    }
  });
}

/**
 * `ai.chats` of a wrapped @google/genai client: `create()` builds the SDK's own
 * Chat around the wrapped `models` (so every message is observed there) and
 * returns it as a session.
 */
export function wrapChats<T extends object>(rt: VigiloRuntime, chats: T, wrappedModels: () => unknown, scope: TrackOptions | undefined): T {
  let create: ((...a: any[]) => any) | null = null;
  return new Proxy(chats, {
    get(target, prop, receiver) {
      const value: any = Reflect.get(target, prop, receiver);
      if (prop !== 'create' || typeof value !== 'function') {
        return value;
      }
      create ??= (...args: any[]) => {
        // The SDK's create() reads this.modelsModule: give it the wrapped models.
        const self = new Proxy(target, { get: (t, p, r) => (p === 'modelsModule' ? wrappedModels() : Reflect.get(t, p, r)) });
        const chat = value.apply(self, args);
        return chat && typeof chat === 'object' ? sessionProxy(rt, chat, ['sendMessage', 'sendMessageStream'], scope) : chat;
      };
      return create;
    }
  });
}
