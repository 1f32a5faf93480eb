import type { LlmProvider, PriceEntry, PriceTier, PricingFile, PricingOverrides, TokenCounts } from '../../shared/llm-api';
import type { BillablePart, NormalizedUsage } from './usage';

/** A pricing table in use: the shipped file, then imported LiteLLM entries, then user overrides. */
export interface PricingTable {
  date: string;
  source: string;
  models: Record<string, PriceEntry>;
  /** Model keys the user overrode. */
  overrides: string[];
  imported: { from: string; models: number; at?: string } | null;
  warnings: string[];
  /** The LiteLLM release the shipped file was generated from. */
  litellm?: { version: string; file: string; sha256: string };
  /** Gemini's Google Search grounding: "billed" once the user says the free allowance is used up (default "free"). */
  googleSearchGrounding?: 'free' | 'billed';
}

export function tableFromFile(file: PricingFile): PricingTable {
  return { date: file.date, source: file.source, models: { ...file.models }, overrides: [], imported: null, warnings: [], ...(file.litellm ? { litellm: file.litellm } : {}) };
}

const PROVIDER_PREFIXES = [
  'openai/',
  'anthropic/',
  'google/',
  'gemini/',
  'models/',
  'vertex_ai/',
  'publishers/google/models/',
  'publishers/anthropic/models/',
  'azure/',
  'bedrock/',
  'openrouter/',
  'vercel_ai_gateway/'
];

/**
 * Names a provider may return or a user may write for one priced model, most
 * specific first: "models/gemini-2.5-flash" → "gemini-2.5-flash";
 * "gpt-4o-2024-08-06" → "gpt-4o"; "claude-sonnet-4-5-20250929" → "claude-sonnet-4-5";
 * "gemini-2.0-flash-001" → "gemini-2.0-flash"; "claude-3-5-sonnet-latest" → "claude-3-5-sonnet";
 * Vertex "claude-3-5-sonnet@20240620" and Bedrock "us.anthropic.claude-sonnet-4-20250514-v1:0"
 * → "claude-3-5-sonnet-20240620", "claude-sonnet-4-20250514".
 */
export function modelNameCandidates(model: string): string[] {
  const out: string[] = [];
  const push = (name: string): void => {
    if (name && !out.includes(name)) {
      out.push(name);
    }
  };
  push(model.trim().toLowerCase());
  const name = canonicalModelName(model);
  push(name);
  // An OpenAI fine-tune "ft:gpt-4o-mini-2024-07-18:my-org:name:id" is billed at its base model's fine-tune rate.
  const ft = /^(ft:[^:]+):/.exec(name);
  if (ft) {
    push(ft[1]);
  }
  const suffixes = [
    /-\d{4}-\d{2}-\d{2}$/, // OpenAI dated snapshot
    /-\d{8}$/, // Anthropic dated snapshot
    /-\d{3}$/, // Gemini stable version
    /-latest$/,
    /-0$/, // claude-sonnet-4-0 → claude-sonnet-4
    /-preview-\d{2}-\d{4}$/, // gemini-2.5-flash-preview-09-2025
    /-preview-\d{2}-\d{2}$/
  ];
  for (const suffix of suffixes) {
    if (suffix.test(name)) {
      push(name.replace(suffix, ''));
    }
  }
  return out;
}

/** "openai/gpt-4o" → "gpt-4o", "models/gemini-2.5-pro" → "gemini-2.5-pro" (lowercased). */
export function stripProviderPrefix(model: string): string {
  let name = model.trim().toLowerCase();
  for (let changed = true; changed; ) {
    changed = false;
    for (const prefix of PROVIDER_PREFIXES) {
      if (name.startsWith(prefix)) {
        name = name.slice(prefix.length);
        changed = true;
      }
    }
  }
  return name;
}

/**
 * The provider's own model name behind a cloud's spelling of it:
 * Bedrock "[region.]anthropic.claude-…-v1:0" → "claude-…", Vertex "claude-…@20240620" → "claude-…-20240620"
 * ("@default" dropped), after the provider prefixes.
 */
export function canonicalModelName(model: string): string {
  let name = stripProviderPrefix(model);
  const bedrock = /^(?:[a-z-]+\.)?anthropic\.(claude-.+?)(?:-v\d+(?::\d+)?)?$/.exec(name);
  if (bedrock) {
    name = bedrock[1];
  }
  const at = /^(.+)@(.+)$/.exec(name);
  if (at) {
    name = at[2] === 'default' || at[2] === 'latest' ? at[1] : `${at[1]}-${at[2]}`;
  }
  return name;
}

export interface PriceLookup {
  /** The table key that matched. */
  key: string;
  entry: PriceEntry;
}

