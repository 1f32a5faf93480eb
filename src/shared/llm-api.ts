/**
 * LLM telemetry wire shapes (POST /llm/events and the /llm/* answers),
 * defined once. The TypeScript client (src/client) and the Python wrappers
 * (vigilo/llm) both send `LlmCallEvent`s: raw facts only. Pricing, usage
 * normalisation, conversation identity, health and budgets are decided by
 * the sidecar (src/core/llm). docs/LLM.md describes the same contract.
 */
import { z } from 'zod';

export const LLM_MAX_EVENTS_PER_BATCH = 500;
/** Usage-carrying stream events kept per call (Anthropic sends 2 to a few). */
export const LLM_MAX_USAGE_EVENTS = 64;
/** Messages a conversation chain covers; longer requests send `chain: null` and fall back to the fingerprint. */
export const LLM_MAX_CHAIN = 4000;

export const LlmProvider = z.enum(['openai', 'anthropic', 'google']);
export type LlmProvider = z.infer<typeof LlmProvider>;

export const LlmOperation = z.enum(['chat.completions', 'responses', 'messages', 'generateContent']);
export type LlmOperation = z.infer<typeof LlmOperation>;

export const LlmMessage = z.object({ role: z.string().max(64), content: z.string() });
export type LlmMessage = z.infer<typeof LlmMessage>;

const isoDate = z.string().datetime({ offset: true });

export const LlmCallEvent = z
  .object({
    id: z.string().min(1).max(128),
    provider: LlmProvider,
    operation: LlmOperation,
    /** What the user asked for. */
    requestModel: z.string().max(256).nullable(),
    /** The model as returned by the provider. */
    responseModel: z.string().max(256).nullable(),
    startedAt: isoDate,
    /** Streams: time to the first content token. */
    ttftMs: z.number().nonnegative().nullable(),
    latencyMs: z.number().nonnegative(),
    stream: z.boolean(),
    status: z.enum(['ok', 'error']),
    error: z.object({ class: z.string().max(200), httpStatus: z.number().int().nullable() }).nullable(),
    /**
     * The provider's own usage object, untouched: OpenAI chat `usage`, OpenAI responses `response.usage`,
     * Anthropic `usage` (whole message; for a stream, message_start's `message.usage`), Gemini `usageMetadata`
     * (for a stream, the last chunk's, a running total).
     */
    usage: z.record(z.string(), z.unknown()).nullable(),
    /**
     * Streams whose usage arrives in more than one event (Anthropic: message_start's `message.usage`, then every
     * message_delta's `usage`): each usage-carrying event in arrival order, its usage object untouched. The sidecar
     * merges them (src/core/llm/usage.ts); `usage` is then only the fallback. Absent on other calls.
     */
    usageEvents: z
      .array(z.object({ type: z.string().max(64), usage: z.record(z.string(), z.unknown()) }).strict())
      .max(LLM_MAX_USAGE_EVENTS)
      .optional(),
    /**
     * Request facts that change the model's context window or price, as sent: Anthropic `anthropic-beta` header
     * values (comma-split, e.g. "context-1m-2025-08-07"), from the request options or the client's default headers.
     */
    betas: z.array(z.string().max(128)).max(32).optional(),
    /**
     * Conversation chain (docs/LLM.md "Conversation identity"): chain[i] = sha256 hex of
     * chain[i-1] + "\n" + role + "\n" + text of message i, chain[-1] = sha256 hex of the provider name;
     * one entry per request message as extracted for capture. Sent even with content capture off.
     */
    chain: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(LLM_MAX_CHAIN).nullable().optional(),
    /** The chain continued by the reply: sha256 hex of chain[last] + "\nassistant\n" + output text; null without output. */
    replyHash: z.string().regex(/^[0-9a-f]{64}$/).nullable().optional(),
    /** True only when counted by the client (tokenizer or character heuristic), not reported by the provider. */
    usageEstimated: z.boolean(),
    /**
     * Gemini grounding with Google Search: the number of `groundingMetadata.webSearchQueries` in the response
     * (summed over candidates; for a stream, over chunks). Absent when the response carries no grounding metadata.
     */
    groundingQueries: z.number().int().nonnegative().max(10_000).optional(),
    /** Given by the user through track() or options. */
    conversationId: z.string().max(256).nullable(),
    /** sha256 hex of provider + "\n" + system prompt + "\n" + first user message (docs/LLM.md). */
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (sha256)').nullable(),
    tags: z.record(z.string(), z.string().max(1000)),
    /** Only when content capture is on (VIGILO_CAPTURE_CONTENT=0 turns it off). */
    messages: z.array(LlmMessage).nullable(),
    output: z.string().nullable(),
    sdk: z.object({ language: z.enum(['typescript', 'python']), name: z.string().max(100), version: z.string().max(50).nullable() })
  })
  .strict();
