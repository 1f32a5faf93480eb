import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, freshStart, summarizeWithModel, track, wrap } from 'vigilo';
import { useSidecar } from '../../test/fakes/harness';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';

const harness = useSidecar();
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ model: 'gpt-4o-mini-2024-07-18', reply: 'Current task:\n- User: write the README section' });
});
afterAll(() => fake.close());

const client = () => wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));

async function recorded(conversationId: string) {
  const sc = harness.sidecar();
  configure({ url: sc.url, token: sc.token, captureContent: true });
  await track(
    () =>
      client().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'Our loader reads data/sales_2025.csv. Please add a column for the region code.' },
          { role: 'assistant', content: 'I added region_code to load_sales() in etl/load.py.' },
          { role: 'user', content: 'Can you also write the README section about it?' }
        ]
      }),
    { conversationId }
  );
  await flush();
}

describe('context transfer from TypeScript', () => {
  it("asks the user's model for the offline summary's structure, under its own tracked conversation so its cost is recorded", async () => {
    await recorded('ts-etl');
    const summary = await summarizeWithModel(client(), { conversationId: 'ts-etl', model: 'gpt-4o-mini', budgetTokens: 300 });
    expect(summary).toEqual({ conversationId: 'ts-etl', method: 'model', text: fake.script.reply, note: null });
    const sent = fake.requests.at(-1)!.body;
    // The request is the sidecar's (one prompt for Python and TypeScript), sent as is.
    const served = (await harness.sidecar().get<{ hasContent: boolean; system: string; user: string; maxTokens: number }>('/llm/conversations/ts-etl/summary-request?budgetTokens=300')).body;
    expect(served.hasContent).toBe(true);
    expect(sent.messages).toEqual([{ role: 'system', content: served.system }, { role: 'user', content: served.user }]);
    expect(sent.max_completion_tokens).toBe(300);
    expect(served.user).toContain('USER: Our loader reads data/sales_2025.csv.');
    expect(sent.messages[0].content).toMatch(/Current task.*\n.*Decisions made.*\n.*Open questions.*\n.*Artifacts named.*\n.*\[brackets\]/);
    await flush();
    const [call] = await harness.calls('ts-etl:summary');
    expect(call).toMatchObject({ conversationId: 'ts-etl:summary', tags: { 'vigilo.purpose': 'context-summary' } });
    expect(call.costUsd).toBeGreaterThan(0);
  });

  it('falls back to the offline summary, with the reason, when the model call fails', async () => {
    await recorded('ts-failing');
    fake.failNext({ status: 500 });
    const summary = await summarizeWithModel(client(), { conversationId: 'ts-failing', model: 'gpt-4o-mini' });
    expect(summary.method).toBe('extractive');
    expect(summary.note).toMatch(/the model call failed \(InternalServerError/);
    expect(summary.text).toMatch(/Current task:\n- User: Can you also write the README section about it\?/);
  });

  it('opens the next conversation with the summary and the last turns, linked as the successor', async () => {
    await recorded('ts-long');
    const start = await freshStart('ts-long', { recentTokens: 100 });
    expect(start.conversationId).toBe('ts-long~1');
    expect(start.messages[0]).toEqual({ role: 'system', content: start.summary!.text });
    expect(start.messages.at(-1)!.content).toBe(fake.script.reply);
    expect(start.link.previousTokens).toBe(fake.script.promptTokens + fake.script.completionTokens);
    const withModel = await freshStart('ts-long', { client: client(), model: 'gpt-4o-mini', successorId: 'ts-long-b' });
    expect(withModel.messages[0].content).toBe(fake.script.reply);
    expect(withModel.link.summaryMethod).toBe('model');
  });
});
