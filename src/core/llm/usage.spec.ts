import { describe, expect, it } from 'vitest';
import { PricingFile } from '../../shared/llm-api';
import shipped from '../../../data/pricing.json';
import { lookupPrice, tableFromFile, usageCost } from './pricing';
import { mergeCumulativeUsage, readUsage } from './usage';

const table = tableFromFile(PricingFile.parse(shipped));
const price = (provider: 'openai' | 'anthropic' | 'google', model: string) => lookupPrice(table, provider, model)!.entry;

describe('Anthropic extended thinking', () => {
  it('reads output_tokens_details.thinking_tokens as reasoning, already inside output_tokens (cost unchanged)', () => {
    const usage = { input_tokens: 2, cache_creation_input_tokens: 4016, cache_read_input_tokens: 6157, output_tokens: 137, output_tokens_details: { thinking_tokens: 11 } };
    const u = readUsage('anthropic', usage)!;
    expect(u.tokens).toMatchObject({ outputTokens: 137, reasoningTokens: 11 });
    const without = readUsage('anthropic', { ...usage, output_tokens_details: undefined })!;
    expect(usageCost(price('anthropic', 'claude-sonnet-4-5'), u)).toBe(usageCost(price('anthropic', 'claude-sonnet-4-5'), without));
  });

  it('takes the thinking count from the stream’s message_delta, and never more than the output', () => {
    const events = [
      { type: 'message_start', usage: { input_tokens: 12, output_tokens: 1 } },
      { type: 'message_delta', usage: { output_tokens: 9, output_tokens_details: { thinking_tokens: 7 } } }
    ];
    expect(readUsage('anthropic', events[0].usage, events)!.tokens.reasoningTokens).toBe(7);
    expect(readUsage('anthropic', { input_tokens: 1, output_tokens: 3, output_tokens_details: { thinking_tokens: 50 } })!.tokens.reasoningTokens).toBe(3);
  });
});

describe('Anthropic stream usage', () => {
  it('keeps message_start cache reads when message_delta says 0 (counts are cumulative)', () => {
    const events = [
      { type: 'message_start', usage: { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 55_096, output_tokens: 1 } },
      { type: 'message_delta', usage: { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 430 } }
    ];
    const u = readUsage('anthropic', events[0].usage, events)!;
    expect(u.tokens).toMatchObject({ inputTokens: 55_108, cachedInputTokens: 55_096, outputTokens: 430 });
    // claude-sonnet-4-5: $3 in, $0.30 cache read, $15 out per 1M.
    expect(usageCost(price('anthropic', 'claude-sonnet-4-5'), u)).toBeCloseTo((12 * 3 + 55_096 * 0.3 + 430 * 15) / 1e6, 12);
  });

  it('takes a larger later count (server tools) and ignores nulls', () => {
    const merged = mergeCumulativeUsage([
      { input_tokens: 100, output_tokens: 1, server_tool_use: { web_search_requests: 0 } },
      { input_tokens: 2500, output_tokens: 80, cache_read_input_tokens: null, server_tool_use: { web_search_requests: 1 } }
    ]);
    expect(merged).toEqual({ input_tokens: 2500, output_tokens: 80, server_tool_use: { web_search_requests: 1 } });
  });
});

describe('Anthropic compaction (usage.iterations)', () => {
  it('bills every iteration, not only the top-level (last) one', () => {
    // Anthropic's compaction example: top level 23,000 in / 1,000 out; the compaction step read 180,000 and wrote 3,500.
    const usage = {
      input_tokens: 23_000,
      output_tokens: 1000,
      iterations: [
        { type: 'compaction', input_tokens: 180_000, output_tokens: 3500 },
        { type: 'message', input_tokens: 23_000, output_tokens: 1000 }
      ]
    };
    const u = readUsage('anthropic', usage)!;
    expect(u.tokens).toMatchObject({ inputTokens: 203_000, outputTokens: 4500 });
    expect(u.parts).toHaveLength(2);
    // claude-opus-4-6 ($5 / $25): 203,000 × 5 + 4,500 × 25.
    expect(usageCost(price('anthropic', 'claude-opus-4-6'), u)).toBeCloseTo((203_000 * 5 + 4500 * 25) / 1e6, 12);
  });
});