export type LlmCallEvent = z.infer<typeof LlmCallEvent>;

/**
 * A client's delivery counters (the Python client's heartbeat `llm.delivery`, the TypeScript client's batch `client`):
 * events it could not keep (past its disk bound) and why the last ones were dropped. Raw facts; src/core/llm/delivery.ts
 * decides what the user is told.
 */
export const LlmDeliveryFacts = z
  .object({
    /** Events dropped since the process started (counted, never sent). */
    dropped: z.number().int().nonnegative(),
    /** Why events were last dropped; null when none were. */
    lastDrop: z.string().max(500).nullable(),
    /** Events waiting in the process's memory. */
    pending: z.number().int().nonnegative().optional(),
    /** Events waiting on disk in the data dir's spool (every process's), null when it could not be read. */
    spooled: z.number().int().nonnegative().nullable().optional()
  })
  .strict();
export type LlmDeliveryFacts = z.infer<typeof LlmDeliveryFacts>;

export const LlmEventsBody = z
  .object({
    events: z.array(LlmCallEvent).max(LLM_MAX_EVENTS_PER_BATCH),
    /** The sending TypeScript client's delivery counters (it has no heartbeat); sent once it has dropped events. */
    client: LlmDeliveryFacts.extend({ id: z.string().min(1).max(100) }).strict().optional()
  })
  .strict();
export type LlmEventsBody = z.infer<typeof LlmEventsBody>;

export const BudgetState = z.object({
  /** True when a hard budget is configured and exhausted; clients that enabled the hard stop refuse the next call. */
  hardStop: z.boolean(),
  reason: z.string().nullable()
});
export type BudgetState = z.infer<typeof BudgetState>;

export const LlmEventsResponse = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  budget: BudgetState
});
export type LlmEventsResponse = z.infer<typeof LlmEventsResponse>;

/** Token counts after normalisation (src/core/llm/usage.ts). `inputTokens` includes cached and cache-write tokens. */
export const TokenCounts = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cachedInputTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number()
});
export type TokenCounts = z.infer<typeof TokenCounts>;

export const UnknownModelWarning = z.object({ provider: LlmProvider, model: z.string(), calls: z.number().int(), message: z.string() });

/**
 * A kernel's LLM facts, sent with its heartbeat (vigilo/llm/_census.py): the LLM SDKs it has loaded, and per SDK
 * the calls recorded and the calls that passed untracked (outside track(), on a client never wrapped).
 */
export const LlmKernelFacts = z
  .object({
    loaded: z.array(z.string().max(64)).max(32),
    tracked: z.record(z.string().max(64), z.number().int().nonnegative()),
    untracked: z.record(z.string().max(64), z.number().int().nonnegative()),
    /** The client's delivery counters (vigilo/llm/_delivery.py), once it has delivered or buffered events. */
    delivery: LlmDeliveryFacts.optional()
  })
  .strict();
export type LlmKernelFacts = z.infer<typeof LlmKernelFacts>;

