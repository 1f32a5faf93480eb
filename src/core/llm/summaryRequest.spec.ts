import { describe, expect, it } from 'vitest';
import { summaryRequest } from './summaryRequest';

describe('the request that asks the user’s model for a summary', () => {
  it('asks for the offline summary’s sections and carries each message with its speaker and date, the system prompt left out', () => {
    const r = summaryRequest(
      [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', speaker: 'Caroline', date: '1:56 pm on 8 May, 2023', content: 'I went to a support group yesterday.' },
        { role: 'assistant', content: 'Noted: data/sales.csv.' }
      ],
      300
    );
    expect(r.maxTokens).toBe(300);
    expect(r.system).toMatch(/at most 300 tokens/);
    expect(r.system).toMatch(/Current task.*\n.*Decisions made.*\n.*Open questions.*\n.*Artifacts named.*\n.*\[brackets\]/);
    expect(r.user).toBe('Caroline (1:56 pm on 8 May, 2023): I went to a support group yesterday.\n\nASSISTANT: Noted: data/sales.csv.');
  });
});
