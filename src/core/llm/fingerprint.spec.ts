import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LlmProvider } from '../../shared/llm-api';
import { chainHashes, ConversationIndex, conversationFingerprint, conversationKey, replyHash } from './fingerprint';

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

const chainVectors = JSON.parse(readFileSync(join(__dirname, '../../../test/vectors/chain.json'), 'utf8')) as Array<{
  provider: LlmProvider;
  messages: Array<{ role: string; content: string }>;
  output: string | null;
  chain: string[];
  replyHash: string | null;
}>;

describe('conversation chain hashes', () => {
  it('match the shared vectors (computed with Python hashlib; the Python wrappers check them too)', () => {
    expect(chainVectors.length).toBeGreaterThanOrEqual(5);
    for (const v of chainVectors) {
      const chain = chainHashes(v.provider, v.messages);
      expect(chain).toEqual(v.chain);
      expect(replyHash(v.provider, chain, v.output)).toBe(v.replyHash);
    }
  });
});

interface ScenarioCall {
  model?: string;
  conversationId?: string;
  messages: Array<[string, string]>;
  output: string | null;
  status?: 'ok' | 'error';
  conversation: string;
  how: string;
  parent?: string;
}

const identity = JSON.parse(readFileSync(join(__dirname, '../../../test/vectors/identity.json'), 'utf8')) as { scenarios: Array<{ name: string; calls: ScenarioCall[] }> };

describe('conversation identity follows the message chain', () => {
  for (const scenario of identity.scenarios) {
    it(scenario.name, () => {
      const index = new ConversationIndex();
      const idOf = new Map<string, string>();
      scenario.calls.forEach((c, i) => {
        const messages = c.messages.map(([role, content]) => ({ role, content }));
        const chain = chainHashes('openai', messages);
        const call = {
          id: `call-${i}`,
          provider: 'openai' as const,
          conversationId: c.conversationId ?? null,
          fingerprint: null,
          chain,
          replyHash: replyHash('openai', chain, c.output),
          model: c.model ?? 'gpt-4o',
          status: c.status ?? ('ok' as const),
          betas: []
        };
        const d = index.decide(call);
        index.record(d.key!, call, d);
        expect(d.how, `call ${i}`).toBe(c.how);
        const known = idOf.get(c.conversation);
        if (known) {
          expect(d.key, `call ${i} joins ${c.conversation}`).toBe(known);
        } else {
          expect([...idOf.values()], `call ${i} starts ${c.conversation}`).not.toContain(d.key);
          idOf.set(c.conversation, d.key!);
        }
        expect(d.parent?.key ?? null, `call ${i} parent`).toBe(c.parent ? idOf.get(c.parent)! : null);
      });
    });
  }

  it('gives a retried call (same id) the conversation it got the first time, without moving anything', () => {
    const index = new ConversationIndex();
    const run = (id: string, messages: Array<[string, string]>, output: string) => {
      const chain = chainHashes('openai', messages.map(([role, content]) => ({ role, content })));
      const call = { id, provider: 'openai' as const, conversationId: null, fingerprint: null, chain, replyHash: replyHash('openai', chain, output), model: null, status: 'ok' as const, betas: [] };
      const d = index.decide(call);
      index.record(d.key!, call, d);
      return d.key;
    };
    const a = run('c1', [['user', 'q1']], 'a1');
    expect(run('c2', [['user', 'q1'], ['assistant', 'a1'], ['user', 'q2']], 'a2')).toBe(a);
    expect(run('c2', [['user', 'q1'], ['assistant', 'a1'], ['user', 'q2']], 'a2')).toBe(a);
    expect(run('c3', [['user', 'q1'], ['assistant', 'a1'], ['user', 'q2'], ['assistant', 'a2'], ['user', 'q3']], 'a3')).toBe(a);
  });

  it('keeps its conversations across a restart (toJSON / fromJSON), so a chat continues under its id', () => {
    const index = new ConversationIndex();
    const call = (id: string, messages: Array<[string, string]>, output: string) => {
      const chain = chainHashes('openai', messages.map(([role, content]) => ({ role, content })));
      return { id, provider: 'openai' as const, conversationId: null, fingerprint: null, chain, replyHash: replyHash('openai', chain, output), model: null, status: 'ok' as const, betas: ['context-1m-2025-08-07'] };
    };
    const first = call('a', [['user', 'q1']], 'a1');
    const d = index.decide(first);
    index.record(d.key!, first, d);
    const restored = ConversationIndex.fromJSON(JSON.parse(JSON.stringify(index)));
    const next = restored.decide(call('b', [['user', 'q1'], ['assistant', 'a1'], ['user', 'q2']], 'a2'));
    expect(next).toMatchObject({ key: d.key, how: 'continued' });
    expect(restored.tip(d.key!)?.betas).toEqual(['context-1m-2025-08-07']);
    expect(ConversationIndex.fromJSON({ tips: [{ key: 'x', chain: ['not-hex'] }, null] }).size).toBe(0);
  });

  it('forgets the least recently used conversation beyond its capacity', () => {
    const index = new ConversationIndex(2);
    for (let i = 0; i < 3; i++) {
      const chain = chainHashes('openai', [{ role: 'user', content: `q${i}` }]);
      const call = { id: `c${i}`, provider: 'openai' as const, conversationId: null, fingerprint: null, chain, replyHash: replyHash('openai', chain, 'a'), model: null, status: 'ok' as const, betas: [] };
      const d = index.decide(call);
      index.record(d.key!, call, d);
    }
    expect(index.size).toBe(2);
  });
});