/** The price of `model`, or null when the table does not know it (then the cost is unknown, never $0). */
export function lookupPrice(table: PricingTable, provider: LlmProvider, model: string | null): PriceLookup | null {
  if (!model) {
    return null;
  }
  const candidates = modelNameCandidates(model);
  // The user's own price wins over a more specific name in the table ("gpt-4o-mini" overrides "gpt-4o-mini-2024-07-18").
  for (const candidate of table.overrides.length ? candidates : []) {
    const entry = table.models[candidate];
    if (entry && entry.provider === provider && table.overrides.includes(candidate)) {
      return { key: candidate, entry };
    }
  }
  for (const candidate of candidates) {
    const entry = table.models[candidate];
    if (entry && entry.provider === provider) {
      return { key: candidate, entry };
    }
  }
  return null;
}

/** The entry's long-context tiers (the older `above200k` field read as a 200K tier). */
export function priceTiers(entry: PriceEntry): PriceTier[] {
  if (entry.tiers && entry.tiers.length > 0) {
    return entry.tiers;
  }
  if (entry.above200k) {
    const a = entry.above200k;
    return [{ aboveTokens: 200_000, input: a.input, output: a.output, cachedInput: a.cachedInput, cacheWrite: null, cacheWrite1h: null, inputAudio: null }];
  }
  return [];
}

/**
 * Rates for one billed step: the highest long-context tier the prompt passes,
 * else the base rates; a flex/priority service tier the response names
 * replaces input, output and cache-read rates (a long-context rate is scaled by
 * the same ratio, as LiteLLM's file lists both only for some models).
 */
function ratesFor(entry: PriceEntry, promptTokens: number, serviceTier?: string, window?: number | null) {
  const base = baseRatesFor(entry, promptTokens, window);
  const st = serviceTier === 'flex' || serviceTier === 'priority' ? entry.serviceTiers?.[serviceTier] : undefined;
  if (!st || entry.input <= 0) {
    return base;
  }
  const ratio = st.input / entry.input;
  const long = base.input !== entry.input;
  return {
    ...base,
    input: long ? base.input * ratio : st.input,
    output: long ? base.output * (st.output / entry.output) : st.output,
    cachedInput: st.cachedInput ?? base.cachedInput * ratio,
    inputAudio: base.inputAudio * ratio
  };
}

function baseRatesFor(entry: PriceEntry, promptTokens: number, window?: number | null) {
  const tier = priceTiers(entry)
    // A tier the request's window cannot reach does not apply: a prompt count above it is a sum over several
    // sampling steps (Anthropic server tools re-read the context each step), not one long prompt.
    .filter(t => promptTokens > t.aboveTokens && (window == null || t.aboveTokens < window))
    .sort((a, b) => b.aboveTokens - a.aboveTokens)[0];
  const input = tier?.input ?? entry.input;
  const anthropic = entry.provider === 'anthropic';
  // Anthropic's published multipliers (pricing page): 5-minute write 1.25×, 1-hour write 2×, read 0.1× input.
  const cacheWrite = tier?.cacheWrite ?? (tier ? null : entry.cacheWrite) ?? (anthropic ? input * 1.25 : input);
  const cacheWrite1h = tier?.cacheWrite1h ?? (tier ? null : entry.cacheWrite1h) ?? (anthropic ? input * 2 : cacheWrite);
  const cachedInput = tier?.cachedInput ?? (tier ? null : entry.cachedInput) ?? (anthropic ? input * 0.1 : input);
  const inputAudio = tier?.inputAudio ?? entry.inputAudio ?? input;
  return {
    input,
    output: tier?.output ?? entry.output,
    cachedInput,
    cacheWrite,
    cacheWrite1h,
    inputAudio,
    cachedInputAudio: entry.cachedInputAudio ?? cachedInput,
    outputAudio: entry.outputAudio ?? tier?.output ?? entry.output
  };
}

/** USD for one billed step. */
export function partCost(entry: PriceEntry, part: BillablePart, serviceTier?: string, window?: number | null): number {
  const r = ratesFor(entry, part.promptTokens, serviceTier, window);
  return (
    (part.input * r.input +
      part.inputAudio * r.inputAudio +
      part.cachedInput * r.cachedInput +
      part.cachedInputAudio * r.cachedInputAudio +
      part.cacheWrite * r.cacheWrite +
      part.cacheWrite1h * r.cacheWrite1h +
      part.output * r.output +
      part.outputAudio * r.outputAudio) /
    1_000_000
  );
}

/**
 * USD for one call: the sum over its billed steps at the service tier the
 * response names, times the entry's multipliers the usage names (Anthropic
 * US-only inference, fast mode), plus server-side web searches (docs/LLM.md "Cost").
 * `window` is the request's context window (contextWindowFor): long-context
 * rates above it cannot apply.
 */
export function usageCost(entry: PriceEntry, usage: NormalizedUsage, window?: number | null): number {
  const b = usage.billing;
  const tokens = usage.parts.reduce((a, p) => a + partCost(entry, p, b?.serviceTier, window), 0);
  const multiplier = (b?.multipliers ?? []).reduce((m, key) => m * (entry.multipliers?.[key] ?? 1), 1);
  return tokens * multiplier + (b?.webSearchRequests ?? 0) * (entry.webSearch ?? 0);
}