/** "Untracked calls" (src/core/llm/untracked.ts): what to tell the user, and the one line that fixes it. */
export const UntrackedCallsView = z.object({
  calls: z.number().int(),
  bySdk: z.array(z.object({ sdk: z.string(), calls: z.number().int() })),
  kernels: z.array(z.string()),
  message: z.string(),
  fix: z.string(),
  /** SDKs loaded with no call seen at all (tracked or not): a hint, not said on its own. */
  silentSdks: z.array(z.string())
});
export type UntrackedCallsView = z.infer<typeof UntrackedCallsView>;

/** LLM calls the clients could not keep (src/core/llm/delivery.ts): per kernel or TypeScript client, with the reason. */
export const LostCallsView = z.object({
  /** Calls lost over all sources. */
  calls: z.number().int(),
  sources: z.array(
    z.object({
      kind: z.enum(['kernel', 'client']),
      id: z.string(),
      calls: z.number().int(),
      reason: z.string().nullable(),
      /** "N LLM calls from kernel K were not recorded: <reason>. <what to do>" */
      message: z.string()
    })
  ),
  /** Short, for a row: "N calls lost: <reason>". */
  summary: z.string()
});
export type LostCallsView = z.infer<typeof LostCallsView>;

export const LlmUsageResponse = z.object({
  since: z.string(),
  calls: z.number().int(),
  errors: z.number().int(),
  tokens: TokenCounts,
  /** USD for the calls whose model has a price; null when none has. */
  costUsd: z.number().nullable(),
  /** Calls whose cost is unknown (model not in the pricing table). */
  unpricedCalls: z.number().int(),
  estimatedCalls: z.number().int(),
  byProvider: z.array(z.object({ provider: LlmProvider, calls: z.number().int(), costUsd: z.number().nullable() })),
  warnings: z.array(UnknownModelWarning),
  /** LLM calls the live kernels saw pass untracked; null when there are none. */
  untracked: UntrackedCallsView.nullable().optional(),
  /** LLM calls the clients dropped before the sidecar stored them (past their buffer bound); null when none. */
  lost: LostCallsView.nullable().optional()
});
export type LlmUsageResponse = z.infer<typeof LlmUsageResponse>;

export const LlmCallView = z.object({
  id: z.string(),
  provider: LlmProvider,
  operation: z.string(),
  model: z.string().nullable(),
  pricedModel: z.string().nullable(),
  startedAt: z.string(),
  ttftMs: z.number().nullable(),
  latencyMs: z.number(),
  stream: z.boolean(),
  status: z.enum(['ok', 'error']),
  errorClass: z.string().nullable(),
  httpStatus: z.number().nullable(),
  tokens: TokenCounts.nullable(),
  usageEstimated: z.boolean(),
  costUsd: z.number().nullable(),
  /** Context used by this call (prompt + completion) against the model's window, %. */
  contextPercent: z.number().nullable(),
  conversationId: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  sdk: z.string()
});
export type LlmCallView = z.infer<typeof LlmCallView>;

export const LlmCallsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50), conversationId: z.string().max(256).optional() }).strict();
export const LlmCallsResponse = z.object({ calls: z.array(LlmCallView) });

/** `costUsd` sums the priced calls; null when none of the bucket's calls could be priced (unknown model), never a false $0. */
export const CostBucket = z.object({ key: z.string(), calls: z.number().int(), costUsd: z.number().nullable(), unpricedCalls: z.number().int(), inputTokens: z.number(), outputTokens: z.number() });
export type CostBucket = z.infer<typeof CostBucket>;

/** One provider's spend on one UTC day (`key` is the day, YYYY-MM-DD); `costUsd` null when none of its calls could be priced. */
export const DayProviderBucket = CostBucket.extend({ provider: LlmProvider });
export type DayProviderBucket = z.infer<typeof DayProviderBucket>;

/** Days of `byDayProvider` at most (the panel's chart), whatever `days` asks. */
export const LLM_COST_CHART_DAYS = 14;

export const LlmCostQuery = z.object({ days: z.coerce.number().int().min(1).max(3660).default(30) }).strict();

