import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PricingFile } from '../../shared/llm-api';
import shipped from '../../../data/pricing.json';
import { diffPricing, importLiteLLM } from './litellm';
import { applyPricing, callCost, contextWindowFor, lookupPrice, modelNameCandidates, tableFromFile } from './pricing';
import { normalizeUsage } from './usage';

/** The file data/pricing.json was generated from (litellm 1.110.2 wheel, test/fixtures/pricing/SOURCES.md). */
const FIXTURE = 'test/fixtures/pricing/litellm-1.110.2-model_prices.json.gz';
const table = tableFromFile(PricingFile.parse(shipped));

describe('model names', () => {
  it('prices dated snapshots and prefixed names like their model', () => {
    expect(lookupPrice(table, 'openai', 'gpt-4o-2024-11-20')?.entry.input).toBe(2.5);
    expect(lookupPrice(table, 'openai', 'openai/gpt-4o-mini-2024-07-18')?.entry.input).toBe(0.15);
    expect(lookupPrice(table, 'anthropic', 'claude-sonnet-4-5-20250929')?.entry.input).toBe(3);
    expect(lookupPrice(table, 'anthropic', 'claude-sonnet-4-0')?.key).toBe('claude-sonnet-4');
    // Cloud spellings of the provider's model.
    expect(lookupPrice(table, 'anthropic', 'us.anthropic.claude-sonnet-4-20250514-v1:0')?.key).toBe('claude-sonnet-4-20250514');
    expect(lookupPrice(table, 'anthropic', 'claude-3-5-sonnet@20240620')?.key).toBe('claude-3-5-sonnet-20240620');
    expect(lookupPrice(table, 'google', 'models/gemini-2.5-flash')?.key).toBe('gemini-2.5-flash');
    expect(lookupPrice(table, 'google', 'gemini-2.0-flash-001')?.key).toBe('gemini-2.0-flash');
  });

  it('keeps a dated snapshot that has its own price (gpt-4o-2024-05-13 is dearer than gpt-4o)', () => {
    const hit = lookupPrice(table, 'openai', 'gpt-4o-2024-05-13');
    expect(hit?.key).toBe('gpt-4o-2024-05-13');
    expect(hit?.entry.input).toBe(5);
  });

  it('does not price an unknown model, nor a known name under another provider', () => {
    expect(lookupPrice(table, 'openai', 'my-finetune-xyz')).toBeNull();
    expect(lookupPrice(table, 'anthropic', 'gpt-4o')).toBeNull();
    expect(lookupPrice(table, 'openai', null)).toBeNull();
  });

  it('lists candidates most specific first', () => {
    expect(modelNameCandidates('OpenAI/GPT-4o-2024-08-06')).toEqual(['openai/gpt-4o-2024-08-06', 'gpt-4o-2024-08-06', 'gpt-4o']);
  });

  it("prices an OpenAI fine-tune at its base model's fine-tune rate", () => {
    const hit = lookupPrice(table, 'openai', 'ft:gpt-4o-mini-2024-07-18:acme:support-bot:9abc12');
    expect(hit?.key).toBe('ft:gpt-4o-mini-2024-07-18');
    expect(hit?.entry.input).toBe(0.3);
  });

  it('prices the models the issue found unpriced', () => {
    for (const [provider, model] of [
      ['anthropic', 'claude-3-5-sonnet-20240620'],
      ['openai', 'gpt-5.6-sol'],
      ['anthropic', 'claude-sonnet-4-20250514'],
      ['google', 'gemini-2.5-flash']
    ] as const) {
      expect(lookupPrice(table, provider, model), model).not.toBeNull();
    }
  });
});

describe('context window follows the request', () => {
  it('gives claude-sonnet-4 1M only with the context-1m beta; Sonnet 4.5 keeps 200K; a 1M model keeps 1M', () => {
    const window = (model: string, betas: string[]) => {
      const hit = lookupPrice(table, 'anthropic', model)!;
      return contextWindowFor(hit.entry, betas, hit.key);
    };
    expect(window('claude-sonnet-4-20250514', [])).toBe(200_000);
    expect(window('claude-sonnet-4-20250514', ['context-1m-2025-08-07'])).toBe(1_000_000);
    expect(window('claude-sonnet-4-0', ['context-1m-2025-08-07'])).toBe(1_000_000);
    expect(window('claude-sonnet-4-20250514', ['prompt-caching-2024-07-31'])).toBe(200_000);
    expect(window('claude-sonnet-4-5-20250929', ['context-1m-2025-08-07'])).toBe(200_000);
    expect(window('claude-opus-4-6', [])).toBe(1_000_000);
  });
});

