/**
 * Vigilo for TypeScript: `import { wrap, track, flush } from 'vigilo'`.
 *
 *   const openai = wrap(new OpenAI());
 *   await track(() => openai.chat.completions.create({...}), { conversationId: 'onboarding' });
 *   await flush();
 *
 * Events carry raw facts to the local sidecar (found through its discovery
 * file); pricing, health and budgets are decided there. Telemetry never
 * changes the call: same response objects, same streams, same errors.
 */
import { wrapAnthropic } from './anthropic';
import type { VigiloClientOptions } from './config';
import { wrapGoogle } from './google';
import { isLegacyFactory, isLegacyModel, wrapLegacyFactory, wrapLegacyModel } from './googleLegacy';
import { clientKind, wrappedClients } from './observe';
import { wrapOpenAI } from './openai';
export { freshStart, summarizeWithModel, type FreshStart, type FreshStartOptions, type ModelSummary, type ModelSummaryOptions } from './summarize';
import { getRuntime, VigiloBudgetExceededError, type TrackOptions } from './runtime';
import type { TelemetryStats } from './transport';

export { VigiloBudgetExceededError };
export type { TrackOptions, VigiloClientOptions, TelemetryStats };

/**
 * Wrap an `openai`, `@anthropic-ai/sdk` or `@google/genai` client, or a
 * `@google/generative-ai` GoogleGenerativeAI / GenerativeModel. The result
 * has the client's own type; `options` (conversationId, tags) apply to every
 * call made through it, under any track() scope.
 */
export function wrap<T extends object>(client: T, options?: TrackOptions): T {
  const rt = getRuntime();
  if (wrappedClients.has(client)) {
    // Wrapping twice would count every call twice.
    return client;
  }
  let proxy: T;
  switch (legacyGemini(client) ?? clientKind(client)) {
    case 'legacy-model':
      proxy = wrapLegacyModel(rt, client, options);
      break;
    case 'legacy-factory':
      proxy = wrapLegacyFactory(rt, client, options);
      break;
    case 'openai':
      proxy = wrapOpenAI(rt, client, options);
      break;
    case 'anthropic':
      proxy = wrapAnthropic(rt, client, options);
      break;
    case 'google':
      proxy = wrapGoogle(rt, client, options);
      break;
    default:
      throw new TypeError(
        'vigilo.wrap() takes an OpenAI, Anthropic (@anthropic-ai/sdk) or GoogleGenAI (@google/genai) client, or a GoogleGenerativeAI or GenerativeModel (@google/generative-ai).'
      );
  }
  wrappedClients.add(proxy);
  return proxy;
}

function legacyGemini(client: unknown): 'legacy-model' | 'legacy-factory' | null {
  return isLegacyModel(client) ? 'legacy-model' : isLegacyFactory(client) ? 'legacy-factory' : null;
}

/**
 * Run `fn` with a conversation id and tags for every wrapped call it makes,
 * through awaits and callbacks (AsyncLocalStorage). Nested scopes inherit
 * and override. Returns what `fn` returns.
 */
export function track<R>(fn: () => R, options: TrackOptions = {}): R {
  const rt = getRuntime();
  return rt.scope.run(rt.currentScope(options), fn);
}

/** Sends every pending event now: true when all are stored and none was dropped since the last flush; false keeps the rest for later. Never rejects. */
export function flush(): Promise<boolean> {
  return getRuntime().transport.flush();
}

/** Point the client at a sidecar explicitly, or change capture, budget and buffering settings. */
export function configure(options: VigiloClientOptions): void {
  getRuntime().configure(options);
}

/** Counters of delivered, dropped and failed telemetry (failures are counted, never thrown). */
export function stats(): TelemetryStats {
  return { ...getRuntime().transport.stats };
}
