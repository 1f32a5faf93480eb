import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { runCli as run } from '../../../test/helpers/cli';
import { openaiEvent } from '../../../test/fakes/events';
import { json, startFake, type FakeServer } from '../../../test/fakes/server';
import { removeDir, startSidecar, tempDir, type TestSidecar } from '../../../test/fakes/sidecar';
import { PRICING_UPDATE_FILE } from './pricingUpdate';

/** The real LiteLLM file data/pricing.json was made from; each test edits a copy to play "today's" file. */
const REAL = JSON.parse(gunzipSync(readFileSync(join(import.meta.dirname, '../../../test/fixtures/pricing/litellm-1.110.2-model_prices.json.gz'))).toString('utf8'));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

async function sidecar(dir: string): Promise<TestSidecar> {
  const sc = await startSidecar(dir, new ManualClock(Date.parse('2026-11-30T12:00:00Z')));
  cleanups.push(() => sc.stop());
  return sc;
}

function dataDir(): string {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** A loopback "raw.githubusercontent.com" serving `body` (or failing). */
async function priceServer(answer: (res: any) => void): Promise<FakeServer> {
  const server = await startFake((_req, res) => answer(res));
  cleanups.push(() => server.close());
  return server;
}

/** Today's file: gpt-4o repriced, a new model, Claude 3 Haiku gone. */
function todaysFile() {
  const file = structuredClone(REAL);
  file['gpt-4o'].input_cost_per_token = 2e-6;
  file['gpt-9-mini'] = { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 1e-7, output_cost_per_token: 4e-7, max_input_tokens: 400000 };
  for (const key of Object.keys(file).filter(k => k.includes('claude-3-haiku'))) {
    delete file[key]; // every spelling (Anthropic, Vertex, Bedrock) of Claude 3 Haiku
  }
  return file;
}

const gpt4oCall = () => openaiEvent({ requestModel: 'gpt-4o', responseModel: 'gpt-4o', usage: { prompt_tokens: 1_000_000, completion_tokens: 0 } });

describe('POST /llm/pricing/update', () => {
  it('fetches the file, says what changed, prices new calls with it, and keeps it across a restart (0600)', async () => {
    const dir = dataDir();
    const server = await priceServer(res => json(res, 200, todaysFile()));
    const sc = await sidecar(dir);
    const r = await sc.send('POST', '/llm/pricing/update', { from: `${server.url}/model_prices_and_context_window.json` });
    expect(r.status).toBe(200);
    expect(r.body.added).toContain('gpt-9-mini');
    expect(r.body.repriced).toContainEqual({ model: 'gpt-4o', before: { input: 2.5, output: 10 }, after: { input: 2, output: 10 } });
    expect(r.body.removed).toContain('claude-3-haiku-20240307');
    expect(r.body.summary).toMatch(/Repriced \d+: .*gpt-4o \$2\.5\/\$10 → \$2\/\$10/);
    await sc.send('POST', '/llm/events', { events: [gpt4oCall()] });
    expect((await sc.get('/llm/usage')).body.costUsd).toBeCloseTo(2, 9);
    const pricing = (await sc.get('/llm/pricing')).body;
    // A shipped correction (Anthropic's own price for Claude Haiku 3.5; LiteLLM has only Vertex's $1/$5) stays.
    expect(pricing.models['claude-3-5-haiku-20241022']).toMatchObject({ input: 0.8, output: 4 });
    expect(r.body.repriced.map((c: { model: string }) => c.model)).not.toContain('claude-3-5-haiku-20241022');
    expect(pricing.imported).toMatchObject({ from: `${server.url}/model_prices_and_context_window.json`, at: '2026-11-30T12:00:00.000Z' });
    expect(pricing.litellm.version).toBe('1.110.2');
    expect(statSync(join(dir, PRICING_UPDATE_FILE)).mode & 0o777).toBe(0o600);
    await sc.stop();
    const again = await sidecar(dir);
    await again.send('POST', '/llm/events', { events: [gpt4oCall()] });
    expect((await again.get('/llm/usage')).body.costUsd).toBeCloseTo(2, 9);
  });

  it('keeps the previous prices when the source fails, is not JSON, or is not a LiteLLM price file', async () => {
    const dir = dataDir();
    const good = await priceServer(res => json(res, 200, todaysFile()));
    const sc = await sidecar(dir);
    expect((await sc.send('POST', '/llm/pricing/update', { from: `${good.url}/p.json` })).status).toBe(200);
    const kept = readFileSync(join(dir, PRICING_UPDATE_FILE), 'utf8');
    const broken = await priceServer(res => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"gpt-4o": {"input_cost_per_token": 1e-7,');
    });
    const down = await priceServer(res => json(res, 500, { error: 'down' }));
    const tiny = await priceServer(res => json(res, 200, { 'gpt-4o': { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 1e-9, output_cost_per_token: 1e-9 } }));
    for (const [server, status, message] of [
      [broken, 400, /not JSON/],
      [down, 502, /HTTP 500/],
      [tiny, 400, /holds 1 priced/]
    ] as const) {
      const r = await sc.send('POST', '/llm/pricing/update', { from: `${server.url}/p.json` });
      expect(r.status).toBe(status);
      expect(r.body.error.message).toMatch(/previous ones are kept/);
      expect(r.body.error.message).toMatch(message);
    }
    expect(readFileSync(join(dir, PRICING_UPDATE_FILE), 'utf8')).toBe(kept);
    await sc.send('POST', '/llm/events', { events: [gpt4oCall()] });
    expect((await sc.get('/llm/usage')).body.costUsd).toBeCloseTo(2, 9);
  });
});

describe('vigilo pricing update (CLI)', () => {
  it('without a sidecar: writes the update for the next start and prints what changed; a failure changes nothing', async () => {
    const dir = dataDir();
    const server = await priceServer(res => json(res, 200, todaysFile()));
    const ok = await run(['pricing', 'update', '--data-dir', dir], { VIGILO_PRICING_URL: `${server.url}/model_prices_and_context_window.json` });
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/Added \d+: .*gpt-9-mini/);
    expect(ok.out).toMatch(/the next one starts with these prices/);
    expect(existsSync(join(dir, PRICING_UPDATE_FILE))).toBe(true);
    const before = readFileSync(join(dir, PRICING_UPDATE_FILE), 'utf8');
    const down = await priceServer(res => json(res, 503, {}));
    const failed = await run(['pricing', 'update', '--data-dir', dir, '--from', `${down.url}/x.json`], {});
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/previous ones are kept.*HTTP 503/);
    expect(readFileSync(join(dir, PRICING_UPDATE_FILE), 'utf8')).toBe(before);
  });
});
