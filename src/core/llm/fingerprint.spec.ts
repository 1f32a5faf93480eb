import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LlmProvider } from '../../shared/llm-api';
import { conversationFingerprint, conversationKey } from './fingerprint';

const vectors = JSON.parse(readFileSync(join(__dirname, '../../../test/vectors/fingerprint.json'), 'utf8')) as Array<{
  provider: LlmProvider;
  system: string;
  firstUser: string;
  fingerprint: string;
}>;

describe('conversation fingerprint', () => {
  it('matches the shared vectors the Python wrappers check too', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    for (const v of vectors) {
      expect(conversationFingerprint(v.provider, v.system, v.firstUser)).toBe(v.fingerprint);
    }
  });

  it('keeps the user-given id over the derived one', () => {
    expect(conversationKey('my-chat', 'a'.repeat(64))).toBe('my-chat');
    expect(conversationKey(null, 'ab'.repeat(32))).toBe('fp-abababababababab');
    expect(conversationKey(null, null)).toBeNull();
  });

  it('tells apart conversations that differ only in provider, system prompt or first message', () => {
    const ids = new Set([
      conversationFingerprint('openai', 'sys', 'hello'),
      conversationFingerprint('anthropic', 'sys', 'hello'),
      conversationFingerprint('openai', 'sys2', 'hello'),
      conversationFingerprint('openai', 'sys', 'hello!'),
      conversationFingerprint('openai', 'sys\nhello', ''),
      conversationFingerprint('openai', 'sys', '\nhello')
    ]);
    expect(ids.size).toBe(6);
  });
});
