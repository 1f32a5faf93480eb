import { z } from 'zod';
import { LlmMessage, LlmSummaryResponse } from './llm-api';

/**
 * Context transfer between conversations: the offline summary of any messages
 * (POST /llm/summary), the messages that open a fresh conversation
 * (POST /llm/conversations/:id/fresh-start) and the chain of conversations
 * continued from one another (GET /llm/conversations/:id/chain).
 */

export const SummaryMessage = LlmMessage.extend({
  /** Who said it ("Caroline"); default: the role. */
  speaker: z.string().max(64).optional(),
  /** When it was said (ISO or "1:56 pm on 8 May, 2023"); carried to the following messages. */
  date: z.string().max(64).optional()
});
export type SummaryMessage = z.infer<typeof SummaryMessage>;

export const SummaryBody = z
  .object({
    // 10,000 messages: at most ~0.5 MB of the smallest messages, so a body one over the limit is still under the 1 MiB body cap and gets its 400.
    messages: z.array(SummaryMessage).min(1).max(10_000),
    budgetTokens: z.number().int().min(50).max(100_000).default(800),
    conversationId: z.string().min(1).max(256).default('messages')
  })
  .strict();

/** POST /llm/summary-request: the messages to be summarised by the user's own model. */
export const SummaryRequestBody = z
  .object({
    // 10,000 messages: at most ~0.5 MB of the smallest messages, so a body one over the limit is still under the 1 MiB body cap and gets its 400.
    messages: z.array(SummaryMessage).min(1).max(10_000),
    budgetTokens: z.number().int().min(50).max(100_000).default(800)
  })
  .strict();

/** The summarisation request to send through the user's client as is (src/core/llm/summaryRequest.ts); null fields when content was not captured. */
export const SummaryRequestResponse = z.object({
  hasContent: z.boolean(),
  system: z.string().nullable(),
  user: z.string().nullable(),
  maxTokens: z.number()
});
export type SummaryRequestResponse = z.infer<typeof SummaryRequestResponse>;

export const FreshStartBody = z
  .object({
    /** The summary's budget (the system message). */
    budgetTokens: z.number().int().min(50).max(100_000).default(800),
    /** The last turns carried verbatim, at most this many tokens. */
    recentTokens: z.number().int().min(0).max(100_000).default(1500),
    /** The id the new conversation will be tracked under; default "<id>~<n>". */
    successorId: z.string().min(1).max(256).optional(),
    /** A summary written by the user's own model, to use instead of the offline one. */
    summaryText: z.string().min(1).max(400_000).optional()
  })
  .strict();

export const ChainLink = z.object({
  conversationId: z.string(),
  successorId: z.string(),
  createdAt: z.string(),
  /** The old conversation's prompt at its last call, tokens (null when unknown). */
  previousTokens: z.number().nullable(),
  /** The fresh conversation's opening messages, tokens (chars / 4). */
  freshTokens: z.number(),
  /** Prompt tokens each following message no longer carries; null when the old size is unknown. */
  savedTokensPerMessage: z.number().nullable(),
  /** The same at the old model's input price; null when unpriced. */
  savedUsdPerMessage: z.number().nullable(),
  summaryMethod: z.enum(['extractive', 'model'])
});
export type ChainLink = z.infer<typeof ChainLink>;

export const FreshStartResponse = z.object({
  link: ChainLink,
  /** Open the new conversation with these: the summary as a system message, then the last turns verbatim. */
  messages: z.array(LlmMessage),
  summary: LlmSummaryResponse.nullable()
});
export type FreshStartResponse = z.infer<typeof FreshStartResponse>;

export const ConversationChainResponse = z.object({
  conversationId: z.string(),
  /** Oldest first: every link of the chain this conversation is part of. */
  chain: z.array(ChainLink)
});
export type ConversationChainResponse = z.infer<typeof ConversationChainResponse>;

export const ChainsResponse = z.object({ links: z.array(ChainLink) });
