import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LlmMessage } from '../../src/shared/llm-api';
import { summarizeConversation } from '../../src/core/llm/summary';

export interface EvalConversation {
  id: string;
  messages: LlmMessage[];
  facts: Array<{ kind: 'task' | 'decision' | 'fact' | 'preference'; needle: string }>;
}

export interface EvalSet {
  budgetTokens: number;
  conversations: EvalConversation[];
}

export function loadEvalSet(): EvalSet {
  return JSON.parse(readFileSync(join(__dirname, 'conversations.json'), 'utf8')) as EvalSet;
}

export interface EvalResult {
  budgetTokens: number;
  facts: number;
  kept: number;
  byKind: Record<string, { facts: number; kept: number }>;
  missing: string[];
  maxSummaryTokens: number;
  /** Transcript size before summarising, estimated tokens. */
  meanTranscriptTokens: number;
}

/** Summarise each conversation at `budgetTokens` and count the planted facts the summary keeps. */
export function evaluate(set: EvalSet, budgetTokens = set.budgetTokens): EvalResult {
  const result: EvalResult = { budgetTokens, facts: 0, kept: 0, byKind: {}, missing: [], maxSummaryTokens: 0, meanTranscriptTokens: 0 };
  let transcript = 0;
  for (const c of set.conversations) {
    const summary = summarizeConversation({ conversationId: c.id, messages: c.messages, budgetTokens });
    result.maxSummaryTokens = Math.max(result.maxSummaryTokens, summary.tokens);
    transcript += Math.ceil(c.messages.reduce((a, m) => a + m.content.length, 0) / 4);
    const text = summary.text.toLowerCase();
    for (const f of c.facts) {
      const kind = (result.byKind[f.kind] ??= { facts: 0, kept: 0 });
      result.facts++;
      kind.facts++;
      if (text.includes(f.needle.toLowerCase())) {
        result.kept++;
        kind.kept++;
      } else {
        result.missing.push(`${c.id}: ${f.kind} "${f.needle}"`);
      }
    }
  }
  result.meanTranscriptTokens = Math.round(transcript / set.conversations.length);
  return result;
}