describe('Anthropic cache-write durations', () => {
  it('prices 1-hour writes at 2× input and 5-minute writes at 1.25×', () => {
    const usage = {
      input_tokens: 50,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 100
    };
    const u = readUsage('anthropic', usage)!;
    expect(u.parts[0]).toMatchObject({ cacheWrite: 1000, cacheWrite1h: 2000 });
    expect(u.tokens.cacheWriteTokens).toBe(3000);
    // claude-sonnet-4-5: $3 in, $3.75 (5m), $6 (1h), $15 out.
    expect(usageCost(price('anthropic', 'claude-sonnet-4-5'), u)).toBeCloseTo((50 * 3 + 1000 * 3.75 + 2000 * 6 + 100 * 15) / 1e6, 12);
  });

  it('bills long prompts (over 200K with the 1M beta) at the long-context rates, cache included', () => {
    const u = readUsage('anthropic', { input_tokens: 150_000, cache_read_input_tokens: 100_000, output_tokens: 1000 })!;
    // claude-sonnet-4 with the 1M window: above 200K $6 in, $0.60 read, $22.50 out.
    expect(usageCost(price('anthropic', 'claude-sonnet-4-20250514'), u, 1_000_000)).toBeCloseTo((150_000 * 6 + 100_000 * 0.6 + 1000 * 22.5) / 1e6, 12);
  });

  it('keeps base rates when the request window cannot hold the prompt count (server-tool steps summed)', () => {
    // pydantic-ai test_pause_turn_web_search_vcr: Sonnet 4.5 (200K window), 10 web searches, 401,468 input tokens
    // summed over the search loop's sampling steps: $3 / $15 plus $0.01 per search, not the 200K+ rates.
    const u = readUsage('anthropic', { input_tokens: 401_468, output_tokens: 792, server_tool_use: { web_search_requests: 10 }, service_tier: 'standard' })!;
    expect(usageCost(price('anthropic', 'claude-sonnet-4-5'), u, 200_000)).toBeCloseTo((401_468 * 3 + 792 * 15) / 1e6 + 10 * 0.01, 12);
    // Gemini 2.5 Pro's own window is 1M: a 300K prompt is one long prompt.
    const g = readUsage('google', { promptTokenCount: 300_000, candidatesTokenCount: 1000 })!;
    expect(usageCost(price('google', 'gemini-2.5-pro'), g, 1_048_576)).toBeCloseTo((300_000 * 2.5 + 1000 * 15) / 1e6, 12);
  });
});

describe('OpenAI usage', () => {
  it('reads cache writes, cache reads and audio tokens of chat completions', () => {
    const usage = {
      prompt_tokens: 10_000,
      completion_tokens: 500,
      prompt_tokens_details: { cached_tokens: 6000, cache_write_tokens: 3000, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 320 }
    };
    const u = readUsage('openai', usage)!;
    expect(u.tokens).toMatchObject({ inputTokens: 10_000, cachedInputTokens: 6000, cacheWriteTokens: 3000, reasoningTokens: 320, outputTokens: 500 });
    // gpt-5.6 (LiteLLM 1.110.2): $4 in, $0.40 cached, $5 cache write, $20 out.
    expect(usageCost(price('openai', 'gpt-5.6'), u)).toBeCloseTo((1000 * 4 + 6000 * 0.4 + 3000 * 5 + 500 * 20) / 1e6, 12);
  });

  it('prices audio input and output at the audio rates', () => {
    const usage = { prompt_tokens: 1200, completion_tokens: 900, prompt_tokens_details: { audio_tokens: 1000 }, completion_tokens_details: { audio_tokens: 800 } };
    const u = readUsage('openai', usage)!;
    // gpt-4o-audio-preview-2024-12-17: $2.50 text in, $40 audio in, $10 text out, $80 audio out.
    expect(usageCost(price('openai', 'gpt-4o-audio-preview-2024-12-17'), u)).toBeCloseTo((200 * 2.5 + 1000 * 40 + 100 * 10 + 800 * 80) / 1e6, 12);
  });

  it('reads the Responses API details', () => {
    const u = readUsage('openai', { input_tokens: 2000, input_tokens_details: { cached_tokens: 1024 }, output_tokens: 700, output_tokens_details: { reasoning_tokens: 512 } })!;
    expect(u.tokens).toMatchObject({ inputTokens: 2000, cachedInputTokens: 1024, outputTokens: 700, reasoningTokens: 512 });
  });
});

