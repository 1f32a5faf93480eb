import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { openaiEvent } from '../../../test/fakes/events';
import { removeDir, startSidecar, tempDir, type TestSidecar } from '../../../test/fakes/sidecar';
import { SUCCESSORS_FILE } from './successors';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

async function sidecar(dir = tempDir()): Promise<TestSidecar> {
  const sc = await startSidecar(dir, new ManualClock(Date.parse('2026-03-02T12:00:00Z')));
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => sc.stop());
  return sc;
}

const long = Array.from({ length: 40 }, (_, i) => ({
  role: i % 2 ? 'assistant' : 'user',
  content: i % 2 ? `Step ${i}: I updated src/parser_${i}.ts so it now handles case ${i}.` : `Please fix the parser for case ${i + 1} in src/parser_${i + 1}.ts.`
}));

/** A conversation of 40 turns whose last prompt was 90 000 tokens (gpt-4o-mini: $0.15 per 1M input tokens). */
async function recorded(sc: TestSidecar, conversationId: string) {
  const event = openaiEvent({
    conversationId,
    messages: [{ role: 'system', content: 'You fix parsers.' }, ...long.slice(0, -1)],
    output: long[long.length - 1].content,
    usage: { prompt_tokens: 90_000, completion_tokens: 300, total_tokens: 90_300 }
  });
  expect((await sc.send('POST', '/llm/events', { events: [event] })).status).toBe(200);
}

describe('context transfer routes', () => {
  it('summarises messages sent in the body, offline, and refuses an empty list with a 400', async () => {
    const sc = await sidecar();
    const r = await sc.send('POST', '/llm/summary', { messages: long, budgetTokens: 300 });
    expect(r.status).toBe(200);
    expect(r.body.method).toBe('extractive');
    expect(r.body.tokens).toBeLessThanOrEqual(300);
    expect(r.body.sections.task[0]).toMatch(/^User: Please fix the parser for case 39/);
    const bad = await sc.send('POST', '/llm/summary', { messages: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/messages/);
  });

  it('opens a fresh conversation with the summary and the last turns, links it as the successor and shows the cost saved per message', async () => {
    const dir = tempDir();
    const sc = await sidecar(dir);
    await recorded(sc, 'parser-work');
    const r = await sc.send('POST', '/llm/conversations/parser-work/fresh-start', { budgetTokens: 400, recentTokens: 60 });
    expect(r.status).toBe(200);
    const { messages, link, summary } = r.body;
    expect(messages[0].role).toBe('system');
    expect(messages[0].content).toBe(summary.text);
    expect(messages[1].role).toBe('user');
    expect(messages[messages.length - 1].content).toBe(long[long.length - 1].content);
    expect(link).toMatchObject({ conversationId: 'parser-work', successorId: 'parser-work~1', previousTokens: 90_300, summaryMethod: 'extractive', createdAt: '2026-03-02T12:00:00.000Z' });
    // The context the next message would have carried: the last prompt plus its answer.
    expect(link.savedTokensPerMessage).toBe(90_300 - link.freshTokens);
    expect(link.savedUsdPerMessage).toBeCloseTo((link.savedTokensPerMessage * 0.15) / 1e6, 12);
    // The successor continues the chain, and a fresh start of it becomes "~2".
    await recorded(sc, 'parser-work~1');
    const next = await sc.send('POST', '/llm/conversations/parser-work~1/fresh-start', {});
    expect(next.body.link.successorId).toBe('parser-work~2');
    const chain = (await sc.get('/llm/conversations/parser-work~2/chain')).body.chain;
    expect(chain.map((l: any) => `${l.conversationId}>${l.successorId}`)).toEqual(['parser-work>parser-work~1', 'parser-work~1>parser-work~2']);
    expect(statSync(join(dir, SUCCESSORS_FILE)).mode & 0o777).toBe(0o600);
    expect((await sc.get('/llm/chains')).body.links.map((l: any) => l.successorId)).toEqual(['parser-work~1', 'parser-work~2']);
  });

  it('keeps the chain across a restart and takes a summary written by a model', async () => {
    const dir = tempDir();
    const first = await startSidecar(dir, new ManualClock(Date.parse('2026-03-02T12:00:00Z')));
    cleanups.push(() => removeDir(dir));
    await recorded(first, 'essay');
    const r = await first.send('POST', '/llm/conversations/essay/fresh-start', { successorId: 'essay-part-2', summaryText: 'Current task:\n- User: finish the essay' });
    expect(r.body.summary).toBeNull();
    expect(r.body.messages[0]).toEqual({ role: 'system', content: 'Current task:\n- User: finish the essay' });
    expect(r.body.link.summaryMethod).toBe('model');
    await first.stop();
    const second = await sidecar(dir);
    expect((await second.get('/llm/conversations/essay/chain')).body.chain.map((l: any) => l.successorId)).toEqual(['essay-part-2']);
  });

  it('answers 404 for an unknown conversation and 400 when its content was not captured', async () => {
    const sc = await sidecar();
    expect((await sc.send('POST', '/llm/conversations/nope/fresh-start', {})).status).toBe(404);
    await sc.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: 'quiet' })] });
    const quiet = await sc.send('POST', '/llm/conversations/quiet/fresh-start', {});
    expect(quiet.status).toBe(400);
    expect(quiet.body.error.message).toMatch(/without its content/);
    expect((await sc.get('/llm/conversations/quiet/chain')).body.chain).toEqual([]);
  });
});
