import { cachedProxy, estimateTokens, observeIterator, safely } from './observe';
import type { CallRecorder, TrackOptions, VigiloRuntime } from './runtime';
import { googleRequest } from './text';

function candidateText(resp: any): string {
  const parts = resp?.candidates?.[0]?.content?.parts;
  if (!Array.isArray(parts)) {
    return '';
  }
  return parts.filter((p: any) => typeof p?.text === 'string' && p.thought !== true).map((p: any) => p.text).join('');
}

function start(rt: VigiloRuntime, params: any, stream: boolean, scope: TrackOptions | undefined, version: string | null): CallRecorder | null {
  return safely(
    rt,
    () => {
      const extracted = googleRequest(params ?? {});
      return rt.start({
        provider: 'google',
        operation: 'generateContent',
        requestModel: typeof params?.model === 'string' ? params.model : null,
        stream,
        system: extracted.system,
        messages: extracted.messages,
        sdkName: '@google/genai',
        sdkVersion: version,
        scope: rt.currentScope(scope)
      });
    },
    null
  );
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

function wrapGenerate(rt: VigiloRuntime, models: any, original: (...a: any[]) => Promise<any>, scope: TrackOptions | undefined, version: string | null) {
  return function generateContent(params: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const rec = start(rt, params, false, scope, version);
    const promise = original.call(models, params);
    if (!rec) {
      return promise;
    }
    return promise.then(
      (resp: any) => {
        safely(rt, () => rec.finish({ responseModel: resp?.modelVersion ?? null, usage: resp?.usageMetadata ?? null, output: candidateText(resp) || null }), undefined);
        return resp;
      },
      (error: unknown) => {
        rec.finish({ error });
        throw error;
      }
    );
  };
}

function wrapGenerateStream(rt: VigiloRuntime, models: any, original: (...a: any[]) => Promise<any>, scope: TrackOptions | undefined, version: string | null) {
  return function generateContentStream(params: any) {
    const refused = rt.checkBudget();
    if (refused) {
      return Promise.reject(refused);
    }
    const rec = start(rt, params, true, scope, version);
    const promise = original.call(models, params);
    if (!rec) {
      return promise;
    }
    return promise.then(
      (generator: any) => {
        safely(
          rt,
          () => {
            let model: string | null = null;
            let usage: Record<string, unknown> | null = null;
            let output = '';
            const inner = { next: generator.next.bind(generator), return: generator.return.bind(generator), throw: generator.throw.bind(generator) };
            const observed = observeIterator(rt, inner, rec, {
              onItem(chunk: any) {
                model = chunk?.modelVersion ?? model;
                if (chunk?.usageMetadata) {
                  // Each chunk's usageMetadata is the running total: the last one is the call's.
                  usage = chunk.usageMetadata;
                }
                const text = candidateText(chunk);
                if (text) {
                  output += text;
                  rec.firstToken();
                }
                return true;
              },
              facts() {
                if (usage) {
                  return { responseModel: model, usage, output };
                }
                const prompt = googleRequest(params).messages.map(x => x.content).join('\n');
                return { responseModel: model, output, usageEstimated: true, usage: { promptTokenCount: estimateTokens(prompt), candidatesTokenCount: estimateTokens(output) } };
              }
            });
            // Same generator object for the user; its next/return/throw now pass through the observer.
            generator.next = observed.next;
            generator.return = observed.return;
            generator.throw = observed.throw;
          },
          undefined
        );
        return generator;
      },
      (error: unknown) => {
        rec.finish({ error });
        throw error;
      }
    );
  };
}
