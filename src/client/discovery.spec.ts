import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, stats, wrap } from 'vigilo';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';
import { removeDir, startSidecar, tempDir } from '../../test/fakes/sidecar';

let fake: FakeOpenAI;
const dir = tempDir('vigilo-discovery-');
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
  removeDir(dir);
});

describe('finding the sidecar', () => {
  it('reads the discovery file of the data dir, again on every send, so a restarted sidecar is found', async () => {
    configure({ dataDir: dir, url: undefined, token: undefined });
    const openai = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

    const first = await startSidecar(dir);
    await openai.chat.completions.create(ask);
    await flush();
    expect((await first.get('/llm/usage')).body.calls).toBe(1);
    await first.stop();

    const second = await startSidecar(dir); // new port, same data dir
    try {
      expect(second.url).not.toBe(first.url);
      await openai.chat.completions.create(ask);
      await flush();
      expect((await second.get('/llm/cost?days=3650')).body.byProvider[0].calls).toBe(2);
      expect(stats()).toMatchObject({ delivered: 2, dropped: 0 });
    } finally {
      await second.stop();
    }
  });
});
