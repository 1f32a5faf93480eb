import { z } from 'zod';
import type { LlmProvider, PriceEntry, PriceTier } from '../../shared/llm-api';
import { canonicalModelName } from './pricing';

/**
 * Reading LiteLLM's model_prices_and_context_window.json (BerriAI/litellm,
 * MIT): the chat models of OpenAI, Anthropic and Google, under their own
 * names, with every rate Vigilo bills (docs/LLM.md "Pricing").
 *
 * The same model sold through a cloud (Vertex "vertex_ai/claude-…@date",
 * Bedrock "[region.]anthropic.claude-…-v1:0", Azure "azure/gpt-…", gateways)
 * is read under the provider's name only when the provider's own entry is
 * missing: the provider's list price wins, then Vertex, then Bedrock's global
 * (not regional: +10 %) id, then Azure, then gateways.
 */

const price = z.number().finite().nonnegative();
/** The fields read from one LiteLLM entry; anything else in it is ignored. */
export const LiteLLMEntry = z
  .object({
    litellm_provider: z.string().optional(),
    mode: z.string().optional(),
    input_cost_per_token: price.optional(),
    output_cost_per_token: price.optional(),
    cache_read_input_token_cost: price.optional(),
    cache_creation_input_token_cost: price.optional(),
    cache_creation_input_token_cost_above_1hr: price.optional(),
    input_cost_per_audio_token: price.optional(),
    cache_read_input_audio_token_cost: price.optional(),
    output_cost_per_audio_token: price.optional(),
    input_cost_per_token_batches: price.optional(),
    output_cost_per_token_batches: price.optional(),
    cache_read_input_token_cost_batches: price.optional(),
    max_input_tokens: z.number().optional(),
    max_tokens: z.number().optional(),
    max_output_tokens: z.number().optional(),
    input_cost_per_token_flex: price.optional(),
    output_cost_per_token_flex: price.optional(),
    cache_read_input_token_cost_flex: price.optional(),
    input_cost_per_token_priority: price.optional(),
    output_cost_per_token_priority: price.optional(),
    cache_read_input_token_cost_priority: price.optional(),
    provider_specific_entry: z.record(z.string(), z.number().positive()).optional(),
    search_context_cost_per_query: z.record(z.string(), price.nullable()).optional(),
    web_search_billing_unit: z.string().optional(),
    search_free_requests: z.object({ count: z.number().optional(), period: z.string().optional() }).passthrough().optional()
  })
  .passthrough();

/** A source of one provider's models in the file, and how much its entry is trusted for the provider's own name. */
interface Channel {
  provider: LlmProvider;
  rank: number;
  label: string;
}

/** `litellm_provider` → channel; the key decides between Bedrock's global and regional ids. */
function channelOf(litellmProvider: string, key: string): Channel | null {
  switch (litellmProvider) {
    case 'openai':
      return { provider: 'openai', rank: 10, label: 'openai' };
    case 'anthropic':
      return { provider: 'anthropic', rank: 10, label: 'anthropic' };
    case 'gemini':
      return { provider: 'google', rank: 10, label: 'gemini' };
    case 'vertex_ai-language-models':
      return { provider: 'google', rank: 6, label: 'vertex' };
    case 'vertex_ai-anthropic_models':
      return { provider: 'anthropic', rank: 6, label: 'vertex' };
    case 'bedrock':
    case 'bedrock_converse': {
      if (!/(^|\/|\.)anthropic\.claude-/.test(key) || key.includes('/')) {
        return null;
      }
      const regional = /^(us|eu|apac|au|jp|ca|us-gov)\./.test(key);
      return { provider: 'anthropic', rank: regional ? 1 : 5, label: regional ? 'bedrock-regional' : 'bedrock' };
    }
    case 'azure':
      return key.startsWith('azure/') && key.split('/').length === 2 && /^azure\/(gpt-|o\d|chatgpt-)/.test(key) ? { provider: 'openai', rank: 3, label: 'azure' } : null;
    case 'openrouter':
    case 'vercel_ai_gateway': {
      const m = /^(?:openrouter|vercel_ai_gateway)\/(openai|anthropic|google)\//.exec(key);
      return m ? { provider: m[1] === 'google' ? 'google' : (m[1] as LlmProvider), rank: 2, label: litellmProvider } : null;
    }
    default:
      return null;
  }
}

/** Per-token USD → per-1M USD, without float noise (1.0000000000000002e-7 → 0.1). */
export function perMillion(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v * 1e12) / 1e6 : null;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

