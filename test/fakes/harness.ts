import { afterAll, beforeAll } from 'vitest';
import { configure, flush } from '../../src/client/index';
import type { LlmCallView } from '../../src/shared/llm-api';
import { removeDir, startSidecar, tempDir, type TestSidecar } from './sidecar';

export interface ClientHarness {
  sidecar(): TestSidecar;
  /** flush(), then the calls the sidecar stored, oldest first. */
  calls(conversationId?: string): Promise<LlmCallView[]>;
}

/** A real sidecar for the file's tests; the vigilo client points at it. */
export function useSidecar(): ClientHarness {
  let sc: TestSidecar | null = null;
  const dir = tempDir('vigilo-client-');
  beforeAll(async () => {
    sc = await startSidecar(dir);
    // dataDir: the client's disk outbox (undelivered events) stays in the test's own dir.
    configure({ url: sc.url, token: sc.token, dataDir: dir, flushIntervalMs: 60_000 });
  });
  afterAll(async () => {
    await sc?.stop();
    removeDir(dir);
  });
  return {
    sidecar: () => sc!,
    async calls(conversationId?: string) {
      await flush();
      const q = conversationId ? `&conversationId=${encodeURIComponent(conversationId)}` : '';
      const r = await sc!.get<{ calls: LlmCallView[] }>(`/llm/calls?limit=1000${q}`);
      return r.body.calls.reverse();
    }
  };
}
