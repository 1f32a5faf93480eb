import type { LlmOperation, LlmProvider } from '../shared/llm-api';
import type { CallRecorder, RequestFacts, ResponseFacts, TrackOptions, VigiloRuntime } from './runtime';
import type { Extracted } from './text';

/** Run telemetry code; its failure is counted, never thrown into the user's call. */
export function safely<T>(rt: VigiloRuntime, fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    rt.countWrapperError();
    return fallback;
  }
}

/**
 * Observe a Stainless APIPromise (openai, @anthropic-ai/sdk) without changing
 * what the user gets: `_thenUnwrap` returns an APIPromise of the same data
 * (same object), so `.withResponse()` and `.asResponse()` keep working, and
 * the body is parsed only when the user asks for it. Errors are seen on the
 * response promise, which the SDK's own error reaches unchanged.
 */
function observeApiPromise<P>(rt: VigiloRuntime, promise: P, rec: CallRecorder, onData: (data: any) => any): P {
  const p = promise as any;
  if (p && typeof p._thenUnwrap === 'function' && typeof p.asResponse === 'function') {
    try {
      p.asResponse().then(undefined, (error: unknown) => rec.finish({ error }));
      return p._thenUnwrap((data: unknown) => safely(rt, () => onData(data), data));
    } catch {
      rt.countWrapperError();
      return promise;
    }
  }
  // Not an APIPromise (another SDK version): observe a plain promise.
  return Promise.resolve(promise).then(
    data => safely(rt, () => onData(data), data),
    error => {
      rec.finish({ error });
      throw error;
    }
  ) as P;
}

export interface StreamObserver<T> {
  /** Look at one item; return false to keep it from the user (the injected usage-only chunk). */
  onItem(item: T): boolean;
  /** What is known when the stream ends, is abandoned, or fails. */
  facts(): ResponseFacts;
}

/** Wrap an async iterator so every item is seen once; the end, an early return or an error finishes the call. */
export function observeIterator<T>(rt: VigiloRuntime, inner: AsyncIterator<T>, rec: CallRecorder, observer: StreamObserver<T>): AsyncIterator<T> {
  const finish = (error?: unknown, incomplete = false): void => {
    const facts = safely(rt, () => observer.facts(), {});
    rec.finish(error === undefined ? { ...facts, ...(incomplete ? { incomplete } : {}) } : { ...facts, error });
  };
  return {
    async next(...args: [] | [unknown]): Promise<IteratorResult<T>> {
      for (;;) {
        let result: IteratorResult<T>;
        try {
          result = await inner.next(...args);
        } catch (error) {
          finish(error);
          throw error;
        }
        if (result.done) {
          finish();
          return result;
        }
        rec.sawItem();
        if (safely(rt, () => observer.onItem(result.value), true)) {
          return result;
        }
      }
    },
    async return(value?: any): Promise<IteratorResult<T>> {
      finish(undefined, true);
      return inner.return ? inner.return(value) : { done: true, value };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish(error);
      if (inner.throw) {
        return inner.throw(error);
      }
      throw error;
    }
  };
}

/**
 * Instrument a Stainless Stream in place: the user keeps the same Stream
 * object (tee(), toReadableStream(), controller all work); only its
 * iterator factory now passes through the observer.
 */
function instrumentStainlessStream<T>(rt: VigiloRuntime, stream: any, rec: CallRecorder, observer: StreamObserver<T>): void {
  const original = stream?.iterator;
  if (typeof original !== 'function') {
    rec.finish({});
    rt.countWrapperError();
    return;
  }
  stream.iterator = () => observeIterator(rt, original.call(stream) as AsyncIterator<T>, rec, observer);
  finishWhenDropped(rt, stream, rec, observer);
}

/** Streams the user drops, unread or half read: finished (with what was seen, marked incomplete) when collected. */
const dropped = new FinalizationRegistry<() => void>(finish => finish());

/** `target` (the user's stream object) must not be reachable from `rec` or `observer`. */
export function finishWhenDropped<T>(rt: VigiloRuntime, target: object, rec: CallRecorder, observer: StreamObserver<T>): void {
  try {
    dropped.register(target, finishIncomplete(rt, rec, observer));
  } catch {
    rt.countWrapperError();
  }
}

/** Made apart from `target`'s scope: a closure there would keep the stream alive from the registry. */
function finishIncomplete<T>(rt: VigiloRuntime, rec: CallRecorder, observer: StreamObserver<T>): () => void {
  return () => rec.finish({ ...safely(rt, () => observer.facts(), {}), incomplete: true });
}

