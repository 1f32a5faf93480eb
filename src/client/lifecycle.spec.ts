import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configure, flush, stats, track, wrap } from 'vigilo';
import { readDiscovery } from '../server/core/discovery';
import { runCli, type RunningCli } from '../../test/sidecarProcess';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/fakes/openai';
import { removeDir, tempDir } from '../../test/fakes/sidecar';

/**
 * Issue 17.3 for the TypeScript client: nothing sent is lost while the sidecar
 * is killed and restarted, the memory buffer spills to the data dir's outbox
 * (0600) past its bound and at exit, and the outbox has a byte bound of its own.
 * Real sidecar processes (the CLI), the real OpenAI SDK against a loopback fake.
 */
let fake: FakeOpenAI;
let dir: string;
const running: RunningCli[] = [];
const ask = (i: number) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: `call ${i}` }] });
const openai = () => wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: fake.baseURL, maxRetries: 0 }));

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  removeDir(dir);
});

async function serve(): Promise<RunningCli> {
  const sc = await runCli(['serve', '--port', '0', '--json', '--interval', '60000'], { VIGILO_DATA_DIR: dir, VIGILO_TOKEN: '' }, 30_000);
  running.push(sc);
  return sc;
}

async function storedIds(conversationId: string): Promise<string[]> {
  const d = readDiscovery(dir)!;
  const response = await fetch(`${d.url}/llm/calls?limit=1000&conversationId=${conversationId}`, { headers: { authorization: `Bearer ${d.token}` } });
  return ((await response.json()) as { calls: Array<{ id: string }> }).calls.map(c => c.id);
}

function outboxFiles(): string[] {
  const box = join(dir, 'llm-spool');
  return existsSync(box) ? readdirSync(box).filter(n => n.includes('.jsonl') && !n.startsWith('.')).map(n => join(box, n)) : [];
}

function outboxEvents(): number {
  return outboxFiles().reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 0);
}

