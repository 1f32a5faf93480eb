/**
 * Start a real sidecar on 127.0.0.1:0 for API tests, with a temp data dir,
 * an injectable env / FS root / clock; stop() removes everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/server/core/clock';
import type { SidecarContext } from '../../src/server/core/context';
import type { SidecarModule } from '../../src/server/core/module';
import { Sidecar } from '../../src/server/sidecar';

export interface TestSidecar {
  sidecar: Sidecar;
  url: string;
  dataDir: string;
  get<T = any>(path: string): Promise<{ status: number; body: T }>;
  post<T = any>(path: string, body: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface TestSidecarOptions {
  env?: NodeJS.ProcessEnv;
  fsRoot?: string;
  dataDir?: string;
  clock?: Clock;
  intervalMs?: number;
  modules?: (ctx: SidecarContext) => SidecarModule[];
  snapshotPushMs?: number;
}

export const TOKEN = 'test-token-0123456789';

/** Requests to a sidecar's API with its bearer token; a body goes as JSON. */
export function apiCaller(url: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    return { status: response.status, body: (await response.json()) as any };
  };
}

export async function startSidecar(options: TestSidecarOptions = {}): Promise<TestSidecar> {
  const ownDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigilo-data-'));
  const sidecar = new Sidecar({
    config: {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      fsRoot: options.fsRoot ?? '/nonexistent-vigilo-root',
      intervalMs: options.intervalMs ?? 60_000,
      heartbeatIntervalS: 10,
      version: '0.0.0-test',
      // The internet probe is off in tests unless a test points it at loopback.
      env: { VIGILO_INTERNET_PROBE: 'off', ...options.env }
    },
    token: TOKEN,
    clock: options.clock,
    modules: options.modules,
    snapshotPushMs: options.snapshotPushMs ?? 5
  });
  const discovery = await sidecar.start();
  const call = apiCaller(discovery.url, TOKEN);
  return {
    sidecar,
    url: discovery.url,
    dataDir,
    get: path => call('GET', path),
    post: (path, body) => call('POST', path, body),
    async stop() {
      await sidecar.stop();
      if (ownDataDir) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  };
}

/** Read SSE events from /events until `until` returns true or `timeoutMs` passes. */
export async function collectEvents(
  url: string,
  until: (events: Array<{ event: string; data: any; atMs: number }>) => boolean,
  timeoutMs = 10_000
): Promise<Array<{ event: string; data: any; atMs: number }>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: Array<{ event: string; data: any; atMs: number }> = [];
  try {
    const response = await fetch(`${url}/events?token=${TOKEN}`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) {
          events.push({ event, data: JSON.parse(data), atMs: performance.now() });
        }
      }
      if (until(events)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}
