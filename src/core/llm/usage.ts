import type { LlmProvider, TokenCounts } from '../../shared/llm-api';

/**
 * The one place where each provider's own usage object becomes token counts.
 *
 * - OpenAI chat.completions: prompt_tokens (includes cached), prompt_tokens_details.cached_tokens,
 *   completion_tokens (includes reasoning), completion_tokens_details.reasoning_tokens.
 * - OpenAI responses: input_tokens, input_tokens_details.cached_tokens, output_tokens,
 *   output_tokens_details.reasoning_tokens.
 * - Anthropic: input_tokens EXCLUDES cache_creation_input_tokens and cache_read_input_tokens;
 *   the prompt is their sum.
 * - Gemini usageMetadata: promptTokenCount (includes cachedContentTokenCount),
 *   toolUsePromptTokenCount, candidatesTokenCount, thoughtsTokenCount (billed as output,
 *   not included in candidatesTokenCount).
 *
 * `inputTokens` is always the whole prompt (uncached + cached + cache-write), so the
 * context used by a call is inputTokens + outputTokens for every provider.
 */
export function normalizeUsage(provider: LlmProvider, usage: Record<string, unknown> | null): TokenCounts | null {
  if (!usage) {
    return null;
  }
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  switch (provider) {
    case 'openai': {
      if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
        return {
          inputTokens: n(usage.prompt_tokens),
          outputTokens: n(usage.completion_tokens),
          cachedInputTokens: n(obj(usage.prompt_tokens_details).cached_tokens),
          cacheWriteTokens: 0,
          reasoningTokens: n(obj(usage.completion_tokens_details).reasoning_tokens)
        };
      }
      return {
        inputTokens: n(usage.input_tokens),
        outputTokens: n(usage.output_tokens),
        cachedInputTokens: n(obj(usage.input_tokens_details).cached_tokens),
        cacheWriteTokens: 0,
        reasoningTokens: n(obj(usage.output_tokens_details).reasoning_tokens)
      };
    }
    case 'anthropic': {
      const cacheWrite = n(usage.cache_creation_input_tokens);
      const cacheRead = n(usage.cache_read_input_tokens);
      return {
        inputTokens: n(usage.input_tokens) + cacheWrite + cacheRead,
        outputTokens: n(usage.output_tokens),
        cachedInputTokens: cacheRead,
        cacheWriteTokens: cacheWrite,
        reasoningTokens: 0
      };
    }
    case 'google': {
      const thoughts = n(usage.thoughtsTokenCount);
      return {
        inputTokens: n(usage.promptTokenCount) + n(usage.toolUsePromptTokenCount),
        outputTokens: n(usage.candidatesTokenCount) + thoughts,
        cachedInputTokens: n(usage.cachedContentTokenCount),
        cacheWriteTokens: 0,
        reasoningTokens: thoughts
      };
    }
  }
}

export const ZERO_TOKENS: TokenCounts = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
