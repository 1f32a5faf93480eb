// The parsers whose patterns name non-ASCII characters (°, €, £, ’, –, —, •, ×). The sources write them
// as \uXXXX escapes so the sidecar bundle stays ASCII (V8 then keeps its 2.4 MB source one byte a
// character, not two): these cases fail if an escape names the wrong character.
import { describe, expect, it } from 'vitest';
import { numberCell } from './nvidiaSmi';
import { sentences, summarizeConversation } from './llm/summary';
import { acceleratorLine } from '../shared/runtimeFacts';

describe('patterns with non-ASCII characters, written as escapes', () => {
  it('reads a temperature cell in °C', () => {
    expect(numberCell('45 °C')).toBe(45);
    expect(numberCell('45 °F')).toBeNaN();
  });

  it('does not count a model name that already says "8 × ..." twice', () => {
    expect(acceleratorLine({ kind: 'tpu', model: '8 × TPU v5 lite', count: 8 } as Parameters<typeof acceleratorLine>[0])).toMatch(/^8 × TPU v5 lite · 8 chips/);
    expect(acceleratorLine({ kind: 'gpu', model: 'Tesla T4', count: 2 } as Parameters<typeof acceleratorLine>[0])).toMatch(/^2 × Tesla T4/);
  });

  it('takes the bullet off a "•" list item', () => {
    expect(sentences('• Load the data from the bucket.\n• Train the model overnight.')).toEqual(['Load the data from the bucket.', 'Train the model overnight.']);
  });

  it('lists euro and pound amounts as artifacts', () => {
    const s = summarizeConversation({ conversationId: 'c', messages: [{ role: 'user', content: 'The GPU budget is €1,200 a month and the storage £300; please plan the runs within it.' }], budgetTokens: 300 });
    const artifacts = s.sections.artifacts.join(' ');
    expect(artifacts).toContain('€1,200');
    expect(artifacts).toContain('£300');
  });

  it('drops a closing evaluation after an en or em dash, and keeps a hedge after a curly "n’t"', () => {
    for (const dash of ['–', '—']) {
      const s = summarizeConversation({ conversationId: 'c', messages: [{ role: 'user', content: `I went to the support group meeting in town ${dash} it was so powerful!` }], budgetTokens: 300 });
      expect(s.text).toContain('I went to the support group meeting in town.');
      expect(s.text).not.toContain('powerful');
    }
    const kept = summarizeConversation({ conversationId: 'c', messages: [{ role: 'user', content: 'Please don’t just rerun the tests on the cluster.' }], budgetTokens: 300 });
    expect(kept.text).toContain('don’t just rerun');
  });
});
