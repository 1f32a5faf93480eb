import { cachedProxy, finishWhenDropped, newTally, observeIterator, observePromiseCall, requestFacts, safely, streamFacts, type StreamObserver } from './observe';
import type { CallRecorder, TrackOptions, VigiloRuntime } from './runtime';
import { wrapChats } from './sessions';
import { googleRequest } from './text';

/** The answer's text: the first candidate's non-thought parts (also read by googleLegacy). */
export function candidateText(resp: any): string {
  const parts = resp?.candidates?.[0]?.content?.parts;
  if (!Array.isArray(parts)) {
    return '';
  }
  return parts.filter((p: any) => typeof p?.text === 'string' && p.thought !== true).map((p: any) => p.text).join('');
}

/**
 * Google Search grounding: how many search queries the response says the model
 * ran (`groundingMetadata.webSearchQueries`, all candidates); undefined when it
 * carries no grounding metadata. The sidecar prices it (src/core/llm/pricing.ts groundingCost).
 */
export function groundingQueries(resp: any): number | undefined {
  const candidates = resp?.candidates;
  if (!Array.isArray(candidates)) {
    return undefined;
  }
  let found = false;
  let queries = 0;
  for (const c of candidates) {
    const g = c?.groundingMetadata;
    // Streams send an empty groundingMetadata on every chunk before the one that carries it.
    if (g && typeof g === 'object' && Object.keys(g).length > 0) {
      found = true;
      queries += Array.isArray(g.webSearchQueries) ? g.webSearchQueries.length : 0;
    }
  }
  return found ? queries : undefined;
}

function start(rt: VigiloRuntime, params: any, stream: boolean, scope: TrackOptions | undefined, version: string | null): CallRecorder | null {
  const sdk = { provider: 'google', sdkName: '@google/genai', sdkVersion: version } as const;
  return safely(rt, () => rt.start(requestFacts(sdk, 'generateContent', params, stream, googleRequest(params ?? {}), rt.currentScope(scope))), null);
}

/** A whole GenerateContentResponse (of either Gemini SDK) finishes the call. */
export function finishWithResponse(rec: CallRecorder, resp: any): void {
  const grounding = groundingQueries(resp);
  rec.finish({ responseModel: resp?.modelVersion ?? null, usage: resp?.usageMetadata ?? null, output: candidateText(resp) || null, ...(grounding === undefined ? {} : { groundingQueries: grounding }) });
}

function sdkVersionOf(client: any): string | null {
  try {
    const header = client?.apiClient?.getDefaultHeaders?.()?.['x-goog-api-client'] ?? client?.apiClient?.getDefaultHeaders?.()?.['user-agent'];
    return /google-genai-sdk\/(\S+)/.exec(String(header ?? ''))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * A Proxy of a `@google/genai` client: models.generateContent and
 * models.generateContentStream are observed. The stream is the SDK's own
 * async generator; its next() is observed in place.
 */
export function wrapGoogle<T extends object>(rt: VigiloRuntime, client: T, scope?: TrackOptions): T {
  const cache = new WeakMap<object, any>();
  const version = sdkVersionOf(client);
  const wrappers = new Map<string, any>();
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value: any = Reflect.get(target, prop, receiver);
      if (prop === 'chats' && value && typeof value === 'object') {
        // ai.chats sessions: built around the wrapped models, each session one conversation.
        return cachedProxy(cache, value, chats => wrapChats(rt, chats, () => (receiver as any).models, scope));
      }
      if (prop !== 'models' || !value || typeof value !== 'object') {
        return value;
      }
      return cachedProxy(cache, value, models =>
        new Proxy(models, {
          get(m, p, r) {
            const v: any = Reflect.get(m, p, r);
            if (typeof v !== 'function' || (p !== 'generateContent' && p !== 'generateContentStream')) {
              return v;
            }
            if (!wrappers.has(p)) {
              wrappers.set(p, p === 'generateContent' ? wrapGenerate(rt, m, v, scope, version) : wrapGenerateStream(rt, m, v, scope, version));
            }
            return wrappers.get(p);
          }
        })
      );
    }
  });
}

/** models.generateContent(Stream), observed (observePromiseCall), called on `models` with its params only. */
function observeGenerate(
  rt: VigiloRuntime,
  models: any,
  original: (...a: any[]) => Promise<any>,
  stream: boolean,
  scope: TrackOptions | undefined,
  version: string | null,
  onResult: (rec: CallRecorder, params: any, result: any) => void
) {
  const observed = observePromiseCall(
    rt,
    (params: any) => original.call(models, params),
    (_self, [params]) => start(rt, params, stream, scope, version),
    (rec, result, [params]) => onResult(rec, params, result)
  );
  // Named as the SDK method it stands for (generateContent / generateContentStream).
  return Object.defineProperty(observed, 'name', { value: stream ? 'generateContentStream' : 'generateContent' });
}

function wrapGenerate(rt: VigiloRuntime, models: any, original: (...a: any[]) => Promise<any>, scope: TrackOptions | undefined, version: string | null) {
  return observeGenerate(rt, models, original, false, scope, version, (rec, _params, resp) => finishWithResponse(rec, resp));
}

function wrapGenerateStream(rt: VigiloRuntime, models: any, original: (...a: any[]) => Promise<any>, scope: TrackOptions | undefined, version: string | null) {
  return observeGenerate(rt, models, original, true, scope, version, (rec, params, generator) => {
    const tally = newTally();
    // Grounding metadata arrives with a late chunk; a chunk that repeats it must not count it twice.
    let grounding: number | undefined;
    const inner = { next: generator.next.bind(generator), return: generator.return.bind(generator), throw: generator.throw.bind(generator) };
    const observer: StreamObserver<any> = {
      onItem(chunk: any) {
        tally.model = chunk?.modelVersion ?? tally.model;
        if (chunk?.usageMetadata) {
          // Each chunk's usageMetadata is the running total: the last one is the call's.
          tally.usage = chunk.usageMetadata;
        }
        const queries = groundingQueries(chunk);
        if (queries !== undefined) {
          grounding = Math.max(grounding ?? 0, queries);
        }
        const text = candidateText(chunk);
        if (text) {
          tally.output += text;
          rec.firstToken();
        }
        return true;
      },
      facts: () => ({ ...streamFacts(tally, () => googleRequest(params), ['promptTokenCount', 'candidatesTokenCount']), ...(grounding === undefined ? {} : { groundingQueries: grounding }) })
    };
    const observed = observeIterator(rt, inner, rec, observer);
    finishWhenDropped(rt, generator, rec, observer);
    // Same generator object for the user; its next/return/throw now pass through the observer.
    generator.next = observed.next;
    generator.return = observed.return;
    generator.throw = observed.throw;
  });
}
