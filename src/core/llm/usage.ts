import type { LlmProvider, TokenCounts } from '../../shared/llm-api';

/**
 * The one place where each provider's own usage object becomes token counts
 * and billable quantities. The wrappers send the provider's objects as they
 * are (docs/LLM.md "Usage normalisation" lists every field read here and why).
 *
 * `inputTokens` is always the whole prompt (uncached + cached + cache-write,
 * audio included), summed over every billed step, so the bill and the totals
 * agree; `parts` keeps each billed step (Anthropic compaction iterations)
 * apart because a long-context rate applies per step.
 */

/** One billed sampling step, split by what each token costs. Every field is a token count. */
export interface BillablePart {
  /** The prompt size that decides a long-context rate (whole prompt of this step). */
  promptTokens: number;
  /** Uncached text/image/video input. */
  input: number;
  /** Uncached audio input (Gemini, OpenAI audio models): priced at the audio rate where the table has one. */
  inputAudio: number;
  /** Cache reads (text). */
  cachedInput: number;
  /** Cache reads of audio (Gemini). */
  cachedInputAudio: number;
  /** Cache writes at the default duration (Anthropic 5 minutes; OpenAI `cache_write_tokens`). */
  cacheWrite: number;
  /** Anthropic 1-hour cache writes (billed 2× input instead of 1.25×). */
  cacheWrite1h: number;
  /** Output text, reasoning/thinking included (billed as output by every provider). */
  output: number;
  /** Audio output (OpenAI audio, Gemini native audio). */
  outputAudio: number;
}

export interface NormalizedUsage {
  tokens: TokenCounts;
  parts: BillablePart[];
  /** What else the usage says that changes the bill (absent when nothing). */
  billing?: {
    /** Service tier the response was served at ("priority", "flex"; "standard" is left out). */
    serviceTier?: string;
    /** Anthropic `inference_geo` other than global ("us"), and `speed` ("fast"): keys of the entry's `multipliers`. */
    multipliers?: string[];
    /** Anthropic `server_tool_use.web_search_requests`. */
    webSearchRequests?: number;
  };
}

export interface UsageEvent {
  type: string;
  usage: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/**
 * Merge Anthropic stream usage. Every count in `message_start` and
 * `message_delta` is cumulative for the message (Anthropic streaming docs:
 * "The token counts shown in the usage field of the message_delta event are
 * cumulative"), so a count never goes down: each numeric field keeps the
 * largest value seen. A later `cache_read_input_tokens: 0` or a missing field
 * therefore cannot erase what message_start reported, and a larger later
 * count (server tools, compaction) wins. Nested objects (cache_creation,
 * server_tool_use) merge the same way; arrays (iterations) and strings
 * (service_tier) take the latest non-empty value.
 */
export function mergeCumulativeUsage(events: readonly Obj[]): Obj {
  const merged: Obj = {};
  for (const usage of events) {
    mergeInto(merged, usage);
  }
  return merged;
}

function mergeInto(target: Obj, source: Obj): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === null || value === undefined) {
      continue;
    }
    const prev = target[key];
    if (typeof value === 'number') {
      target[key] = typeof prev === 'number' ? Math.max(prev, value) : value;
    } else if (Array.isArray(value)) {
      if (value.length > 0 || !Array.isArray(prev)) {
        target[key] = value;
      }
    } else if (typeof value === 'object') {
      const next = { ...obj(prev) };
      mergeInto(next, value as Obj);
      target[key] = next;
    } else {
      target[key] = value;
    }
  }
}

function emptyPart(): BillablePart {
  return { promptTokens: 0, input: 0, inputAudio: 0, cachedInput: 0, cachedInputAudio: 0, cacheWrite: 0, cacheWrite1h: 0, output: 0, outputAudio: 0 };
}

function totals(parts: BillablePart[], reasoningTokens: number): TokenCounts {
  const t: TokenCounts = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens };
  for (const p of parts) {
    t.cachedInputTokens += p.cachedInput + p.cachedInputAudio;
    t.cacheWriteTokens += p.cacheWrite + p.cacheWrite1h;
    t.inputTokens += p.input + p.inputAudio + p.cachedInput + p.cachedInputAudio + p.cacheWrite + p.cacheWrite1h;
    t.outputTokens += p.output + p.outputAudio;
  }
  return t;
}