/** "OpenAI/JS 6.49.0" → "6.49.0". */
export function sdkVersion(client: any): string | null {
  try {
    const ua = typeof client?.getUserAgent === 'function' ? String(client.getUserAgent()) : '';
    return /\/JS (\S+)/.exec(ua)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Character heuristic (about 4 characters a token), used only when a stream ended without its usage event. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Every proxy wrap() made, and the models a wrapped GoogleGenerativeAI made: wrap() returns these as they are. */
export const wrappedClients = new WeakSet<object>();

/** Cache proxies per target so `wrapped.chat === wrapped.chat`. */
export function cachedProxy<T extends object>(cache: WeakMap<object, any>, target: T, make: (t: T) => T): T {
  let p = cache.get(target);
  if (!p) {
    p = make(target);
    cache.set(target, p);
  }
  return p;
}

/** Which SDK a client is, by the method it is called through (wrap() and summarizeWithModel() alike). */
export function clientKind(client: any): LlmProvider | null {
  if (typeof client?.chat?.completions?.create === 'function') {
    return 'openai';
  }
  if (typeof client?.models?.generateContent === 'function') {
    return 'google';
  }
  if (typeof client?.messages?.create === 'function') {
    return 'anthropic';
  }
  return null;
}

/** Which SDK a wrapped client is. */
export interface SdkFacts {
  provider: LlmProvider;
  sdkName: string;
  sdkVersion: string | null;
}

/** The request side of one call, the same for every provider. */
export function requestFacts(sdk: SdkFacts, operation: LlmOperation, params: any, stream: boolean, extracted: Extracted, scope: TrackOptions): RequestFacts {
  return {
    provider: sdk.provider,
    operation,
    requestModel: typeof params?.model === 'string' ? params.model : null,
    stream,
    system: extracted.system,
    messages: extracted.messages,
    sdkName: sdk.sdkName,
    sdkVersion: sdk.sdkVersion,
    scope
  };
}

/** What a stream has said so far: usage stays null until the provider reports it. */
export interface StreamTally {
  model: string | null;
  usage: Record<string, unknown> | null;
  /** Every usage-carrying stream event, as sent (Anthropic: message_start, message_delta). */
  usageEvents: Array<{ type: string; usage: Record<string, unknown> }>;
  output: string;
}

export function newTally(): StreamTally {
  return { model: null, usage: null, usageEvents: [], output: '' };
}

/**
 * A stream's facts when it ends: the provider's own usage, or, where the
 * stream ended before its usage (the user stopped early), an estimate from
 * the prompt and the text seen under the provider's field names, and say so.
 */
export function streamFacts(tally: StreamTally, prompt: () => Extracted, usageKeys: readonly [input: string, output: string]): ResponseFacts {
  const { model, usage, output, usageEvents } = tally;
  if (usage) {
    return { responseModel: model, usage, output, ...(usageEvents.length ? { usageEvents } : {}) };
  }
  const text = prompt().messages.map(m => m.content).join('\n');
  return { responseModel: model, output, usageEstimated: true, usage: { [usageKeys[0]]: estimateTokens(text), [usageKeys[1]]: estimateTokens(output) } };
}

/** How one create method of a Stainless SDK (openai, @anthropic-ai/sdk) is observed. */
export interface StainlessCreate<S> {
  /** Note the request (rt.start); `sent` is what goes to the SDK: `params`, or a copy asking for more. */
  begin(params: any, options?: any): { rec: CallRecorder; sent: any; state: S };
  /** The text of a whole (not streamed) response. */
  output(data: any): string | null;
  /** Note one streamed item; false keeps it from the user. */
  onItem(item: any, tally: StreamTally, rec: CallRecorder, state: S): boolean;
  /** The request's text and the usage field names, for an estimate when a stream ends without usage. */
  prompt(params: any): Extracted;
  usageKeys: readonly [input: string, output: string];
}

/**
 * A Stainless create method, observed: the budget may refuse it; a failure
 * noting the request leaves the call unobserved; a whole response is noted
 * when the user reads it, a stream (same Stream object) as it is iterated.
 */
export function observeStainlessCreate<S>(rt: VigiloRuntime, original: (...a: any[]) => any, how: StainlessCreate<S>) {
  return function create(this: unknown, params: any, options?: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const begun = safely(rt, () => how.begin(params, options), null);
    if (!begun) {
      return original.call(this, params, options);
    }
    const { rec, sent, state } = begun;
    const promise = original.call(this, sent, options);
    const stream = params?.stream === true;
    return observeApiPromise(rt, promise, rec, data => {
      if (!stream) {
        rec.finish({ responseModel: data?.model ?? null, usage: data?.usage ?? null, output: how.output(data) });
        return data;
      }
      const tally = newTally();
      instrumentStainlessStream(rt, data, rec, {
        onItem: item => how.onItem(item, tally, rec, state),
        facts: () => streamFacts(tally, () => how.prompt(params), how.usageKeys)
      });
      return data;
    });
  };
}

/**
 * A promise-returning SDK method (the Gemini SDKs), observed: the budget may refuse it; `begin` returning null
 * (the request could not be noted) leaves the call unobserved; `onResult` sees what the SDK resolved to (never
 * changing it); an error finishes the call.
 */
export function observePromiseCall(
  rt: VigiloRuntime,
  original: (...a: any[]) => Promise<any>,
  begin: (self: any, args: any[]) => CallRecorder | null,
  onResult: (rec: CallRecorder, result: any, args: any[]) => void
) {
  return function (this: any, ...args: any[]) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const rec = begin(this, args);
    const promise = original.apply(this, args);
    if (!rec) {
      return promise;
    }
    return promise.then(
      (result: any) => {
        safely(rt, () => onResult(rec, result, args), undefined);
        return result;
      },
      (error: unknown) => {
        rec.finish({ error });
        throw error;
      }
    );
  };
}

/**
 * A proxy of `target` whose `method` is replaced, once, by `make(original)`; cached per target. With `client`
 * (the wrapped client), the resource's `_client` is that client: the SDK's helpers that call back through
 * `this._client` (openai's chat.completions.parse/stream/runTools, responses.parse/stream) reach the observed method.
 */
export function methodProxy<T extends object>(cache: WeakMap<object, any>, target: T, method: string, make: (original: any) => any, client?: () => object): T {
  return cachedProxy(cache, target, t => {
    let wrapped: any = null;
    return new Proxy(t, {
      get(obj, prop, receiver) {
        if (prop === '_client' && client) {
          return client();
        }
        const value: any = Reflect.get(obj, prop, receiver);
        if (prop === method && typeof value === 'function') {
          wrapped ??= make(value);
          return wrapped;
        }
        return value;
      }
    });
  });
}

/** The client's own methods may use #private fields: they are called on the real client (bound once each). */
export function boundToTarget(bound: WeakMap<object, any>, target: object, prop: string | symbol, value: any): any {
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
