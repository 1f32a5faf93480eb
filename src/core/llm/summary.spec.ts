import { describe, expect, it } from 'vitest';
import { estimateTokens, summarizeConversation, type SummaryMessage } from './summary';

const coding: SummaryMessage[] = [
  { role: 'system', content: 'You are a coding assistant.' },
  { role: 'user', content: 'Hi! Hope you are well.' },
  { role: 'user', content: 'Our service reads config from config/settings.yaml and listens on port 8080. Please write a health check endpoint in src/server/health.ts.' },
  { role: 'assistant', content: 'Sure! Here is a first version:\n```ts\nexport function health() { return { ok: true }; }\n```\nIt answers 200 with {"ok": true}.' },
  { role: 'user', content: "Actually the port is 9090 now, we moved it. Let's go with a /healthz route instead of /health." },
  { role: 'assistant', content: 'Agreed! I renamed the route to /healthz and read the port from settings.yaml. Should the check also ping the database?' },
  { role: 'user', content: 'Thanks, great work!' },
  { role: 'user', content: 'Take care!' }
];

describe('offline context-transfer summary', () => {
  it('names the last substantive request as the current task, never a sign-off', () => {
    const s = summarizeConversation({ conversationId: 'c', messages: coding, budgetTokens: 400 });
    expect(s.sections.task).toHaveLength(2);
    expect(s.sections.task[0]).toMatch(/^User: Please write a health check endpoint in src\/server\/health\.ts\.$/);
    // Where the work stands: the last reply after the request.
    expect(s.sections.task[1]).toMatch(/^Assistant \(latest\): I renamed the route to \/healthz/);
    expect(s.text).not.toMatch(/Take care|Thanks, great work|Hi! Hope/);
  });

  it('keeps decisions only where something was decided, and the open question left to the user', () => {
    const s = summarizeConversation({ conversationId: 'c', messages: coding, budgetTokens: 400 });
    expect(s.sections.decisions.join('\n')).toMatch(/Let's go with a \/healthz route/);
    expect(s.sections.decisions.join('\n')).not.toMatch(/^Assistant: Agreed!$/m);
    expect(s.sections.openQuestions.join('\n')).toMatch(/Should the check also ping the database\?/);
  });

  it('lists the artifacts named: files, routes, ports', () => {
    const s = summarizeConversation({ conversationId: 'c', messages: coding, budgetTokens: 400 });
    const artifacts = s.sections.artifacts.join(' ');
    for (const a of ['config/settings.yaml', 'src/server/health.ts', 'settings.yaml']) {
      expect(artifacts).toContain(a);
    }
    expect(s.text).toContain('9090');
  });

  it('keeps who said what and anchors relative dates to the day they were said', () => {
    const messages: SummaryMessage[] = [
      { role: 'user', speaker: 'Caroline', date: '1:56 pm on 8 May, 2023', content: 'Hey Mel! Good to see you! How have you been?' },
      { role: 'assistant', speaker: 'Melanie', content: "Hey Caroline! I'm swamped with the kids & work. What's up with you?" },
      { role: 'user', speaker: 'Caroline', content: 'I went to a LGBTQ support group yesterday and it was so powerful.' },
      { role: 'assistant', speaker: 'Melanie', content: 'Wow, that\'s cool, Caroline! I ran a charity race for mental health last Saturday.' },
      { role: 'user', speaker: 'Caroline', content: 'Agreed, Mel! Take care!' }
    ];
    const s = summarizeConversation({ conversationId: 'c', messages, budgetTokens: 300 });
    expect(s.text).toContain('8 May 2023:');
    // One bullet per speaker and day, in the order they first spoke; the closing evaluation ("and it was so powerful") goes.
    expect(s.text).toContain(
      "8 May 2023:\n- Melanie: I'm swamped with the kids & work. I ran a charity race for mental health last Saturday [the Saturday before 8 May 2023].\n" +
        '- Caroline: I went to a LGBTQ support group yesterday [7 May 2023].'
    );
    expect(s.sections.decisions).toEqual([]);
    expect(s.text).not.toMatch(/Good to see you|Take care|What's up/);
    const hedged = summarizeConversation({
      conversationId: 'c',
      messages: [{ role: 'user', content: "I really just love the new parser in etl/load.py. Please don't just rerun the tests, read tests/test_load.py first." }],
      budgetTokens: 200
    });
    expect(hedged.text).toContain('I love the new parser in etl/load.py.');
    expect(hedged.text).toContain("don't just rerun the tests");
  });

  it('fills a larger budget when asked for more, never more than the budget', () => {
    const long: SummaryMessage[] = Array.from({ length: 120 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Step ${i}: the parser in module_${i}.py now handles case ${i * 7} with a lookup table of ${i + 3} entries.`
    }));
    const sizes = [200, 800, 2000].map(b => summarizeConversation({ conversationId: 'c', messages: long, budgetTokens: b }).tokens);
    expect(sizes[0]).toBeLessThanOrEqual(200);
    expect(sizes[1]).toBeLessThanOrEqual(800);
    expect(sizes[2]).toBeLessThanOrEqual(2000);
    expect(sizes[1]).toBeGreaterThan(0.9 * 800);
    expect(sizes[2]).toBeGreaterThan(0.9 * 2000);
  });

  it('is the same for the same input and says when there was no content', () => {
    expect(summarizeConversation({ conversationId: 'c', messages: coding, budgetTokens: 300 })).toEqual(summarizeConversation({ conversationId: 'c', messages: coding, budgetTokens: 300 }));
    const none = summarizeConversation({ conversationId: 'c', messages: null, budgetTokens: 300 });
    expect(none.hasContent).toBe(false);
    expect(none.tokens).toBe(estimateTokens(none.text));
  });
});
