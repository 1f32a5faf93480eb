import type { LlmMessage, LlmSummaryResponse, LlmTranscriptResponse } from '../shared/llm-api';
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
  /** Why the extractive summary was returned instead (no content captured). */
  note: string | null;
}

const INSTRUCTIONS = (budget: number) =>
  `You compress a conversation so that it can continue in a fresh one. Write at most ${budget} tokens with four headed lists: ` +
  '"Task in progress", "Decisions made", "Facts established" (names, numbers, dates, versions exactly as stated), "User preferences". ' +
  'Write only facts present in the conversation. The result becomes the system message of the new conversation.';

function transcriptText(messages: LlmMessage[]): string {
  return messages.map(m => `${m.role.toUpperCase()}: ${m.content}`).join('\n\n');
}

/**
 * A context-transfer summary written by a model, through the user's own
 * (wrapped or plain) client: the sidecar is offline-only, so this is the one
 * path where a model writes the summary, with the user's key and consent.
 * Falls back to the sidecar's extractive summary when content was not captured.
 */
export async function summarizeWithModel(client: unknown, options: ModelSummaryOptions): Promise<ModelSummary> {
  const rt = getRuntime();
  const budget = options.budgetTokens ?? 800;
  const id = encodeURIComponent(options.conversationId);
  const transcript = await rt.transport.getJson<LlmTranscriptResponse>(`/llm/conversations/${id}/messages`);
  if (!transcript.messages) {
    const extractive = await rt.transport.getJson<LlmSummaryResponse>(`/llm/conversations/${id}/summary?budgetTokens=${budget}`);
    return { conversationId: options.conversationId, method: 'extractive', text: extractive.text, note: 'content capture was off for this conversation' };
  }
  const system = INSTRUCTIONS(budget);
  const user = transcriptText(transcript.messages.filter(m => m.role !== 'system'));
  const c = client as any;
  let text: string;
  switch (clientKind(c)) {
    case 'openai': {
      const r = await c.chat.completions.create({ model: options.model, max_completion_tokens: budget, messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
      text = chatOutput(r) ?? '';
      break;
    }
    case 'google': {
      const r = await c.models.generateContent({ model: options.model, contents: user, config: { systemInstruction: system, maxOutputTokens: budget } });
      text = r.text ?? '';
      break;
    }
    case 'anthropic': {
      const r = await c.messages.create({ model: options.model, max_tokens: budget, system, messages: [{ role: 'user', content: user }] });
      text = messageText(r) ?? '';
      break;
    }
    default:
      throw new TypeError('summarizeWithModel() takes an OpenAI, Anthropic or GoogleGenAI client.');
  }
  return { conversationId: options.conversationId, method: 'model', text, note: null };
}