export const LlmCostResponse = z.object({
  days: z.number().int(),
  /** UTC calendar days and ISO weeks ("2026-W03"). */
  byDay: z.array(CostBucket),
  byWeek: z.array(CostBucket),
  byProvider: z.array(CostBucket),
  byModel: z.array(CostBucket),
  /** Day × provider over the last min(`days`, 14) UTC days, oldest day first, providers by name within a day. */
  byDayProvider: z.array(DayProviderBucket),
  /** Sum of the priced calls; null when there were calls and none could be priced. */
  totalUsd: z.number().nullable(),
  unpricedCalls: z.number().int(),
  warnings: z.array(UnknownModelWarning)
});
export type LlmCostResponse = z.infer<typeof LlmCostResponse>;

export const TrendView = z.object({
  /** Theil–Sen slope per message (ms or USD). */
  slopePerMessage: z.number().nullable(),
  /** Relative change over the conversation from the fitted line, e.g. 0.6 = +60 %. */
  relativeChange: z.number().nullable(),
  /** Mann–Kendall two-sided p-value. */
  pValue: z.number().nullable(),
  rising: z.boolean(),
  samples: z.number().int()
});
export type TrendView = z.infer<typeof TrendView>;

export const ConversationHealth = z.object({
  conversationId: z.string(),
  provider: LlmProvider,
  model: z.string().nullable(),
  calls: z.number().int(),
  firstAt: z.string(),
  lastAt: z.string(),
  costUsd: z.number().nullable(),
  context: z.object({
    usedTokens: z.number().nullable(),
    windowTokens: z.number().nullable(),
    percent: z.number().nullable(),
    /** Average growth of the prompt per exchange, tokens. */
    growthPerMessage: z.number().nullable(),
    messagesLeft: z.number().int().nullable(),
    text: z.string()
  }),
  latency: TrendView,
  costPerMessage: TrendView,
  errorRate: z.number(),
  score: z.number().int().min(0).max(100),
  status: z.enum(['healthy', 'watch', 'degrading']),
  reasons: z.array(z.string()),
  recommendations: z.array(z.string()),
  summaryAvailable: z.boolean(),
  /** The conversation this one forked from (same beginning, then a different turn), known for this sidecar run. */
  parent: z.object({ conversationId: z.string(), sharedMessages: z.number().int() }).nullable().optional()
});
export type ConversationHealth = z.infer<typeof ConversationHealth>;

export const LlmConversationsResponse = z.object({ conversations: z.array(ConversationHealth) });

export const SummaryQuery = z.object({ budgetTokens: z.coerce.number().int().min(50).max(100_000).default(800) }).strict();

export const LlmSummaryResponse = z.object({
  conversationId: z.string(),
  method: z.literal('extractive'),
  budgetTokens: z.number().int(),
  tokens: z.number().int(),
  /** False when message content was not captured: `text` then says so and holds no state. */
  hasContent: z.boolean(),
  sections: z.object({
    task: z.array(z.string()),
    decisions: z.array(z.string()),
    facts: z.array(z.string()),
    preferences: z.array(z.string()),
    openQuestions: z.array(z.string()),
    /** Files, URLs, identifiers and numbers named, as one comma-separated line. */
    artifacts: z.array(z.string())
  }),
  /** Ready to paste as the system message of a fresh conversation. */
  text: z.string()
});
export type LlmSummaryResponse = z.infer<typeof LlmSummaryResponse>;

export const LlmTranscriptResponse = z.object({
  conversationId: z.string(),
  /** The whole conversation as the last call saw it plus its answer; null when content was not captured. */
  messages: z.array(LlmMessage).nullable()
});
export type LlmTranscriptResponse = z.infer<typeof LlmTranscriptResponse>;

export const ServiceTierRates = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative(), cachedInput: z.number().nonnegative().nullable() });

