import type { LlmMessage } from '../../shared/llm-api';
import type { ChainLink } from '../../shared/transfer-api';
import { estimateTokens } from './summary';

/**
 * The opening of a fresh conversation that continues an old one: the summary
 * as the system message, then the last user/assistant turns verbatim, as many
 * as fit `recentTokens` (tool messages are left out: their call ids belong to
 * the old conversation). The carried turns start with a user turn, as every
 * provider accepts. Pure.
 */
export function freshStartMessages(messages: LlmMessage[], summaryText: string, recentTokens: number): LlmMessage[] {
  const turns = messages.filter(m => (m.role === 'user' || m.role === 'assistant') && m.content.trim());
  const carried: LlmMessage[] = [];
  let used = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const cost = estimateTokens(turns[i].content);
    if (used + cost > recentTokens) {
      break;
    }
    carried.unshift({ role: turns[i].role, content: turns[i].content });
    used += cost;
  }
  while (carried.length && carried[0].role !== 'user') {
    carried.shift();
  }
  return [{ role: 'system', content: summaryText }, ...carried];
}

export function messagesTokens(messages: LlmMessage[]): number {
  return messages.reduce((a, m) => a + estimateTokens(m.content), 0);
}

/** Tokens (and dollars, at `inputUsdPerToken`) each following message saves by starting from `freshTokens` instead of `previousTokens`. */
export function savings(previousTokens: number | null, freshTokens: number, inputUsdPerToken: number | null): Pick<ChainLink, 'savedTokensPerMessage' | 'savedUsdPerMessage'> {
  if (previousTokens === null) {
    return { savedTokensPerMessage: null, savedUsdPerMessage: null };
  }
  const saved = Math.max(0, previousTokens - freshTokens);
  return { savedTokensPerMessage: saved, savedUsdPerMessage: inputUsdPerToken === null ? null : saved * inputUsdPerToken };
}

/** Every link of the chain `conversationId` belongs to, oldest first (links form lists: one successor each). */
export function chainOf(links: ChainLink[], conversationId: string): ChainLink[] {
  const bySource = new Map(links.map(l => [l.conversationId, l]));
  const byTarget = new Map(links.map(l => [l.successorId, l]));
  let head = conversationId;
  const seen = new Set<string>();
  while (byTarget.has(head) && !seen.has(head)) {
    seen.add(head);
    head = byTarget.get(head)!.conversationId;
  }
  const chain: ChainLink[] = [];
  const visited = new Set<string>();
  for (let link = bySource.get(head); link && !visited.has(link.conversationId); link = bySource.get(link.successorId)) {
    visited.add(link.conversationId);
    chain.push(link);
  }
  return chain;
}

/** "<id>~2" for the second continuation of "<id>" (or of "<id>~1"). */
export function nextSuccessorId(conversationId: string, taken: (id: string) => boolean): string {
  const base = conversationId.replace(/~\d+$/, '');
  for (let n = 1; ; n++) {
    const id = `${base}~${n}`;
    if (!taken(id)) {
      return id;
    }
  }
}