describe('the TypeScript client across sidecar deaths', () => {
  it('kill -9 of the sidecar three times under calls every 50 ms: after each restart every call is stored exactly once', async () => {
    dir = tempDir('vigilo-ts-kill-');
    configure({ dataDir: dir, url: undefined, token: undefined, flushIntervalMs: 50, timeoutMs: 1000 });
    let sidecar = await serve();
    const client = openai();
    let made = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await track(() => client.chat.completions.create(ask(made)), { conversationId: 'ts-kill-loop' });
        made++;
        await new Promise(r => setTimeout(r, 50));
      }
    })();
    const backAfter: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const already = (await storedIds('ts-kill-loop')).length;
      while ((await storedIds('ts-kill-loop')).length < already + 5) {
        await new Promise(r => setTimeout(r, 20));
      }
      sidecar.child.kill('SIGKILL');
      await sidecar.exited;
      const madeAtKill = made;
      // Calls go on with no sidecar (what the kernel's heartbeat then restarts).
      while (made < madeAtKill + 5) {
        await new Promise(r => setTimeout(r, 20));
      }
      const t0 = performance.now();
      sidecar = await serve();
      backAfter.push(performance.now() - t0);
    }
    stop = true;
    await loop;
    expect(await flush()).toBe(true);
    const ids = await storedIds('ts-kill-loop');
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(made);
    expect(stats()).toMatchObject({ dropped: 0, buffered: 0, spooled: 0 });
    console.log(`TS kill loop: ${made} calls made, ${ids.length} stored; restart to listening ${backAfter.map(ms => (ms / 1000).toFixed(2)).join(', ')} s`);
  }, 120_000);

  it('past the memory bound the oldest events wait on disk (0600), and all are stored once a sidecar answers', async () => {
    dir = tempDir('vigilo-ts-spill-');
    configure({ dataDir: dir, url: undefined, token: undefined, maxBufferedEvents: 10, batchSize: 4, flushIntervalMs: 60_000 });
    const client = openai();
    for (let i = 0; i < 45; i++) {
      await track(() => client.chat.completions.create(ask(i)), { conversationId: 'ts-spill' });
    }
    expect(stats().buffered).toBeLessThanOrEqual(10);
    expect(stats().buffered + stats().spooled).toBe(45);
    expect(outboxEvents()).toBe(stats().spooled);
    expect(statSync(join(dir, 'llm-spool')).mode & 0o777).toBe(0o700);
    for (const file of outboxFiles()) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(await flush()).toBe(false); // no sidecar yet: kept, not dropped
    expect(stats().dropped).toBe(0);
    await serve();
    expect(await flush()).toBe(true);
    const ids = await storedIds('ts-spill');
    expect(ids.length).toBe(45);
    expect(new Set(ids).size).toBe(45);
    expect(outboxFiles()).toEqual([]);
    expect(stats()).toMatchObject({ buffered: 0, spooled: 0, spoolBytes: 0 });
  }, 60_000);

  it('the outbox keeps to its byte bound: past it the oldest events are dropped and counted, and flush says so', async () => {
    dir = tempDir('vigilo-ts-bound-');
    const dropped0 = stats().dropped;
    configure({ dataDir: dir, url: undefined, token: undefined, maxBufferedEvents: 4, batchSize: 2, maxSpooledBytes: 8 * 1024, flushIntervalMs: 60_000 });
    const client = openai();
    for (let i = 0; i < 60; i++) {
      await client.chat.completions.create(ask(i));
    }
    const bytes = outboxFiles().reduce((n, f) => n + statSync(f).size, 0);
    expect(bytes).toBeLessThanOrEqual(8 * 1024);
    expect(stats().dropped - dropped0).toBe(60 - stats().buffered - outboxEvents());
    expect(stats().dropped - dropped0).toBeGreaterThan(0);
    await serve();
    expect(await flush()).toBe(false); // all that was kept is stored, but some were dropped
    expect(await flush()).toBe(true);
    configure({ maxSpooledBytes: 64 * 1024 * 1024, maxBufferedEvents: 2000, batchSize: 100 });
  }, 60_000);

  it('what is unsent at exit waits in the outbox and the next process delivers it', async () => {
    dir = tempDir('vigilo-ts-exit-');
    // Beside node_modules, so the bundle's external packages (openai, zod) resolve.
    const bundleDir = mkdtempSync(join(__dirname, '..', '..', 'node_modules', '.cache', 'vigilo-client-'));
    const bundle = join(bundleDir, 'client.cjs');
    await build({ entryPoints: [join(__dirname, 'index.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: bundle, logLevel: 'error' });
    const script = `
      const OpenAI = require('openai').default ?? require('openai');
      const v = require(${JSON.stringify(bundle)});
      v.configure({ dataDir: ${JSON.stringify(dir)}, flushIntervalMs: 60000 });
      const c = v.wrap(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: ${JSON.stringify(fake.baseURL)}, maxRetries: 0 }));
      (async () => {
        for (let i = 0; i < 7; i++) await v.track(() => c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'exit ' + i }] }), { conversationId: 'ts-exit' });
        process.exit(0);
      })();`;
    // Not spawnSync: the child calls the fake provider that this process serves.
    const child = spawn(process.execPath, ['-e', script], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', chunk => (stderr += String(chunk)));
    const code = await new Promise(resolve => child.once('exit', resolve));
    removeDir(bundleDir);
    expect(code, stderr).toBe(0);
    expect(outboxEvents()).toBe(7);
    configure({ dataDir: dir, url: undefined, token: undefined });
    await serve();
    // This process has nothing of its own: its flush sends the outbox an earlier process left.
    expect(await flush()).toBe(true);
    expect((await storedIds('ts-exit')).length).toBe(7);
    expect(outboxFiles()).toEqual([]);
  }, 60_000);

  it('one spool with the Python client: each delivers what the other left (vigilo/llm/_spool.py, run for real)', async () => {
    dir = tempDir('vigilo-ts-shared-spool-');
    configure({ dataDir: dir, url: undefined, token: undefined, maxBufferedEvents: 2, batchSize: 2, maxSpooledBytes: 64 * 1024 * 1024, flushIntervalMs: 60_000 });
    const client = openai();
    for (let i = 0; i < 6; i++) {
      await track(() => client.chat.completions.create(ask(i)), { conversationId: 'ts-shared' });
    }
    const written = outboxEvents();
    expect(written).toBeGreaterThanOrEqual(4);
    // Python claims and reads the TypeScript client's files, then writes them back as its own.
    const python = join(__dirname, '..', '..', '.venv', 'bin', 'python');
    const code = `
import json, sys
from vigilo.llm._spool import Spool
spool = Spool(sys.argv[1], 1 << 26)
events = []
while True:
    claim = spool.claim()
    if claim is None:
        break
    events += claim.events
    claim.done()
print(spool.write(events))`;
    const child = spawn(python, ['-c', code, dir], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', chunk => (out += String(chunk)));
    child.stderr!.on('data', chunk => (err += String(chunk)));
    expect(await new Promise(resolve => child.once('exit', resolve)), err).toBe(0);
    expect(Number(out.trim())).toBe(written);
    expect(outboxFiles().every(f => !f.includes(`-${process.pid}-`))).toBe(true); // now Python's files
    await serve();
    expect(await flush()).toBe(true);
    expect((await storedIds('ts-shared')).length).toBe(6);
    expect(outboxFiles()).toEqual([]);
    configure({ maxBufferedEvents: 2000, batchSize: 100 });
  }, 60_000);
});
