import type { LlmSummaryResponse } from '../shared/llm-api';
import type { FreshStartResponse, SummaryRequestResponse } from '../shared/transfer-api';
import { messageText } from './anthropic';
import { clientKind } from './observe';
import { chatOutput } from './openai';
import { getRuntime } from './runtime';

export interface ModelSummaryOptions {
  /** The conversation to carry over (its id as the sidecar lists it). */
  conversationId: string;
  /** The model that writes the summary, e.g. "gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash". */
  model: string;
  /** Upper bound of the summary, tokens (default 800). */
  budgetTokens?: number;
}

export interface ModelSummary {
  conversationId: string;
  method: 'model' | 'extractive';
  text: string;
  /** Why the offline summary was returned instead (content not captured, the model call failed). */
  note: string | null;
}

async function callModel(client: unknown, model: string, system: string, user: string, budget: number): Promise<string> {
  const c = client as any;
  let text: string;
  switch (clientKind(c)) {
    case 'openai': {
      const r = await c.chat.completions.create({ model, max_completion_tokens: budget, messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
      text = chatOutput(r) ?? '';
      break;
    }
    case 'google': {
      const r = await c.models.generateContent({ model, contents: user, config: { systemInstruction: system, maxOutputTokens: budget } });
      text = r.text ?? '';
      break;
    }
    case 'anthropic': {
      const r = await c.messages.create({ model, max_tokens: budget, system, messages: [{ role: 'user', content: user }] });
      text = messageText(r) ?? '';
      break;
    }
    default:
      throw new TypeError('summarizeWithModel() takes an OpenAI, Anthropic or GoogleGenAI client.');
  }
  if (!text.trim()) {
    throw new Error('the model answered with no text');
  }
  return text.trim();
}

/**
 * A context-transfer summary written by a model, through the user's own
 * (wrapped or plain) client: the sidecar is offline-only, so this is the one
 * path where a model writes the summary, with the user's key and consent. The
 * call runs under track({ conversationId: "<id>:summary" }), so a wrapped
 * client records it and the sidecar prices it. Any failure (content not
 * captured, the call, an empty answer) returns the sidecar's offline summary
 * with the reason in `note`.
 */
export async function summarizeWithModel(client: unknown, options: ModelSummaryOptions): Promise<ModelSummary> {
  const rt = getRuntime();
  const budget = options.budgetTokens ?? 800;
  const id = encodeURIComponent(options.conversationId);
  const offline = async (note: string): Promise<ModelSummary> => {
    const extractive = await rt.transport.getJson<LlmSummaryResponse>(`/llm/conversations/${id}/summary?budgetTokens=${budget}`);
    return { conversationId: options.conversationId, method: 'extractive', text: extractive.text, note };
  };
  // The sidecar writes the request (src/core/llm/summaryRequest.ts, the one prompt for Python and TypeScript); it is sent as is.
  const request = await rt.transport.getJson<SummaryRequestResponse>(`/llm/conversations/${id}/summary-request?budgetTokens=${budget}`);
  if (!request.hasContent || request.system === null || request.user === null) {
    return offline('content capture was off for this conversation');
  }
  const { system, user, maxTokens } = request;
  try {
    const scope = rt.currentScope({ conversationId: `${options.conversationId}:summary`, tags: { 'vigilo.purpose': 'context-summary' } });
    const text = await rt.scope.run(scope, () => callModel(client, options.model, system, user, maxTokens));
    return { conversationId: options.conversationId, method: 'model', text, note: null };
  } catch (err) {
    const name = err instanceof Error ? (err.constructor?.name ?? err.name) : 'Error';
    return offline(`the model call failed (${name}: ${err instanceof Error ? err.message : String(err)}); this is the offline summary`);
  }
}

export interface FreshStartOptions {
  /** A client (and model) to write the summary; without one the offline summary is used. */
  client?: unknown;
  model?: string;
  /** The summary's budget, tokens (default 800). */
  budgetTokens?: number;
  /** The last turns carried verbatim, at most this many tokens (default 1500). */
  recentTokens?: number;
  /** The id to track the new conversation under (default "<id>~1", "<id>~2", ...). */
  successorId?: string;
}

export interface FreshStart extends FreshStartResponse {
  /** Track the new conversation under this id so the panel shows the chain. */
  conversationId: string;
  /** Why a model summary was asked for and not used, or null. */
  note: string | null;
}

/**
 * The messages that open a new conversation continuing `conversationId` (its
 * summary as the system message, then its last turns verbatim), recorded by
 * the sidecar as its successor with the prompt tokens and dollars each
 * following message saves.
 */
export async function freshStart(conversationId: string, options: FreshStartOptions = {}): Promise<FreshStart> {
  const rt = getRuntime();
  const budgetTokens = options.budgetTokens ?? 800;
  let summaryText: string | undefined;
  let note: string | null = null;
  if (options.client) {
    const s = await summarizeWithModel(options.client, { conversationId, model: options.model ?? 'gpt-4o-mini', budgetTokens });
    summaryText = s.method === 'model' ? s.text : undefined;
    note = s.note;
  }
  const answer = await rt.transport.postJson<FreshStartResponse>(`/llm/conversations/${encodeURIComponent(conversationId)}/fresh-start`, {
    budgetTokens,
    recentTokens: options.recentTokens ?? 1500,
    ...(options.successorId ? { successorId: options.successorId } : {}),
    ...(summaryText ? { summaryText } : {})
  });
  return { ...answer, conversationId: answer.link.successorId, note };
}
