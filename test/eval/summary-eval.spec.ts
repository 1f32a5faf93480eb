import { describe, expect, it } from 'vitest';
import { evaluate, loadEvalSet } from './evaluate';

describe('context-transfer summary on the evaluation set', () => {
  const set = loadEvalSet();

  it('has at least ten conversations with planted facts of every kind', () => {
    expect(set.conversations.length).toBeGreaterThanOrEqual(10);
    const kinds = new Set(set.conversations.flatMap(c => c.facts.map(f => f.kind)));
    expect([...kinds].sort()).toEqual(['decision', 'fact', 'preference', 'task']);
    for (const c of set.conversations) {
      const all = c.messages.map(m => m.content).join('\n');
      for (const f of c.facts) {
        expect(all, `${c.id}: ${f.needle}`).toContain(f.needle);
      }
    }
  });

  it('keeps most planted facts within its token budget, and every task in progress', () => {
    const r = evaluate(set);
    console.log(`summary retention at ${r.budgetTokens} tokens: ${r.kept}/${r.facts}`, r.byKind, r.missing);
    expect(r.maxSummaryTokens).toBeLessThanOrEqual(r.budgetTokens);
    expect(r.kept / r.facts).toBeGreaterThanOrEqual(0.8);
    expect(r.byKind.task.kept).toBe(r.byKind.task.facts);
  });

  it('is deterministic', () => {
    expect(evaluate(set)).toEqual(evaluate(set));
  });

  it('keeps fewer facts when the budget shrinks, never more than fit', () => {
    const small = evaluate(set, 120);
    expect(small.maxSummaryTokens).toBeLessThanOrEqual(120);
    expect(small.kept).toBeLessThan(evaluate(set).kept);
  });
});
