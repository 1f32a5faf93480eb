import type { SummaryMessage } from './summary';

/**
 * The request that asks the user's own model for a context-transfer summary:
 * the one place where its prompt is written. The sidecar serves it
 * (POST /llm/summary-request, GET /llm/conversations/:id/summary-request) and
 * the Python (vigilo/_summarize.py) and TypeScript (src/client/summarize.ts)
 * clients send it as is through the user's client. It asks for the offline
 * summary's structure (src/core/llm/summary.ts). Pure: same input, same output.
 */
export interface SummaryRequest {
  /** The instructions: the system message (OpenAI), `system` (Anthropic), `systemInstruction` (Gemini). */
  system: string;
  /** The conversation to compress, one message per paragraph: "Speaker (date): text". */
  user: string;
  /** The summary's budget: the call's output-token limit. */
  maxTokens: number;
}

export function summaryPrompt(budget: number): string {
  return (
    `You compress a conversation so that a fresh model can continue it. Write at most ${budget} tokens, in these headed lists, leaving out a list that would be empty:\n` +
    'Current task: the last substantive request (never a greeting or sign-off) and where the work stands.\n' +
    'Decisions made: only what was actually decided, by whom.\n' +
    'Open questions: what is still unanswered or undecided.\n' +
    'Artifacts named: files, URLs, code identifiers, numbers, exactly as written.\n' +
    "What was established: the facts, oldest first, each as 'Speaker: statement', with every relative date (yesterday, last week) followed by the absolute date in [brackets].\n" +
    'Write only what the conversation says. Your answer becomes the system message of the new conversation.'
  );
}

/** Each message but the system's as "Speaker (date): text" (the speaker defaults to the role in capitals), a blank line apart. */
export function summaryTranscript(messages: SummaryMessage[]): string {
  return messages
    .filter(m => m.role !== 'system')
    .map(m => `${m.speaker?.trim() || (m.role || 'unknown').toUpperCase()}${m.date ? ` (${m.date})` : ''}: ${m.content}`)
    .join('\n\n');
}

export function summaryRequest(messages: SummaryMessage[], budgetTokens: number): SummaryRequest {
  return { system: summaryPrompt(budgetTokens), user: summaryTranscript(messages), maxTokens: budgetTokens };
}