describe('Gemini usageMetadata', () => {
  it('prices audio input at its own rate, cached audio at the cached audio rate', () => {
    const usage = {
      promptTokenCount: 10_000,
      cachedContentTokenCount: 2000,
      candidatesTokenCount: 300,
      thoughtsTokenCount: 200,
      promptTokensDetails: [
        { modality: 'TEXT', tokenCount: 4000 },
        { modality: 'AUDIO', tokenCount: 5000 },
        { modality: 'VIDEO', tokenCount: 1000 }
      ],
      cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 2000 }]
    };
    const u = readUsage('google', usage)!;
    expect(u.parts[0]).toMatchObject({ input: 5000, inputAudio: 3000, cachedInput: 0, cachedInputAudio: 2000, output: 500 });
    // gemini-2.5-flash: $0.30 text/image/video, $1.00 audio, $0.10 cached audio, $2.50 out.
    expect(usageCost(price('google', 'gemini-2.5-flash'), u)).toBeCloseTo((5000 * 0.3 + 3000 * 1 + 2000 * 0.1 + 500 * 2.5) / 1e6, 12);
  });

  it('bills toolUsePromptTokenCount as input; grounding fees are not priced (they do not change the token cost)', () => {
    const plain = readUsage('google', { promptTokenCount: 100, candidatesTokenCount: 50, toolUsePromptTokenCount: 400 })!;
    expect(plain.tokens.inputTokens).toBe(500);
    const withGrounding = readUsage('google', { promptTokenCount: 100, candidatesTokenCount: 50, toolUsePromptTokenCount: 400, groundingMetadata: { webSearchQueries: ['q'] } })!;
    expect(usageCost(price('google', 'gemini-2.5-flash'), withGrounding)).toBeCloseTo(usageCost(price('google', 'gemini-2.5-flash'), plain), 15);
    expect(usageCost(price('google', 'gemini-2.5-flash'), plain)).toBeCloseTo((500 * 0.3 + 50 * 2.5) / 1e6, 12);
  });

  it("reads the Python SDK's snake_case names too", () => {
    const u = readUsage('google', { prompt_token_count: 10, candidates_token_count: 5, thoughts_token_count: 7 })!;
    expect(u.tokens).toMatchObject({ inputTokens: 10, outputTokens: 12, reasoningTokens: 7 });
  });
});

describe('what else the usage object bills', () => {
  it('applies Anthropic US-only inference (1.1×) and fast mode (2×) from the usage, as the model lists them', () => {
    const base = readUsage('anthropic', { input_tokens: 1000, output_tokens: 100, inference_geo: 'global' })!;
    const us = readUsage('anthropic', { input_tokens: 1000, output_tokens: 100, inference_geo: 'us' })!;
    // claude-sonnet-4-6: $3 / $15, { us: 1.1 }.
    expect(usageCost(price('anthropic', 'claude-sonnet-4-6'), base)).toBeCloseTo((1000 * 3 + 100 * 15) / 1e6, 12);
    expect(usageCost(price('anthropic', 'claude-sonnet-4-6'), us)).toBeCloseTo((1.1 * (1000 * 3 + 100 * 15)) / 1e6, 12);
    // claude-opus-4-8 fast mode: { fast: 2 }.
    const fast = readUsage('anthropic', { input_tokens: 1000, output_tokens: 100, speed: 'fast' })!;
    const e = price('anthropic', 'claude-opus-4-8');
    expect(usageCost(e, fast)).toBeCloseTo(2 * ((1000 * e.input + 100 * e.output) / 1e6), 12);
  });

  it('bills Anthropic server-side web searches at $10 per 1,000', () => {
    const u = readUsage('anthropic', { input_tokens: 2000, output_tokens: 300, server_tool_use: { web_search_requests: 3 } })!;
    expect(usageCost(price('anthropic', 'claude-sonnet-4-5'), u)).toBeCloseTo((2000 * 3 + 300 * 15) / 1e6 + 3 * 0.01, 12);
  });

  it('uses the priority or flex rates a Gemini response says it was served at', () => {
    const std = readUsage('google', { promptTokenCount: 1000, candidatesTokenCount: 100, serviceTier: 'standard' })!;
    const prio = readUsage('google', { promptTokenCount: 1000, candidatesTokenCount: 100, serviceTier: 'priority' })!;
    // gemini-2.5-pro: $1.25 / $10 standard, $2.25 / $18 priority (LiteLLM 1.110.2).
    expect(usageCost(price('google', 'gemini-2.5-pro'), std)).toBeCloseTo((1000 * 1.25 + 100 * 10) / 1e6, 12);
    expect(usageCost(price('google', 'gemini-2.5-pro'), prio)).toBeCloseTo((1000 * 2.25 + 100 * 18) / 1e6, 12);
  });
});
