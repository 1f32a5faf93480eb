import type { CallRecorder, ResponseFacts, VigiloRuntime } from './runtime';

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
export function observeApiPromise<P>(rt: VigiloRuntime, promise: P, rec: CallRecorder, onData: (data: any) => any): P {
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
  const finish = (error?: unknown): void => {
    const facts = safely(rt, () => observer.facts(), {});
    rec.finish(error === undefined ? facts : { ...facts, error });
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
      finish();
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
export function instrumentStainlessStream<T>(rt: VigiloRuntime, stream: any, rec: CallRecorder, observer: StreamObserver<T>): void {
  const original = stream?.iterator;
  if (typeof original !== 'function') {
    rec.finish({});
    rt.countWrapperError();
    return;
  }
  stream.iterator = () => observeIterator(rt, original.call(stream) as AsyncIterator<T>, rec, observer);
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

/** Cache proxies per target so `wrapped.chat === wrapped.chat`. */
export function cachedProxy<T extends object>(cache: WeakMap<object, any>, target: T, make: (t: T) => T): T {
  let p = cache.get(target);
  if (!p) {
    p = make(target);
    cache.set(target, p);
  }
  return p;
}
