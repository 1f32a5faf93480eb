import { describe, expect, it } from 'vitest';
import { summarizeConversation, type SummaryMessage } from '../../src/core/llm/summary';
import { centroid } from './baselines';
import { loadWorking, probe } from './working';

const set = loadWorking();
const ours = (m: SummaryMessage[], budgetTokens: number) => summarizeConversation({ conversationId: 'w', messages: m, budgetTokens }).text;

describe('context-transfer summary on working conversations (public agent transcripts)', () => {
  it('has coding, analysis and writing conversations, each citing its source, with probes of the four kinds found in the conversation', () => {
    expect(new Set(set.map(c => c.kind))).toEqual(new Set(['coding', 'analysis', 'writing']));
    expect(new Set(set.flatMap(c => c.probes.map(p => p.kind)))).toEqual(new Set(['recall', 'artifact', 'continuation', 'decision']));
    for (const c of set) {
      expect(c.source.repository).toMatch(/^https:\/\/github\.com\//);
      expect(c.source.commit).toMatch(/^[0-9a-f]{40}$/);
      const all = c.messages.map(m => m.content).join('\n');
      for (const p of c.probes) {
        expect(all, `${c.id}: ${p.needle}`).toContain(p.needle);
      }
    }
  });

  it('keeps at least 13 of 16 probes at 800 tokens, every continuation probe, and more than the centroid baseline', () => {
    const r = probe(set, ours, 800);
    expect(r.kept, r.missed.join('\n')).toBeGreaterThanOrEqual(13);
    expect(r.byKind.continuation.kept).toBe(r.byKind.continuation.probes);
    expect(r.byKind.artifact.kept).toBe(r.byKind.artifact.probes);
    expect(r.kept).toBeGreaterThan(probe(set, centroid, 800).kept);
  });

  it('keeps at least 12 of 16 probes at 400 tokens', () => {
    expect(probe(set, ours, 400).kept).toBeGreaterThanOrEqual(12);
  });
});
