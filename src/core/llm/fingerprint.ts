import { createHash } from 'node:crypto';
import type { LlmProvider } from '../../shared/llm-api';

/**
 * Conversation fingerprint, shared with the Python wrappers (test vectors in
 * test/vectors/fingerprint.json): lowercase hex sha256 of the UTF-8 string
 * provider + "\n" + systemPromptText + "\n" + firstUserMessageText.
 * A conversation whose message list grows keeps its system prompt and first
 * user message, so it keeps its fingerprint.
 */
export function conversationFingerprint(provider: LlmProvider, systemPromptText: string, firstUserMessageText: string): string {
  return createHash('sha256').update(`${provider}\n${systemPromptText}\n${firstUserMessageText}`, 'utf8').digest('hex');
}

/** The conversation id the sidecar uses: the user's own, else derived from the fingerprint. */
export function conversationKey(conversationId: string | null, fingerprint: string | null): string | null {
  if (conversationId) {
    return conversationId;
  }
  return fingerprint ? `fp-${fingerprint.slice(0, 16)}` : null;
}
