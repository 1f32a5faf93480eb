import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openaiEvent } from '../../../test/fakes/events';
import { removeDir, tempDir } from '../../../test/fakes/sidecar';
import { runCli, type RunningCli } from '../../../test/sidecarProcess';
import { engineRuns } from '../../../test/storageNodes';
import { utcDayKey } from '../../shared/costBuckets';
import { LlmStore } from './llmStore';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const TOKEN = 'durability-token';

async function post(sc: RunningCli, events: unknown[]): Promise<boolean> {
  try {
    const r = await fetch(`${sc.announce.url}/llm/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events })
    });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false; // the process died before answering: not acknowledged
  }
}

// Both engines where this machine has them (node:sqlite needs Node >= 22.13: this one or the wheel's in .venv).
describe.each(engineRuns())('kill -9 of the sidecar during writes ($engine)', ({ node, env: engineEnv }) => {
  it('restarts every time and keeps every acknowledged event', async () => {
    const dataDir = tempDir('vigilo-kill-');
    cleanups.push(() => removeDir(dataDir));
    const env = { VIGILO_DATA_DIR: dataDir, VIGILO_TOKEN: TOKEN, ...engineEnv };
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) {
      const sc = await runCli(['serve', '--port', '0', '--json'], env, 15_000, node);
      cleanups.push(() => void sc.child.kill('SIGKILL'));
      expect(sc.announce.event).toBe('listening');
      let killed = false;
      // Two writers, one event per request and batches of 20, until the kill.
      const writer = async (batch: number) => {
        while (!killed) {
          const events = Array.from({ length: batch }, () => openaiEvent({ conversationId: `round-${round}`, startedAt: new Date().toISOString() }));
          if (await post(sc, events)) {
            acknowledged.push(...events.map(e => e.id));
          }
        }
      };
      const writers = [writer(1), writer(20)];
      // Kill once this round has had writes acknowledged, while the writers keep going.
      const target = acknowledged.length + 40;
      for (let i = 0; i < 2000 && acknowledged.length < target; i++) {
        await new Promise(r => setTimeout(r, 5));
      }
      sc.child.kill('SIGKILL');
      await sc.exited;
      killed = true;
      await Promise.all(writers);
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(120);
    // A fourth start finds the history intact; the store then reads it back, rows and totals agreeing.
    const last = await runCli(['serve', '--port', '0', '--json'], env, 15_000, node);
    expect(last.announce.event).toBe('listening');
    last.child.kill('SIGTERM');
    if ((await last.exited) === 0) {
      // A clean stop releases the WASM engine's lock folder (node:sqlite has none).
      expect(existsSync(join(dataDir, 'llm.sqlite.lock'))).toBe(false);
    }
    // Read back with the WASM engine (this Node's; a node:sqlite file is the same SQLite file).
    const store = new LlmStore(join(dataDir, 'llm.sqlite'), { engine: 'wasm' });
    cleanups.push(() => store.close());
    const missing = acknowledged.filter(id => !store.call(id));
    expect(missing).toEqual([]);
    expect(store.totals('day', utcDayKey(Date.now()))?.calls).toBe(store.count());
  }, 60_000);
});