describe('cost', () => {
  it('prices an OpenAI call with cached input as computed by hand', () => {
    // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per 1M. 1200 prompt (1024 cached), 300 out.
    const tokens = normalizeUsage('openai', { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } })!;
    const cost = callCost(lookupPrice(table, 'openai', 'gpt-4o-mini')!.entry, tokens);
    expect(cost).toBeCloseTo((176 * 0.15 + 1024 * 0.075 + 300 * 0.6) / 1e6, 12);
  });

  it('prices Anthropic cache writes and cache reads separately', () => {
    // claude-sonnet-4-5: $3 in, $3.75 cache write, $0.30 cache read, $15 out.
    const tokens = normalizeUsage('anthropic', { input_tokens: 200, cache_creation_input_tokens: 1000, cache_read_input_tokens: 3000, output_tokens: 150 })!;
    expect(tokens.inputTokens).toBe(4200);
    expect(callCost(lookupPrice(table, 'anthropic', 'claude-sonnet-4-5')!.entry, tokens)).toBeCloseTo(0.0075, 12);
  });

  it('bills Gemini thinking tokens as output and cached content at the cached rate', () => {
    // gemini-2.5-flash: $0.30 in, $0.03 cached, $2.50 out. 5000 prompt (4000 cached), 400 + 600 thoughts.
    const tokens = normalizeUsage('google', { promptTokenCount: 5000, cachedContentTokenCount: 4000, candidatesTokenCount: 400, thoughtsTokenCount: 600 })!;
    expect(tokens).toMatchObject({ inputTokens: 5000, outputTokens: 1000, reasoningTokens: 600, cachedInputTokens: 4000 });
    expect(callCost(lookupPrice(table, 'google', 'gemini-2.5-flash')!.entry, tokens)).toBeCloseTo(0.00292, 12);
  });

  it('uses the long-prompt rates above 200K tokens', () => {
    // gemini-2.5-pro: $1.25 / $10, above 200K: $2.50 / $15.
    const entry = lookupPrice(table, 'google', 'gemini-2.5-pro')!.entry;
    expect(callCost(entry, { inputTokens: 300_000, outputTokens: 1000, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })).toBeCloseTo(0.75 + 0.015, 10);
    expect(callCost(entry, { inputTokens: 100_000, outputTokens: 1000, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })).toBeCloseTo(0.125 + 0.01, 10);
  });
});

describe('LiteLLM import', () => {
  const fixture = JSON.parse(gunzipSync(readFileSync(FIXTURE)).toString('utf8'));

  it('reads the real LiteLLM file into per-1M prices without float noise', () => {
    const { models } = importLiteLLM(fixture);
    expect(models['gpt-4.1-nano']).toMatchObject({ provider: 'openai', input: 0.1, output: 0.4, cachedInput: 0.025, contextWindow: 1047576 });
    expect(models['gemini-2.5-pro']).toMatchObject({ provider: 'google', input: 1.25, tiers: [{ aboveTokens: 200_000, input: 2.5, output: 15, cachedInput: 0.25 }] });
    expect(models['claude-haiku-4-5']).toMatchObject({ provider: 'anthropic', input: 1, output: 5, cacheWrite: 1.25, cacheWrite1h: 2, cachedInput: 0.1 });
    expect(models['gemini-2.5-flash']).toMatchObject({ input: 0.3, inputAudio: 1, cachedInputAudio: 0.1, batch: { input: 0.15, output: 1.25 } });
    expect(models['gpt-4o-audio-preview-2024-12-17']).toMatchObject({ input: 2.5, inputAudio: 40, outputAudio: 80 });
    expect(Object.keys(models).some(k => k.includes('/'))).toBe(false);
  });

  it('ships a table that agrees with its stated source for every model', () => {
    const { models } = importLiteLLM(fixture);
    const file = PricingFile.parse(shipped);
    expect(file.litellm?.version).toBe('1.110.2');
    expect(Object.keys(file.models).length).toBeGreaterThanOrEqual(200);
    for (const [key, entry] of Object.entries(file.models)) {
      if (entry.from?.startsWith('kept from') || entry.from?.startsWith('correction:')) {
        continue;
      }
      expect(entry, key).toEqual(models[key]);
    }
    for (const provider of ['openai', 'anthropic', 'google'] as const) {
      expect(Object.values(file.models).filter(m => m.provider === provider).length).toBeGreaterThanOrEqual(8);
    }
  });

  it('refuses something that is not a price file, and names an entry whose prices are not numbers', () => {
    expect(() => importLiteLLM([1, 2])).toThrow(/LiteLLM/);
    const r = importLiteLLM({ 'gpt-x': { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 'free', output_cost_per_token: 1e-6 } });
    expect(r.models).toEqual({});
    expect(r.invalid.join(' ')).toMatch(/gpt-x: input_cost_per_token/);
  });

  it('says what changed between two tables', () => {
    const before = { a: { provider: 'openai', input: 1, output: 2, cachedInput: null, cacheWrite: null, contextWindow: null, maxOutput: null }, b: { provider: 'openai', input: 1, output: 2, cachedInput: null, cacheWrite: null, contextWindow: null, maxOutput: null } } as const;
    const after = { a: { ...before.a, input: 1.5 }, c: before.b };
    expect(diffPricing(before, after)).toEqual({ added: ['c'], removed: ['b'], repriced: [{ model: 'a', before: { input: 1, output: 2 }, after: { input: 1.5, output: 2 } }] });
  });
});

describe('overrides', () => {
  it('lets the user change a price or add a model, and warns about an override it cannot use', () => {
    const t = applyPricing(table, null, {
      models: {
        'gpt-4o-mini': { input: 1 },
        'my-local-llama': { provider: 'openai', input: 0.5, output: 0.5, contextWindow: 8192 },
        'half-a-model': { input: 2 }
      }
    });
    expect(lookupPrice(t, 'openai', 'gpt-4o-mini-2024-07-18')?.entry).toMatchObject({ input: 1, output: 0.6 });
    expect(lookupPrice(t, 'openai', 'my-local-llama')?.entry.contextWindow).toBe(8192);
    expect(t.overrides).toEqual(['gpt-4o-mini', 'my-local-llama']);
    expect(t.warnings.join(' ')).toMatch(/half-a-model/);
  });
});