/** One Anthropic usage object (top level or one `iterations` entry) as a billed step. */
function anthropicPart(u: Obj): BillablePart {
  const creation = obj(u.cache_creation);
  const oneHour = n(creation.ephemeral_1h_input_tokens);
  const fiveMin = n(creation.ephemeral_5m_input_tokens);
  // cache_creation_input_tokens is the total of both durations; older responses have only it.
  const writes = Math.max(n(u.cache_creation_input_tokens), oneHour + fiveMin);
  const read = n(u.cache_read_input_tokens);
  const input = n(u.input_tokens);
  return {
    ...emptyPart(),
    promptTokens: input + read + writes,
    input,
    cachedInput: read,
    cacheWrite: writes - oneHour,
    cacheWrite1h: oneHour,
    output: n(u.output_tokens)
  };
}

/**
 * Anthropic: `input_tokens` excludes cache reads and writes; thinking is
 * counted in `output_tokens` and itemised in `output_tokens_details`. With compaction
 * (`usage.iterations`), each iteration is a separately billed sampling step
 * and the top-level counts cover only the last ("message") one: the bill is
 * the sum over `iterations` (Anthropic compaction docs).
 */
function anthropic(usage: Obj): NormalizedUsage {
  const iterations = Array.isArray(usage.iterations) ? usage.iterations.map(obj).filter(it => Object.keys(it).length > 0) : [];
  const parts = iterations.length > 0 ? iterations.map(anthropicPart) : [anthropicPart(usage)];
  const multipliers: string[] = [];
  const geo = typeof usage.inference_geo === 'string' ? usage.inference_geo.toLowerCase() : '';
  if (geo && geo !== 'global' && geo !== 'not_available') {
    multipliers.push(geo);
  }
  if (usage.speed === 'fast') {
    multipliers.push('fast');
  }
  // Extended thinking: `output_tokens_details.thinking_tokens` is the part of
  // `output_tokens` spent thinking (billed as output, already in the count).
  const output = parts.reduce((a, p) => a + p.output, 0);
  const thinking = Math.min(output, n(obj(usage.output_tokens_details).thinking_tokens));
  return withBilling({ tokens: totals(parts, thinking), parts }, tierOf(usage.service_tier), multipliers, n(obj(usage.server_tool_use).web_search_requests));
}

function tierOf(v: unknown): string | undefined {
  const t = typeof v === 'string' ? v.toLowerCase() : '';
  return t === 'priority' || t === 'flex' ? t : undefined;
}

function withBilling(u: NormalizedUsage, serviceTier: string | undefined, multipliers: string[], webSearchRequests: number): NormalizedUsage {
  const billing: NonNullable<NormalizedUsage['billing']> = {};
  if (serviceTier) billing.serviceTier = serviceTier;
  if (multipliers.length) billing.multipliers = multipliers;
  if (webSearchRequests > 0) billing.webSearchRequests = webSearchRequests;
  return Object.keys(billing).length ? { ...u, billing } : u;
}

/**
 * OpenAI chat (`prompt_tokens`, `prompt_tokens_details`, `completion_tokens`,
 * `completion_tokens_details`) and responses (`input_tokens`,
 * `input_tokens_details`, `output_tokens`, `output_tokens_details`). The
 * prompt count includes cached, cache-write and audio tokens; the completion
 * count includes reasoning and audio tokens (and rejected prediction tokens,
 * which are billed as output).
 */
function openai(usage: Obj): NormalizedUsage {
  const chat = 'prompt_tokens' in usage || 'completion_tokens' in usage;
  const prompt = n(chat ? usage.prompt_tokens : usage.input_tokens);
  const inDetails = obj(chat ? usage.prompt_tokens_details : usage.input_tokens_details);
  const completion = n(chat ? usage.completion_tokens : usage.output_tokens);
  const outDetails = obj(chat ? usage.completion_tokens_details : usage.output_tokens_details);
  const cached = Math.min(prompt, n(inDetails.cached_tokens));
  const writes = Math.min(prompt - cached, n(inDetails.cache_write_tokens));
  const uncached = prompt - cached - writes;
  const audioIn = Math.min(uncached, n(inDetails.audio_tokens));
  const audioOut = Math.min(completion, n(outDetails.audio_tokens));
  const part: BillablePart = {
    ...emptyPart(),
    promptTokens: prompt,
    input: uncached - audioIn,
    inputAudio: audioIn,
    cachedInput: cached,
    cacheWrite: writes,
    output: completion - audioOut,
    outputAudio: audioOut
  };
  return { tokens: totals([part], Math.min(completion, n(outDetails.reasoning_tokens))), parts: [part] };
}

