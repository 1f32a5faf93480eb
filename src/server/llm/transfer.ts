import { z } from 'zod';
import { ConversationHealth, LlmSummaryResponse, SummaryQuery, type LlmMessage, type LlmProvider } from '../../shared/llm-api';
import { ChainsResponse, ConversationChainResponse, FreshStartBody, FreshStartResponse, SummaryBody, SummaryRequestBody, SummaryRequestResponse, type ChainLink } from '../../shared/transfer-api';
import { freshStartMessages, messagesTokens, nextSuccessorId, savings } from '../../core/llm/freshStart';
import { summarizeConversation } from '../../core/llm/summary';
import { summaryRequest } from '../../core/llm/summaryRequest';
import type { Clock } from '../core/clock';
import { ApiError } from '../core/errors';
import { jsonRoute } from '../core/route';
import { SuccessorStore } from './successors';

/**
 * Context-transfer routes: the offline summary of any messages, the fresh
 * start of a conversation (its summary plus its last turns, linked to the old
 * one as its successor) and the chain of conversations continued from one
 * another, with the prompt tokens and dollars each saves per message.
 */
export interface TransferDeps {
  dataDir: string;
  clock: Clock;
  /** The conversation's captured messages, null when content capture was off; throws not_found for an unknown id. */
  transcriptOf(conversationId: string): LlmMessage[] | null;
  health(conversationId: string): ConversationHealth;
  /** USD per input token of the model, null when unpriced. */
  inputUsdPerToken(provider: LlmProvider, model: string | null): number | null;
}

const Params = z.object({ conversationId: z.string().min(1).max(256) });

export function transferRoutes(deps: TransferDeps) {
  let store: SuccessorStore | null = null;
  const successors = () => (store ??= new SuccessorStore(deps.dataDir));
  return [
    jsonRoute({
      method: 'post',
      path: '/llm/summary',
      summary: 'The offline summary (task, decisions, open questions, artifacts, what was established) of the messages sent, within budgetTokens. Deterministic; no model.',
      tags: ['llm'],
      body: SummaryBody,
      response: LlmSummaryResponse,
      handler: ({ body }) => summarizeConversation({ conversationId: body.conversationId, messages: body.messages, budgetTokens: body.budgetTokens })
    }),
    jsonRoute({
      method: 'post',
      path: '/llm/summary-request',
      summary: "The request (system prompt, transcript, output limit) that asks the user's own model for a summary of the messages sent: the clients send it through the user's client as is.",
      tags: ['llm'],
      body: SummaryRequestBody,
      response: SummaryRequestResponse,
      handler: ({ body }) => ({ hasContent: true, ...summaryRequest(body.messages, body.budgetTokens) })
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/conversations/:conversationId/summary-request',
      summary: "The request (system prompt, transcript, output limit) that asks the user's own model for this conversation's summary; hasContent false (and no request) when its content was not captured.",
      tags: ['llm'],
      params: Params,
      query: SummaryQuery,
      response: SummaryRequestResponse,
      errors: ['not_found'],
      handler: ({ params, query }) => {
        const transcript = deps.transcriptOf(params.conversationId);
        return transcript
          ? { hasContent: true, ...summaryRequest(transcript, query.budgetTokens) }
          : { hasContent: false, system: null, user: null, maxTokens: query.budgetTokens };
      }
    }),
    jsonRoute({
      method: 'post',
      path: '/llm/conversations/:conversationId/fresh-start',
      summary:
        'The messages that open a fresh conversation continuing this one (the summary as a system message, then the last turns verbatim within recentTokens), recorded as its successor with the prompt tokens and cost saved per message.',
      tags: ['llm'],
      params: Params,
      body: FreshStartBody,
      response: FreshStartResponse,
      errors: ['not_found', 'invalid_request'],
      handler: ({ params, body }) => {
        const id = params.conversationId;
        const transcript = deps.transcriptOf(id);
        if (!transcript && !body.summaryText) {
          throw new ApiError('invalid_request', `Conversation "${id}" was recorded without its content (VIGILO_CAPTURE_CONTENT=0), so there is nothing to carry over; send summaryText to start from your own summary.`);
        }
        const summary = body.summaryText ? null : summarizeConversation({ conversationId: id, messages: transcript, budgetTokens: body.budgetTokens });
        const messages = freshStartMessages(transcript ?? [], body.summaryText ?? summary!.text, body.recentTokens);
        const health = deps.health(id);
        const previousTokens = health.context.usedTokens;
        const freshTokens = messagesTokens(messages);
        const successorId = body.successorId ?? nextSuccessorId(id, s => successors().has(s) || s === id);
        if (successorId === id) {
          throw new ApiError('invalid_request', 'successorId must differ from the conversation it continues.');
        }
        const link: ChainLink = {
          conversationId: id,
          successorId,
          createdAt: new Date(deps.clock.now()).toISOString(),
          previousTokens,
          freshTokens,
          ...savings(previousTokens, freshTokens, deps.inputUsdPerToken(health.provider, health.model)),
          summaryMethod: body.summaryText ? 'model' : 'extractive'
        };
        successors().add(link);
        return { link, messages, summary };
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/conversations/:conversationId/chain',
      summary: 'The conversations continued from one another (fresh starts) that this one is part of, oldest first, with the prompt tokens and cost each saved per message.',
      tags: ['llm'],
      params: Params,
      response: ConversationChainResponse,
      handler: ({ params }) => ({ conversationId: params.conversationId, chain: successors().chain(params.conversationId) })
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/chains',
      summary: 'Every successor link (fresh starts), oldest first, with the prompt tokens and cost each saves per message: what the panel shows on the conversation cards.',
      tags: ['llm'],
      response: ChainsResponse,
      handler: () => ({ links: successors().all() })
    })
  ];
}