export const PriceTier = z.object({
  aboveTokens: z.number().int().positive(),
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cachedInput: z.number().nonnegative().nullable(),
  cacheWrite: z.number().nonnegative().nullable(),
  cacheWrite1h: z.number().nonnegative().nullable(),
  inputAudio: z.number().nonnegative().nullable()
});
export type PriceTier = z.infer<typeof PriceTier>;

export const PriceEntry = z.object({
  provider: LlmProvider,
  /** USD per 1M tokens. */
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cachedInput: z.number().nonnegative().nullable(),
  cacheWrite: z.number().nonnegative().nullable(),
  contextWindow: z.number().int().positive().nullable(),
  maxOutput: z.number().int().positive().nullable(),
  /** Rates for prompts above 200K tokens where the provider charges more (older files; `tiers` supersedes it). */
  above200k: z.object({ input: z.number(), output: z.number(), cachedInput: z.number().nullable() }).nullable().optional(),
  /** Anthropic 1-hour cache writes (2× input); `cacheWrite` is the 5-minute (default) write. */
  cacheWrite1h: z.number().nonnegative().nullable().optional(),
  /** Audio input / cached audio input / audio output (OpenAI audio models, Gemini). Missing: the text rate. */
  inputAudio: z.number().nonnegative().nullable().optional(),
  cachedInputAudio: z.number().nonnegative().nullable().optional(),
  outputAudio: z.number().nonnegative().nullable().optional(),
  /** Long-context rates: a prompt above `aboveTokens` is billed whole at the tier's rates (missing field: the base rate). */
  tiers: z.array(PriceTier).optional(),
  /** Batch API rates (informational: Vigilo does not see batch jobs). */
  batch: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative(), cachedInput: z.number().nonnegative().nullable() }).nullable().optional(),
  /** Where the entry came from: the LiteLLM key ("gemini/gemini-2.5-pro"), "override", or the older snapshot. */
  from: z.string().max(300).optional(),
  /** Rates when the response says it was served at another service tier (Gemini `serviceTier`, Anthropic `service_tier`). */
  serviceTiers: z
    .object({ flex: ServiceTierRates.optional(), priority: ServiceTierRates.optional() })
    .optional(),
  /** Multipliers on every token rate, by what the usage says: Anthropic `inference_geo` ("us": 1.1), `speed` ("fast": 2). */
  multipliers: z.record(z.string(), z.number().positive()).optional(),
  /** USD per server-side web search request (Anthropic `server_tool_use.web_search_requests`). */
  webSearch: z.number().nonnegative().nullable().optional(),
  /**
   * Gemini grounding with Google Search: USD per grounded prompt (Gemini 2.x) or per search query the model ran
   * (Gemini 3), and the free allowance Google grants before billing starts. Billed only when the user says the
   * allowance is used up (`googleSearchGrounding: "billed"` in <dataDir>/pricing.json): Vigilo cannot see the
   * account's daily or monthly count.
   */
  grounding: z
    .object({ usd: z.number().nonnegative(), per: z.enum(['prompt', 'query']), freeAllowance: z.string().max(200).nullable() })
    .nullable()
    .optional()
});
export type PriceEntry = z.infer<typeof PriceEntry>;

export const PricingFile = z.object({
  /** The date the prices were taken (YYYY-MM-DD). */
  date: z.string(),
  source: z.string(),
  currency: z.literal('USD').default('USD'),
  unit: z.literal('per_1m_tokens').default('per_1m_tokens'),
  /** The LiteLLM release and file the table was generated from (scripts/gen-pricing.mjs). */
  litellm: z.object({ version: z.string(), file: z.string(), sha256: z.string() }).optional(),
  models: z.record(z.string(), PriceEntry)
});
export type PricingFile = z.infer<typeof PricingFile>;

