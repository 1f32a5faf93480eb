import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type Clock } from '../../src/server/core/clock';
import { llmModule } from '../../src/server/llm/module';
import { Sidecar } from '../../src/server/sidecar';
import { apiCaller } from '../helpers/sidecar';

export interface TestSidecar {
  sidecar: Sidecar;
  url: string;
  token: string;
  dataDir: string;
  get<T = any>(path: string): Promise<{ status: number; body: T }>;
  send<T = any>(method: string, path: string, body: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'vigilo-llm-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real sidecar on 127.0.0.1:0 with only the LLM module, in `dataDir`. stop() does not delete the dir. */
export async function startSidecar(dataDir: string, clock: Clock = new ManualClock(Date.now())): Promise<TestSidecar> {
  const token = 'test-token-llm';
  const sidecar = new Sidecar({
    config: { host: '127.0.0.1', port: 0, dataDir, fsRoot: dataDir, intervalMs: 60_000, heartbeatIntervalS: 3600, version: '0.0.0-test', env: {} },
    token,
    clock,
    modules: ctx => [llmModule(ctx)]
  });
  const discovery = await sidecar.start();
  const call = apiCaller(discovery.url, token);
  return {
    sidecar,
    url: discovery.url,
    token,
    dataDir,
    get: path => call('GET', path),
    send: (method, path, body) => call(method, path, body),
    stop: () => sidecar.stop()
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
