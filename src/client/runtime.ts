import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { LLM_MAX_CHAIN, LLM_MAX_USAGE_EVENTS, type LlmCallEvent, type LlmMessage, type LlmOperation, type LlmProvider } from '../shared/llm-api';
import { chainHashes, conversationFingerprint, replyHash } from '../core/llm/fingerprint';
import { resolveOptions, type ResolvedOptions, type VigiloClientOptions } from './config';
import { Transport } from './transport';

/** Options of track() and of wrap(client, options). */
export interface TrackOptions {
  conversationId?: string;
  tags?: Record<string, string>;
}

/** Thrown before a call is sent when the hard budget (opt-in) is spent. The call never reached the provider. */
export class VigiloBudgetExceededError extends Error {
  constructor(readonly reason: string) {
    super(`Vigilo refused this LLM call before sending it: ${reason}. Raise the budget (PUT /llm/budgets) or turn the hard stop off (configure({ hardBudget: false })).`);
    this.name = 'VigiloBudgetExceededError';
  }
}

/** What a provider adapter knows about the request before it is sent. */
export interface RequestFacts {
  provider: LlmProvider;
  operation: LlmOperation;
  requestModel: string | null;
  stream: boolean;
  system: string;
  messages: LlmMessage[];
  sdkName: string;
  sdkVersion: string | null;
  scope: TrackOptions;
  /** Request facts that change the window or price (Anthropic `anthropic-beta` values). */
  betas?: string[];
}

/** What an adapter learned from the response (or the error). */
export interface ResponseFacts {
  responseModel?: string | null;
  usage?: Record<string, unknown> | null;
  /** Streams that report usage in several events: each one, as sent. */
  usageEvents?: Array<{ type: string; usage: Record<string, unknown> }>;
  usageEstimated?: boolean;
  /** Gemini: search queries its Google Search grounding ran (absent: no grounding metadata). */
  groundingQueries?: number;
  output?: string | null;
  error?: unknown;
  /** A stream that stopped before its end (the user broke off, or dropped it unread): tagged `vigilo.stream: incomplete`. */
  incomplete?: boolean;
}

/** One call in flight: start, first token, finish. Never throws. */
export interface CallRecorder {
  /** The first item carrying output (text, tool call, refusal). */
  firstToken(): void;
  /** Any stream item: the time to first token falls back to the first item when none carried output. */
  sawItem(): void;
  finish(facts: ResponseFacts): void;
}

function errorFacts(error: unknown): { class: string; httpStatus: number | null } {
  const e = error as { constructor?: { name?: string }; name?: string; status?: unknown } | null;
  const cls = (e && typeof e === 'object' && e.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : e?.name) ?? typeof error;
  const status = e && typeof e === 'object' && typeof e.status === 'number' ? e.status : null;
  return { class: String(cls).slice(0, 200), httpStatus: status };
}

/**
 * The client runtime: settings, the ambient track() scope and the transport.
 * Created on first use, never at import.
 */
export class VigiloRuntime {
  private settings: VigiloClientOptions = {};
  private resolved: ResolvedOptions | null = null;
  readonly scope = new AsyncLocalStorage<TrackOptions>();
  readonly transport = new Transport(() => this.options);
  /** Injectable for tests: the wall clock and a monotonic clock in ms. */
  now: () => number = () => Date.now();
  monotonic: () => number = () => performance.now();

  get options(): ResolvedOptions {
    this.resolved ??= resolveOptions(this.settings);
    return this.resolved;
  }

  configure(options: VigiloClientOptions): void {
    this.settings = { ...this.settings, ...options };
    this.resolved = null;
  }

  /** Refuse before sending when the user enabled the hard budget and the sidecar says it is spent. */
  checkBudget(): VigiloBudgetExceededError | null {
    const state = this.transport.budget;
    if (!(this.options.hardBudget && state.hardStop)) {
      return null;
    }
    // No events flow while calls are refused: ask the sidecar again (at most every 5 s), so a raised limit lifts the stop.
    void this.transport.refreshBudget();
    return new VigiloBudgetExceededError(state.reason ?? 'the LLM budget is spent');
  }

  currentScope(extra: TrackOptions | undefined): TrackOptions {
    const ambient = this.scope.getStore() ?? {};
    return {
      conversationId: extra?.conversationId ?? ambient.conversationId,
      tags: { ...(ambient.tags ?? {}), ...(extra?.tags ?? {}) }
    };
  }

  countWrapperError(): void {
    this.transport.stats.wrapperErrors++;
  }

  start(request: RequestFacts): CallRecorder {
    const startedAt = this.now();
    const t0 = this.monotonic();
    let ttft: number | null = null;
    let firstItem: number | null = null;
    let done = false;
    return {
      sawItem: () => {
        if (firstItem === null) {
          firstItem = this.monotonic() - t0;
        }
      },
      firstToken: () => {
        if (ttft === null) {
          ttft = this.monotonic() - t0;
        }
      },
      finish: (facts: ResponseFacts) => {
        if (done) {
          return;
        }
        done = true;
        try {
          const capture = this.options.captureContent;
          const firstUser = request.messages.find(m => m.role === 'user');
          const chain = request.messages.length <= LLM_MAX_CHAIN ? chainHashes(request.provider, request.messages) : null;
          const event: LlmCallEvent = {
            id: randomUUID(),
            provider: request.provider,
            operation: request.operation,
            requestModel: request.requestModel,
            responseModel: facts.responseModel ?? null,
            startedAt: new Date(startedAt).toISOString(),
            ttftMs: request.stream ? (ttft ?? firstItem) : null,
            latencyMs: Math.max(0, this.monotonic() - t0),
            stream: request.stream,
            status: facts.error === undefined ? 'ok' : 'error',
            error: facts.error === undefined ? null : errorFacts(facts.error),
            usage: facts.usage ?? null,
            ...(facts.usageEvents?.length ? { usageEvents: facts.usageEvents.slice(-LLM_MAX_USAGE_EVENTS) } : {}),
            ...(request.betas?.length ? { betas: request.betas } : {}),
            chain,
            replyHash: chain ? replyHash(request.provider, chain, facts.output) : null,
            usageEstimated: facts.usageEstimated ?? false,
            ...(facts.groundingQueries === undefined ? {} : { groundingQueries: facts.groundingQueries }),
            conversationId: request.scope.conversationId ?? null,
            fingerprint: firstUser ? conversationFingerprint(request.provider, request.system, firstUser.content) : null,
            tags: facts.incomplete ? { ...(request.scope.tags ?? {}), 'vigilo.stream': 'incomplete' } : (request.scope.tags ?? {}),
            messages: capture ? request.messages : null,
            output: capture ? (facts.output ?? null) : null,
            sdk: { language: 'typescript', name: request.sdkName, version: request.sdkVersion }
          };
          this.transport.enqueue(event);
        } catch {
          this.countWrapperError();
        }
      }
    };
  }
}

let runtime: VigiloRuntime | null = null;

export function getRuntime(): VigiloRuntime {
  runtime ??= new VigiloRuntime();
  return runtime;
}