/** `<dataDir>/pricing.json`: user overrides, partial entries merged over the table. */
export const PricingOverrides = z
  .object({
    models: z.record(z.string(), PriceEntry.partial().extend({ provider: LlmProvider.optional() })).default({}),
    /** A LiteLLM model_prices_and_context_window.json to import (file path or http(s) URL). */
    litellm: z.string().optional(),
    /**
     * Gemini grounding with Google Search: "free" (default) while the account is within Google's free allowance
     * (1,500 grounded prompts a day on Gemini 2.x, 5,000 queries a month on Gemini 3), "billed" once it is past it.
     */
    googleSearchGrounding: z.enum(['free', 'billed']).optional()
  })
  .strict();
export type PricingOverrides = z.infer<typeof PricingOverrides>;

export const LlmPricingResponse = z.object({
  date: z.string(),
  source: z.string(),
  models: z.record(z.string(), PriceEntry),
  overrides: z.array(z.string()),
  imported: z.object({ from: z.string(), models: z.number().int(), at: z.string().optional() }).nullable(),
  warnings: z.array(z.string()),
  /** The LiteLLM release the shipped table was generated from. */
  litellm: z.object({ version: z.string(), file: z.string(), sha256: z.string() }).optional(),
  /** Whether Gemini's Google Search grounding is billed (the user's setting in <dataDir>/pricing.json; default "free"). */
  googleSearchGrounding: z.enum(['free', 'billed']).optional()
});

export const PricingImportBody = z.object({ from: z.string().min(1).max(4096) }).strict();

/** POST /llm/pricing/update: fetch the current LiteLLM price file (default its public URL) and use it. */
export const PricingUpdateBody = z.object({ from: z.string().min(1).max(4096).optional() }).strict();

const PriceChange = z.object({ model: z.string(), before: z.object({ input: z.number(), output: z.number() }), after: z.object({ input: z.number(), output: z.number() }) });

export const PricingUpdateResponse = z.object({
  from: z.string(),
  fetchedAt: z.string(),
  sha256: z.string(),
  /** Priced chat models of these providers in the new file. */
  models: z.number().int(),
  added: z.array(z.string()),
  /** In the table before, not in the new file: still priced from the shipped table. */
  removed: z.array(z.string()),
  repriced: z.array(PriceChange),
  /** The same in a few sentences (the CLI and %vigilo print it). */
  summary: z.string()
});
export type PricingUpdateResponse = z.infer<typeof PricingUpdateResponse>;

export const BudgetLimits = z
  .object({
    /** USD per sidecar session (this run). */
    sessionUsd: z.number().positive().nullable().optional(),
    /** USD per UTC day. */
    dayUsd: z.number().positive().nullable().optional(),
    /** USD per conversation. */
    conversationUsd: z.number().positive().nullable().optional(),
    /** When true, a client that enabled its hard stop refuses calls once a limit is reached. Off by default. */
    hardStop: z.boolean().optional()
  })
  .strict();
export type BudgetLimits = z.infer<typeof BudgetLimits>;

export const BudgetsResponse = z.object({
  limits: BudgetLimits,
  spent: z.object({ sessionUsd: z.number(), dayUsd: z.number() }),
  state: BudgetState,
  file: z.string()
});

/**
 * One LLM call as the sidecar keeps it: the event's facts plus what it decided at ingest (tokens, cost, the
 * pricing-table key, the conversation). The store's StoredCall adds its own bookkeeping; the OpenTelemetry
 * mapping (src/core/otelGenAi.ts) reads these fields.
 */
export interface LlmCallFacts {
  id: string;
  provider: LlmProvider;
  operation: string;
  requestModel: string | null;
  responseModel: string | null;
  /** Pricing-table key the call was priced with, null when unknown. */
  pricedModel: string | null;
  startedAtMs: number;
  ttftMs: number | null;
  latencyMs: number;
  stream: boolean;
  status: 'ok' | 'error';
  errorClass: string | null;
  httpStatus: number | null;
  tokens: TokenCounts | null;
  usageEstimated: boolean;
  costUsd: number | null;
  conversationKey: string | null;
  tags: Record<string, string>;
  messages: LlmMessage[] | null;
  output: string | null;
  sdk: string;
}