/**
 * USD for Gemini's Google Search grounding on one call: nothing while the
 * account is within Google's free allowance (the default, `billing` "free"),
 * else the entry's price per grounded prompt (Gemini 2.x: one per call that
 * searched, however many queries) or per search query (Gemini 3).
 */
export function groundingCost(entry: PriceEntry, queries: number | undefined, billing: 'free' | 'billed' | undefined): number {
  const g = entry.grounding;
  if (billing !== 'billed' || !g || !queries || queries <= 0) {
    return 0;
  }
  return g.per === 'query' ? g.usd * queries : g.usd;
}

/**
 * USD for plain token counts (no per-step detail): uncached, cached, cache
 * writes (default duration) and output. Kept for callers that only have the
 * stored counts.
 */
export function callCost(entry: PriceEntry, tokens: TokenCounts): number {
  const uncached = Math.max(0, tokens.inputTokens - tokens.cachedInputTokens - tokens.cacheWriteTokens);
  return partCost(entry, {
    promptTokens: tokens.inputTokens,
    input: uncached,
    inputAudio: 0,
    cachedInput: tokens.cachedInputTokens,
    cachedInputAudio: 0,
    cacheWrite: tokens.cacheWriteTokens,
    cacheWrite1h: 0,
    output: tokens.outputTokens,
    outputAudio: 0
  });
}

/** Anthropic's 1M-token context beta (anthropic-beta: context-1m-2025-08-07). */
const CONTEXT_1M_BETA = /^context-1m-/;
const ONE_MILLION = 1_000_000;
/**
 * Models whose 200K window the context-1m beta raises to 1M (decision, docs/LLM.md: Claude Sonnet 4, the
 * model the beta was introduced for; LiteLLM prices its long-context rate). Other models keep their window
 * when the header is sent: Sonnet 4.5's table window is 200K, Opus 4.6 and later are 1M already.
 */
const CONTEXT_1M_MODELS = /^claude-sonnet-4(-20250514|-0)?$/;

/**
 * The context window a request really has: the table's, except that
 * Anthropic's 1M-token window is a beta the request opts into, with the
 * `context-1m-…` beta header, for the models that offer it.
 */
export function contextWindowFor(entry: PriceEntry, betas: readonly string[] | null | undefined, pricedKey?: string | null): number | null {
  const window = entry.contextWindow;
  if (entry.provider !== 'anthropic' || !window || window >= ONE_MILLION || !betas?.some(b => CONTEXT_1M_BETA.test(b.trim()))) {
    return window;
  }
  const key = pricedKey ?? entry.from ?? '';
  return CONTEXT_1M_MODELS.test(canonicalModelName(key)) ? ONE_MILLION : window;
}

/** Lay imported entries and then the user's overrides over `base`. Unpriceable overrides become warnings. */
export function applyPricing(
  base: PricingTable,
  imported: { from: string; models: Record<string, PriceEntry>; at?: string } | null,
  overrides: PricingOverrides | null
): PricingTable {
  const table: PricingTable = { ...base, models: { ...base.models }, overrides: [], imported: null, warnings: [...base.warnings] };
  if (overrides?.googleSearchGrounding) {
    table.googleSearchGrounding = overrides.googleSearchGrounding;
  }
  if (imported) {
    for (const [key, entry] of Object.entries(imported.models)) {
      // A shipped correction is the provider's own published price where LiteLLM has only a cloud's: it stays.
      if (!isCorrection(table.models[key])) {
        table.models[key] = entry;
      }
    }
    table.imported = { from: imported.from, models: Object.keys(imported.models).length, ...(imported.at ? { at: imported.at } : {}) };
  }
  for (const [rawKey, partial] of Object.entries(overrides?.models ?? {})) {
    const key = rawKey.trim().toLowerCase();
    const existing = table.models[key] ?? lookupAnyProvider(table, key);
    const merged = { ...(existing ?? {}), ...stripUndefined(partial) } as Partial<PriceEntry>;
    if (!merged.provider || typeof merged.input !== 'number' || typeof merged.output !== 'number') {
      table.warnings.push(`pricing.json: override "${rawKey}" needs provider, input and output (USD per 1M tokens) because the table does not know this model; ignored.`);
      continue;
    }
    table.models[key] = {
      ...merged,
      provider: merged.provider,
      input: merged.input,
      output: merged.output,
      cachedInput: merged.cachedInput ?? null,
      cacheWrite: merged.cacheWrite ?? null,
      contextWindow: merged.contextWindow ?? null,
      maxOutput: merged.maxOutput ?? null,
      from: 'override'
    };
    table.overrides.push(key);
  }
  return table;
}

/** A shipped entry from data/pricing-corrections.json (kept over imported LiteLLM entries). */
export function isCorrection(entry: PriceEntry | undefined): boolean {
  return !!entry?.from?.startsWith('correction:');
}

function lookupAnyProvider(table: PricingTable, model: string): PriceEntry | null {
  for (const candidate of modelNameCandidates(model)) {
    if (table.models[candidate]) {
      return table.models[candidate];
    }
  }
  return null;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
