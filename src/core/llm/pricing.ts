import type { LlmProvider, PriceEntry, PricingFile, PricingOverrides, TokenCounts } from '../../shared/llm-api';

/** A pricing table in use: the shipped file, then imported LiteLLM entries, then user overrides. */
export interface PricingTable {
  date: string;
  source: string;
  models: Record<string, PriceEntry>;
  /** Model keys the user overrode. */
  overrides: string[];
  imported: { from: string; models: number } | null;
  warnings: string[];
}

export function tableFromFile(file: PricingFile): PricingTable {
  return { date: file.date, source: file.source, models: { ...file.models }, overrides: [], imported: null, warnings: [] };
}

const PROVIDER_PREFIXES = ['openai/', 'anthropic/', 'google/', 'gemini/', 'models/', 'vertex_ai/', 'publishers/google/models/', 'azure/'];

/**
 * Names a provider may return or a user may write for one priced model, most
 * specific first: "models/gemini-2.5-flash" → "gemini-2.5-flash";
 * "gpt-4o-2024-08-06" → "gpt-4o"; "claude-sonnet-4-5-20250929" → "claude-sonnet-4-5";
 * "gemini-2.0-flash-001" → "gemini-2.0-flash"; "claude-3-5-sonnet-latest" → "claude-3-5-sonnet".
 */
export function modelNameCandidates(model: string): string[] {
  const out: string[] = [];
  const push = (name: string): void => {
    if (name && !out.includes(name)) {
      out.push(name);
    }
  };
  push(model.trim().toLowerCase());
  const name = stripProviderPrefix(model);
  push(name);
  const suffixes = [
    /-\d{4}-\d{2}-\d{2}$/, // OpenAI dated snapshot
    /-\d{8}$/, // Anthropic dated snapshot
    /-\d{3}$/, // Gemini stable version
    /-latest$/,
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
  for (const candidate of modelNameCandidates(model)) {
    const entry = table.models[candidate];
    if (entry && entry.provider === provider) {
      return { key: candidate, entry };
    }
  }
  return null;
}

const LONG_PROMPT_TOKENS = 200_000;

/**
 * USD for one call. Uncached input, cached (read) input, cache writes and
 * output are priced separately; a missing cached price falls back to the
 * input price, a missing cache-write price to the input price. Prompts above
 * 200K tokens use the long-prompt rates where the table has them.
 */
export function callCost(entry: PriceEntry, tokens: TokenCounts): number {
  const long = entry.above200k && tokens.inputTokens > LONG_PROMPT_TOKENS ? entry.above200k : null;
  const input = long ? long.input : entry.input;
  const output = long ? long.output : entry.output;
  const cached = (long ? long.cachedInput : null) ?? entry.cachedInput ?? entry.input;
  const cacheWrite = entry.cacheWrite ?? entry.input;
  const uncached = Math.max(0, tokens.inputTokens - tokens.cachedInputTokens - tokens.cacheWriteTokens);
  return (uncached * input + tokens.cachedInputTokens * cached + tokens.cacheWriteTokens * cacheWrite + tokens.outputTokens * output) / 1_000_000;
}

const LITELLM_PROVIDERS: Record<string, LlmProvider> = {
  openai: 'openai',
  text_completion_openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  'vertex_ai-language-models': 'google'
};

/** Per-token USD → per-1M USD, without float noise (1.0000000000000002e-7 → 0.1). */
function perMillion(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v * 1e12) / 1e6 : null;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

export interface LiteLLMImport {
  models: Record<string, PriceEntry>;
  skipped: number;
}

/**
 * Read LiteLLM's model_prices_and_context_window.json format: keep chat and
 * responses models of OpenAI, Anthropic and Google with an input and output
 * price; keys lose their provider prefix ("gemini/gemini-2.5-pro" →
 * "gemini-2.5-pro"; the Gemini API entry wins over the Vertex one).
 */
export function importLiteLLM(json: unknown): LiteLLMImport {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('not a LiteLLM price file: expected a JSON object of model entries');
  }
  const models: Record<string, PriceEntry> = {};
  const rank: Record<string, number> = {};
  let skipped = 0;
  for (const [rawKey, raw] of Object.entries(json as Record<string, unknown>)) {
    if (rawKey === 'sample_spec' || !raw || typeof raw !== 'object') {
      continue;
    }
    const e = raw as Record<string, unknown>;
    const provider = LITELLM_PROVIDERS[String(e.litellm_provider)];
    const mode = e.mode ?? 'chat';
    const input = perMillion(e.input_cost_per_token);
    const output = perMillion(e.output_cost_per_token);
    if (!provider || (mode !== 'chat' && mode !== 'responses') || input === null || output === null) {
      skipped++;
      continue;
    }
    const key = stripProviderPrefix(rawKey);
    if (key.includes('/') || key.startsWith('ft:')) {
      skipped++;
      continue;
    }
    // Prefer the provider's own API (gemini/...) over Vertex, and a plain key over a prefixed one.
    const score = (e.litellm_provider === 'vertex_ai-language-models' ? 0 : 2) + (rawKey.toLowerCase() === key ? 1 : 0);
    if (rank[key] !== undefined && rank[key] >= score) {
      continue;
    }
    rank[key] = score;
    const longInput = perMillion(e.input_cost_per_token_above_200k_tokens);
    const longOutput = perMillion(e.output_cost_per_token_above_200k_tokens);
    models[key] = {
      provider,
      input,
      output,
      cachedInput: perMillion(e.cache_read_input_token_cost),
      cacheWrite: perMillion(e.cache_creation_input_token_cost),
      contextWindow: positiveInt(e.max_input_tokens) ?? positiveInt(e.max_tokens),
      maxOutput: positiveInt(e.max_output_tokens),
      above200k:
        longInput !== null && longOutput !== null
          ? { input: longInput, output: longOutput, cachedInput: perMillion(e.cache_read_input_token_cost_above_200k_tokens) }
          : null
    };
  }
  return { models, skipped };
}

/** Lay imported entries and then the user's overrides over `base`. Unpriceable overrides become warnings. */
export function applyPricing(
  base: PricingTable,
  imported: { from: string; models: Record<string, PriceEntry> } | null,
  overrides: PricingOverrides | null
): PricingTable {
  const table: PricingTable = { ...base, models: { ...base.models }, overrides: [], imported: null, warnings: [...base.warnings] };
  if (imported) {
    Object.assign(table.models, imported.models);
    table.imported = { from: imported.from, models: Object.keys(imported.models).length };
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
      provider: merged.provider,
      input: merged.input,
      output: merged.output,
      cachedInput: merged.cachedInput ?? null,
      cacheWrite: merged.cacheWrite ?? null,
      contextWindow: merged.contextWindow ?? null,
      maxOutput: merged.maxOutput ?? null,
      above200k: merged.above200k ?? null
    };
    table.overrides.push(key);
  }
  return table;
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