function modalityCount(details: unknown, modality: string): number {
  if (!Array.isArray(details)) {
    return 0;
  }
  return details.map(obj).reduce((a, d) => a + (String(d.modality).toUpperCase() === modality ? n(d.tokenCount ?? d.token_count) : 0), 0);
}

/**
 * Gemini `usageMetadata` (camelCase on the wire; the Python SDK's snake_case
 * names are read too). `promptTokenCount` includes `cachedContentTokenCount`;
 * `promptTokensDetails` / `cacheTokensDetails` split them per modality and
 * AUDIO has its own rate. `toolUsePromptTokenCount` (results of built-in
 * tools fed back to the model) is not part of `promptTokenCount` and is
 * billed as input at the text rate. `thoughtsTokenCount` is billed as output
 * and is not part of `candidatesTokenCount`.
 */
function google(usage: Obj): NormalizedUsage {
  const g = (camel: string, snake: string): unknown => usage[camel] ?? usage[snake];
  const prompt = n(g('promptTokenCount', 'prompt_token_count'));
  const cached = Math.min(prompt, n(g('cachedContentTokenCount', 'cached_content_token_count')));
  const toolUse = n(g('toolUsePromptTokenCount', 'tool_use_prompt_token_count'));
  const candidates = n(g('candidatesTokenCount', 'candidates_token_count'));
  // google.generativeai (the legacy Python SDK) drops thoughtsTokenCount, but its totalTokenCount still counts the
  // thoughts (total = prompt + tool use + candidates + thoughts): then the rest of the total is the thoughts.
  const reportedThoughts = g('thoughtsTokenCount', 'thoughts_token_count');
  const thoughts =
    reportedThoughts !== undefined ? n(reportedThoughts) : Math.max(0, n(g('totalTokenCount', 'total_token_count')) - prompt - toolUse - candidates);
  const audioAll = modalityCount(g('promptTokensDetails', 'prompt_tokens_details'), 'AUDIO');
  const audioCached = Math.min(cached, modalityCount(g('cacheTokensDetails', 'cache_tokens_details'), 'AUDIO'));
  const audioUncached = Math.max(0, Math.min(prompt - cached, audioAll - audioCached));
  const audioOut = Math.min(candidates, modalityCount(g('candidatesTokensDetails', 'candidates_tokens_details'), 'AUDIO'));
  const part: BillablePart = {
    ...emptyPart(),
    promptTokens: prompt,
    input: prompt - cached - audioUncached + toolUse,
    inputAudio: audioUncached,
    cachedInput: cached - audioCached,
    cachedInputAudio: audioCached,
    output: candidates - audioOut + thoughts,
    outputAudio: audioOut
  };
  return withBilling({ tokens: totals([part], thoughts), parts: [part] }, tierOf(g('serviceTier', 'service_tier')), [], 0);
}

/**
 * Read one call's usage: the provider's usage object, or, for streams that
 * report usage in several events (`usageEvents`), those events merged.
 */
export function readUsage(provider: LlmProvider, usage: Obj | null, usageEvents?: readonly UsageEvent[] | null): NormalizedUsage | null {
  let source = usage;
  if (usageEvents && usageEvents.length > 0) {
    source = mergeCumulativeUsage([...(usage ? [usage] : []), ...usageEvents.map(e => e.usage)]);
  }
  if (!source) {
    return null;
  }
  switch (provider) {
    case 'openai':
      return openai(source);
    case 'anthropic':
      return anthropic(source);
    case 'google':
      return google(source);
  }
}

/** Token counts only (the stored view). */
export function normalizeUsage(provider: LlmProvider, usage: Obj | null, usageEvents?: readonly UsageEvent[] | null): TokenCounts | null {
  return readUsage(provider, usage, usageEvents)?.tokens ?? null;
}

export const ZERO_TOKENS: TokenCounts = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