/** "input_cost_per_token_above_200k_tokens" style keys → tiers (the 1h cache write and audio rates per tier too). */
function tiersOf(e: Record<string, unknown>): PriceTier[] {
  const sizes = new Set<number>();
  for (const key of Object.keys(e)) {
    const m = /^input_cost_per_token_above_(\d+)k_tokens$/.exec(key);
    if (m) {
      sizes.add(Number(m[1]));
    }
  }
  const tiers: PriceTier[] = [];
  for (const k of [...sizes].sort((a, b) => a - b)) {
    const input = perMillion(e[`input_cost_per_token_above_${k}k_tokens`]);
    const output = perMillion(e[`output_cost_per_token_above_${k}k_tokens`]);
    if (input === null || output === null) {
      continue;
    }
    tiers.push({
      aboveTokens: k * 1000,
      input,
      output,
      cachedInput: perMillion(e[`cache_read_input_token_cost_above_${k}k_tokens`]),
      cacheWrite: perMillion(e[`cache_creation_input_token_cost_above_${k}k_tokens`]),
      cacheWrite1h: perMillion(e[`cache_creation_input_token_cost_above_1hr_above_${k}k_tokens`]),
      inputAudio: perMillion(e[`input_cost_per_audio_token_above_${k}k_tokens`])
    });
  }
  return tiers;
}

/** One LiteLLM entry as a Vigilo price entry. */
export function entryFromLiteLLM(provider: LlmProvider, key: string, e: z.infer<typeof LiteLLMEntry>): PriceEntry | null {
  const input = perMillion(e.input_cost_per_token);
  const output = perMillion(e.output_cost_per_token);
  if (input === null || output === null) {
    return null;
  }
  const batchIn = perMillion(e.input_cost_per_token_batches);
  const batchOut = perMillion(e.output_cost_per_token_batches);
  const tiers = tiersOf(e);
  const entry: PriceEntry = {
    provider,
    input,
    output,
    cachedInput: perMillion(e.cache_read_input_token_cost),
    cacheWrite: perMillion(e.cache_creation_input_token_cost),
    contextWindow: positiveInt(e.max_input_tokens) ?? positiveInt(e.max_tokens),
    maxOutput: positiveInt(e.max_output_tokens),
    from: key
  };
  const optional: Partial<PriceEntry> = {
    cacheWrite1h: perMillion(e.cache_creation_input_token_cost_above_1hr),
    inputAudio: perMillion(e.input_cost_per_audio_token),
    cachedInputAudio: perMillion(e.cache_read_input_audio_token_cost),
    outputAudio: perMillion(e.output_cost_per_audio_token),
    batch: batchIn !== null && batchOut !== null ? { input: batchIn, output: batchOut, cachedInput: perMillion(e.cache_read_input_token_cost_batches) } : null
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== null && v !== undefined) {
      (entry as Record<string, unknown>)[k] = v;
    }
  }
  if (tiers.length > 0) {
    entry.tiers = tiers;
  }
  const serviceTiers: NonNullable<PriceEntry['serviceTiers']> = {};
  for (const t of ['flex', 'priority'] as const) {
    const i = perMillion(e[`input_cost_per_token_${t}`]);
    const o = perMillion(e[`output_cost_per_token_${t}`]);
    if (i !== null && o !== null) {
      serviceTiers[t] = { input: i, output: o, cachedInput: perMillion(e[`cache_read_input_token_cost_${t}`]) };
    }
  }
  if (Object.keys(serviceTiers).length) {
    entry.serviceTiers = serviceTiers;
  }
  if (e.provider_specific_entry && Object.keys(e.provider_specific_entry).length) {
    entry.multipliers = e.provider_specific_entry;
  }
  // Anthropic bills web search per request ($10 / 1,000): LiteLLM's "medium" search-context price.
  const search = e.search_context_cost_per_query?.search_context_size_medium;
  if (provider === 'anthropic' && typeof search === 'number' && search > 0) {
    entry.webSearch = search;
  }
  // Gemini bills Google Search grounding per grounded prompt (2.x: $35 / 1,000) or, with
  // web_search_billing_unit "per_query", per search query the model ran (3.x: $14 / 1,000), past a free allowance.
  if (provider === 'google' && typeof search === 'number' && search > 0) {
    const free = e.search_free_requests;
    entry.grounding = {
      usd: search,
      per: e.web_search_billing_unit === 'per_query' ? 'query' : 'prompt',
      freeAllowance: free?.count ? `${free.count} ${e.web_search_billing_unit === 'per_query' ? 'queries' : 'prompts'} a ${free.period ?? 'day'}` : null
    };
  }
  return entry;
}

