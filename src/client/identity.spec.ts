import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, wrap } from 'vigilo';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/fakes/anthropic';
import { useSidecar } from '../../test/fakes/harness';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';

/** Conversation identity end to end: the real SDKs, the Vigilo client, a real sidecar. */
const harness = useSidecar();
let openaiFake: FakeOpenAI;
let anthropicFake: FakeAnthropic;
beforeAll(async () => {
  openaiFake = await startFakeOpenAI({ model: 'gpt-4o-2024-08-06', reply: 'Day 1: Alfama.' });
  anthropicFake = await startFakeAnthropic({ model: 'claude-sonnet-4-20250514' });
});
afterAll(async () => {
  await openaiFake.close();
  await anthropicFake.close();
});

type Msg = { role: 'system' | 'user' | 'assistant'; content: string };

describe('conversations follow the message chain', () => {
  it('keeps a growing chat, forks a branch with a link to its parent, and does not merge an unrelated session', async () => {
    configure({ captureContent: false }); // identity does not need the content
    const openai = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: openaiFake.baseURL, maxRetries: 0 }));
    const opening: Msg[] = [{ role: 'system', content: 'You plan trips.' }, { role: 'user', content: 'Plan Lisbon.' }];
    const ask = (messages: Msg[]) => openai.chat.completions.create({ model: 'gpt-4o', messages });
    const a1 = await ask(opening);
    const history: Msg[] = [...opening, { role: 'assistant', content: a1.choices[0].message.content! }];
    await ask([...history, { role: 'user', content: 'And day 2?' }]);
    await ask([...history, { role: 'user', content: 'Make day 2 about food.' }]); // a branch
    await ask(opening); // an unrelated session that opens the same way
    const ids = (await harness.calls()).slice(-4).map(c => c.conversationId!);
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);
    const fork = (await harness.sidecar().get(`/llm/health/${ids[2]}`)).body;
    expect(fork.parent).toEqual({ conversationId: ids[0], sharedMessages: 3 });
    expect((await harness.sidecar().get(`/llm/health/${ids[3]}`)).body.parent).toBeNull();
    configure({ captureContent: true });
  });

  it('does not merge one-shot calls across models', async () => {
    const openai = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: openaiFake.baseURL, maxRetries: 0 }));
    for (const model of ['gpt-4o-mini', 'gpt-4.1', 'o4-mini']) {
      await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Translate to French: good morning' }] });
    }
    const ids = (await harness.calls()).slice(-3).map(c => c.conversationId);
    expect(new Set(ids).size).toBe(3);
  });

  it('measures claude-sonnet-4 against 1M only when the request sends the context-1m beta', async () => {
    anthropicFake.script.inputTokens = 190_000;
    anthropicFake.script.cacheCreationTokens = 0;
    anthropicFake.script.cacheReadTokens = 0;
    const claude = wrap(new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: anthropicFake.baseURL, maxRetries: 0 }));
    const params = { model: 'claude-sonnet-4-20250514', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Long document…' }] };
    await claude.messages.create(params);
    await claude.messages.create({ ...params, messages: [{ role: 'user', content: 'Another long document…' }] }, { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } });
    const byDefault = wrap(new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: anthropicFake.baseURL, maxRetries: 0, defaultHeaders: { 'anthropic-beta': 'context-1m-2025-08-07' } }));
    await byDefault.messages.create({ ...params, messages: [{ role: 'user', content: 'A third long document…' }] });
    const [plain, beta, fromClient] = (await harness.calls()).slice(-3);
    // 190,000 + 150 out: 95 % of 200K without the beta, 19 % of 1M with it (request or client headers).
    expect(plain.contextPercent).toBeCloseTo(95.075, 2);
    expect(beta.contextPercent).toBeCloseTo(19.015, 2);
    expect(fromClient.contextPercent).toBeCloseTo(19.015, 2);
  });
});

describe('conversation identity across a sidecar restart', () => {
  it('continues a chat under the same id after the sidecar stops and starts again (0600 file)', async () => {
    const { removeDir, startSidecar, tempDir } = await import('../../test/fakes/sidecar');
    const { readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempDir('vigilo-identity-');
    try {
      const chain1 = (await import('../core/llm/fingerprint')).chainHashes('openai', [{ role: 'user', content: 'Plan Porto.' }]);
      const { replyHash, chainHashes } = await import('../core/llm/fingerprint');
      const { openaiEvent } = await import('../../test/fakes/events');
      const first = await startSidecar(dir);
      await first.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: null, chain: chain1, replyHash: replyHash('openai', chain1, 'Day 1: Ribeira.') })] });
      const id1 = (await first.get('/llm/calls?limit=1')).body.calls[0].conversationId;
      await first.stop();
      expect(statSync(join(dir, 'llm-identity.json')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, 'llm-identity.json'), 'utf8')).not.toMatch(/Porto/);
      const second = await startSidecar(dir);
      const chain2 = chainHashes('openai', [
        { role: 'user', content: 'Plan Porto.' },
        { role: 'assistant', content: 'Day 1: Ribeira.' },
        { role: 'user', content: 'Day 2?' }
      ]);
      await second.send('POST', '/llm/events', { events: [openaiEvent({ conversationId: null, chain: chain2, replyHash: null })] });
      expect((await second.get('/llm/calls?limit=1')).body.calls[0].conversationId).toBe(id1);
      await second.stop();
    } finally {
      removeDir(dir);
    }
  });
});
