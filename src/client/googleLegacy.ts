import { candidateText, finishWithResponse } from './google';
import { cachedProxy, observeIterator, observePromiseCall, requestFacts, safely, wrappedClients } from './observe';
import type { CallRecorder, TrackOptions, VigiloRuntime } from './runtime';
import { sessionProxy } from './sessions';
import { googleRequest, type Extracted } from './text';

/**
 * @google/generative-ai (the legacy Gemini SDK): a `GenerativeModel`
 * (`genAI.getGenerativeModel(...)`) or the `GoogleGenerativeAI` that makes
 * them. generateContent, generateContentStream and the chat sessions of
 * startChat() (sendMessage, sendMessageStream: the SDK sends those without
 * going through the model, so the session is observed itself, and is one
 * conversation). Results are the SDK's own: `{ response }`, and for streams
 * `{ stream, response }`, where the SDK reads the whole answer for `response`
 * whether or not the user reads `stream`, so a stream is finished (with its
 * usage) when `response` settles, however little of `stream` was read.
 */

/** A GenerativeModel (or a ChatSession's model, by name) of @google/generative-ai. */
export function isLegacyModel(client: any): boolean {
  return typeof client?.generateContent === 'function' && typeof client?.generateContentStream === 'function' && typeof client?.startChat === 'function';
}

export function isLegacyFactory(client: any): boolean {
  return typeof client?.getGenerativeModel === 'function';
}

const SDK = { provider: 'google', sdkName: '@google/generative-ai', sdkVersion: null } as const;

/** What the SDK sends for a generateContent request: a string, a list of strings/parts, or `{ contents, systemInstruction }`. */
function modelRequest(model: any, request: any): Extracted {
  const full = request && typeof request === 'object' && !Array.isArray(request) && 'contents' in request;
  return googleRequest({
    contents: full ? request.contents : request,
    config: { systemInstruction: (full ? request.systemInstruction : undefined) ?? model?.systemInstruction }
  });
}

/** A chat message: the session's history so far, then the new message (as the SDK builds it). */
function sessionRequest(session: any, message: any): Extracted {
  const history = Array.isArray(session?._history) ? session._history : [];
  const parts = typeof message === 'string' ? [{ text: message }] : Array.isArray(message) ? message.map((p: any) => (typeof p === 'string' ? { text: p } : p)) : [];
  return googleRequest({ contents: [...history, { role: 'user', parts }], config: { systemInstruction: session?.params?.systemInstruction } });
}

function start(rt: VigiloRuntime, model: string | null, extracted: Extracted, stream: boolean, scope: TrackOptions | undefined): CallRecorder | null {
  return safely(rt, () => rt.start(requestFacts(SDK, 'generateContent', { model }, stream, extracted, rt.currentScope(scope))), null);
}

/** Observe a `{ stream, response }` result in place: `stream` for the first token, `response` for the end. */
function observeStreamResult(rt: VigiloRuntime, rec: CallRecorder, result: any): void {
  const generator = result?.stream;
  if (generator && typeof generator.next === 'function') {
    const inner = { next: generator.next.bind(generator), return: generator.return?.bind(generator), throw: generator.throw?.bind(generator) };
    // The end is `response`'s: the iterator only notes what the user saw (an early stop is no end here).
    const observed = observeIterator(rt, inner, { firstToken: () => rec.firstToken(), sawItem: () => rec.sawItem(), finish: () => undefined }, {
      onItem(chunk: any) {
        if (candidateText(chunk)) {
          rec.firstToken();
        }
        return true;
      },
      facts: () => ({})
    });
    generator.next = observed.next;
  }
  Promise.resolve(result?.response).then(
    (resp: any) => safely(rt, () => finishWithResponse(rec, resp), undefined),
    (error: unknown) => rec.finish({ error })
  );
}

/** One observed call (observePromiseCall): a plain result finishes at once, a stream when its `response` settles. */
function observeCall(rt: VigiloRuntime, original: (...a: any[]) => Promise<any>, stream: boolean, scope: TrackOptions | undefined, describe: (self: any, first: any) => { model: string | null; request: Extracted }) {
  return observePromiseCall(
    rt,
    original,
    (self, args) => {
      const described = safely(rt, () => describe(self, args[0]), null);
      return described ? start(rt, described.model, described.request, stream, scope) : null;
    },
    (rec, result) => (stream ? observeStreamResult(rt, rec, result) : finishWithResponse(rec, result?.response))
  );
}

const modelName = (m: any): string | null => (typeof m?.model === 'string' ? m.model : null);

function wrapSession<T extends object>(rt: VigiloRuntime, session: T, scope: TrackOptions | undefined): T {
  return sessionProxy(rt, session, ['sendMessage', 'sendMessageStream'], scope, (name, original) =>
    observeCall(rt, original, name === 'sendMessageStream', scope, (s, message) => ({ model: modelName(s), request: sessionRequest(s, message) }))
  );
}

/** A Proxy of a legacy GenerativeModel: generateContent(Stream) observed, startChat() sessions wrapped. */
export function wrapLegacyModel<T extends object>(rt: VigiloRuntime, model: T, scope?: TrackOptions): T {
  const made = new Map<string | symbol, any>();
  return new Proxy(model, {
    get(target, prop, receiver) {
      const value: any = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || (prop !== 'generateContent' && prop !== 'generateContentStream' && prop !== 'startChat')) {
        return value;
      }
      if (!made.has(prop)) {
        made.set(
          prop,
          prop === 'startChat'
            ? (...args: any[]) => wrapSession(rt, value.apply(target, args), scope)
            : observeCall(rt, value, prop === 'generateContentStream', scope, (m, request) => ({ model: modelName(m), request: modelRequest(m, request) })).bind(target)
        );
      }
      return made.get(prop);
    }
  });
}

/** A Proxy of `GoogleGenerativeAI`: the models it makes are wrapped. */
export function wrapLegacyFactory<T extends object>(rt: VigiloRuntime, factory: T, scope?: TrackOptions): T {
  const cache = new WeakMap<object, any>();
  return new Proxy(factory, {
    get(target, prop, receiver) {
      const value: any = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || (prop !== 'getGenerativeModel' && prop !== 'getGenerativeModelFromCachedContent')) {
        return value;
      }
      return (...args: any[]) =>
        cachedProxy(cache, value.apply(target, args), m => {
          const proxy = wrapLegacyModel(rt, m, scope);
          wrappedClients.add(proxy); // wrapped already: wrap(model) leaves it as it is
          return proxy;
        });
    }
  });
}
