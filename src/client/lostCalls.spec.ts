import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, stats, wrap } from 'vigilo';
import { LlmEventsBody } from '../shared/llm-api';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';
import { json, startFake } from '../../test/fakes/server';
import { removeDir, startSidecar, tempDir } from '../../test/fakes/sidecar';

/**
 * Issue 17.3, "dropped events are counted and shown", for the TypeScript client: it has no heartbeat, so once it
 * dropped events its next POST /llm/events carries its counters (`client`), and the sidecar shows them like a
 * kernel's (GET /llm/usage `lost`, one alert). A real sidecar (in process) and the real OpenAI SDK against a loopback fake.
 */
let fake: FakeOpenAI;
const cleanups: Array<() => Promise<void> | void> = [];
const ask = (i: number) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: `call ${i}` }] });

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

describe('calls the TypeScript client lost', () => {
  it('past the disk bound: counted with the reason, sent with the next batch, shown by the sidecar with one alert', async () => {
    const dir = tempDir('vigilo-ts-lost-');
    cleanups.push(() => removeDir(dir));
    configure({ dataDir: dir, url: undefined, token: undefined, maxBufferedEvents: 4, batchSize: 2, maxSpooledBytes: 8 * 1024, flushIntervalMs: 60_000 });
    const client = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));
    for (let i = 0; i < 60; i++) {
      await client.chat.completions.create(ask(i));
    }
    const dropped = stats().dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(stats().lastDrop).toMatch(/^the disk buffer \(.*llm-spool, 8 KiB\) is full$/);

    const sc = await startSidecar(dir); // writes <dir>/sidecar.json: the client finds it there
    cleanups.push(() => sc.stop());
    expect(await flush()).toBe(false); // what was kept is stored; the drops are said once
    const usage = (await sc.get('/llm/usage')).body;
    expect(usage.calls).toBe(60 - dropped);
    expect(usage.lost.calls).toBe(dropped);
    const [source] = usage.lost.sources;
    expect(source).toMatchObject({ kind: 'client', calls: dropped, reason: stats().lastDrop });
    expect(source.id).toMatch(/^node-\d+-[0-9a-f]{6}$/);
    expect(source.message).toMatch(new RegExp(`^${dropped} LLM calls from the TypeScript client ${source.id} were not recorded: the disk buffer .* is full\\. .*maxSpooledBytes`));
    expect(usage.lost.summary).toBe(`${dropped} calls lost: ${stats().lastDrop}`);

    await client.chat.completions.create(ask(60));
    expect(await flush()).toBe(true);
    const alerts = sc.sidecar.ctx.alerts.list({ ruleId: 'llm.lost' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toBe(source.message);
    configure({ maxSpooledBytes: 64 * 1024 * 1024, maxBufferedEvents: 2000, batchSize: 100 });
  }, 60_000);

  it('a batch refused for good is counted with its status; a sidecar older than the `client` field still stores every event', async () => {
    const dir = tempDir('vigilo-ts-lost-old-');
    cleanups.push(() => removeDir(dir));
    const older = LlmEventsBody.omit({ client: true }).strict(); // the body schema before this field
    const stored = new Set<string>();
    let refuse = true;
    const sidecar = await startFake((req, res) => {
      const parsed = older.safeParse(req.body);
      if (!parsed.success) {
        return json(res, 400, { error: { code: 'bad_request', message: parsed.error.message } });
      }
      if (refuse && parsed.data.events.length > 0) {
        refuse = false;
        return json(res, 422, { error: { code: 'unprocessable', message: 'refused' } });
      }
      parsed.data.events.forEach(e => stored.add(e.id));
      json(res, 200, { accepted: parsed.data.events.length, duplicates: 0, budget: { hardStop: false, reason: null } });
    });
    cleanups.push(() => sidecar.close());
    configure({ dataDir: dir, url: sidecar.url, token: 't', maxBufferedEvents: 2000, batchSize: 100 });
    const client = wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));
    const before = stats().dropped;
    await client.chat.completions.create(ask(0));
    expect(await flush()).toBe(false);
    expect(stats().dropped).toBe(before + 1);
    expect(stats().lastDrop).toBe('the sidecar refused them (HTTP 422)');
    for (let i = 1; i <= 3; i++) {
      await client.chat.completions.create(ask(i));
    }
    expect(await flush()).toBe(true);
    expect(stored.size).toBe(3);
    expect(sidecar.requests.some(r => r.body?.client)).toBe(true); // tried once, refused (400), then sent without it
    expect(sidecar.requests.at(-1)!.body.client).toBeUndefined();
    expect(stats().dropped).toBe(before + 1);
  }, 30_000);
});