export interface LiteLLMImport {
  models: Record<string, PriceEntry>;
  /** Entries of these providers' chat models that were read (before merging cloud aliases). */
  considered: number;
  /** Entries left out: other providers, other modes, no price, invalid fields. */
  skipped: number;
  /** Entries of these providers whose fields did not validate (named, at most 20). */
  invalid: string[];
}

/**
 * Read a whole LiteLLM price file. Throws when it is not an object of model
 * entries; entries that do not validate are skipped and named.
 */
export function importLiteLLM(json: unknown): LiteLLMImport {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('not a LiteLLM price file: expected a JSON object of model entries');
  }
  const candidates = new Map<string, Array<{ score: number; entry: PriceEntry }>>();
  const invalid: string[] = [];
  let skipped = 0;
  let considered = 0;
  for (const [rawKey, raw] of Object.entries(json as Record<string, unknown>)) {
    if (rawKey === 'sample_spec' || !raw || typeof raw !== 'object' || Array.isArray(raw)) {
      skipped++;
      continue;
    }
    const key = rawKey.toLowerCase();
    const channel = channelOf(String((raw as Record<string, unknown>).litellm_provider ?? ''), key);
    const mode = (raw as Record<string, unknown>).mode ?? 'chat';
    if (!channel || (mode !== 'chat' && mode !== 'responses')) {
      skipped++;
      continue;
    }
    const parsed = LiteLLMEntry.safeParse(raw);
    if (!parsed.success) {
      skipped++;
      if (invalid.length < 20) {
        invalid.push(`${rawKey}: ${parsed.error.issues.map(i => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      }
      continue;
    }
    const name = canonicalModelName(key);
    if (!name || name.includes('/')) {
      skipped++;
      continue;
    }
    const entry = entryFromLiteLLM(channel.provider, rawKey, parsed.data);
    if (!entry) {
      skipped++;
      continue;
    }
    considered++;
    // The provider's own entry over a cloud's; among equals, the key spelled as the model (no prefix).
    const score = channel.rank * 4 + (key === name ? 2 : 0);
    const names: Array<[string, number]> = [[name, score]];
    // A dated Anthropic snapshot also prices its undated name, below any entry of that name itself.
    const undated = channel.provider === 'anthropic' ? name.replace(/-\d{8}$/, '') : name;
    if (undated !== name) {
      names.push([undated, score - 100]);
    }
    for (const [n, s] of names) {
      const list = candidates.get(n) ?? [];
      list.push({ score: s, entry });
      candidates.set(n, list);
    }
  }
  const models: Record<string, PriceEntry> = {};
  for (const [name, list] of candidates) {
    // Stable: among equal scores the first in the file wins.
    const ranked = list.map((c, i) => ({ ...c, i })).sort((a, b) => b.score - a.score || a.i - b.i);
    const best = { ...ranked[0].entry };
    // Same model at the same list price elsewhere: borrow the rates the best entry lacks (long-context tiers, 1-hour writes, audio).
    for (const { entry } of ranked.slice(1)) {
      if (entry.input !== best.input || entry.output !== best.output) {
        continue;
      }
      for (const field of ['tiers', 'cacheWrite1h', 'inputAudio', 'cachedInputAudio', 'outputAudio', 'cachedInput', 'cacheWrite', 'batch'] as const) {
        if ((best[field] === undefined || best[field] === null) && entry[field] !== undefined && entry[field] !== null) {
          (best as Record<string, unknown>)[field] = entry[field];
        }
      }
    }
    models[name] = best;
  }

  return { models, considered, skipped, invalid };
}

export interface PricingChange {
  model: string;
  before: { input: number; output: number };
  after: { input: number; output: number };
}

export interface PricingDiff {
  added: string[];
  removed: string[];
  repriced: PricingChange[];
}

/** What changed between two price tables (input/output list prices; the other rates follow them). */
export function diffPricing(before: Record<string, PriceEntry>, after: Record<string, PriceEntry>): PricingDiff {
  const added = Object.keys(after)
    .filter(k => !(k in before))
    .sort();
  const removed = Object.keys(before)
    .filter(k => !(k in after))
    .sort();
  const repriced: PricingChange[] = [];
  for (const k of Object.keys(after).sort()) {
    const a = before[k];
    const b = after[k];
    if (a && (a.input !== b.input || a.output !== b.output || a.cachedInput !== b.cachedInput || a.cacheWrite !== b.cacheWrite)) {
      repriced.push({ model: k, before: { input: a.input, output: a.output }, after: { input: b.input, output: b.output } });
    }
  }
  return { added, removed, repriced };
}
