import { expect, test } from '@jupyterlab/galata';
import { openPanelFromSidebar, PANEL } from '../panel';

// CommonJS helpers shared with the global set-up.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

test.use({ mockUser: false });

/**
 * Issue 17.3: calls a client dropped past its buffer bound are shown. A kernel's heartbeat carries its delivery
 * counters (what vigilo/llm/_census.py sends, tests/test_llm_lost.py); the panel's LLM section says
 * "N calls lost: <reason>" within seconds, and nothing while none were lost.
 */
test('the LLM section says how many calls a kernel lost, and why', async ({ page }, info) => {
  const discovery = await sidecar.restartFresh();
  await openPanelFromSidebar(page);
  const panel = page.locator(PANEL);
  await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 30_000 });
  const lost = panel.locator('.jp-Vigilo-llmLost');
  const beat = (dropped: number, lastDrop: string | null) =>
    sidecar.request(discovery, '/kernels/heartbeat', {
      method: 'POST',
      body: {
        kernelId: 'galata-lost',
        pid: process.pid,
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        llm: { loaded: ['openai'], tracked: { openai: 6 }, untracked: {}, delivery: { dropped, lastDrop, pending: 0, spooled: 2 } }
      }
    });
  await beat(0, null);
  await expect(panel.locator('.jp-Vigilo-llm')).toBeVisible({ timeout: 30_000 });
  await expect(lost).toHaveCount(0);

  const reason = 'the disk buffer (/home/user/.local/share/vigilo/llm-spool, 64 MiB) is full';
  await beat(4, reason);
  await expect(lost).toHaveText(`4 calls lost: ${reason}`, { timeout: 30_000 });
  await expect(lost).toHaveAttribute('title', /^4 LLM calls from kernel galata-lost were not recorded: the disk buffer/);
  await lost.screenshot({ path: info.outputPath('lost-calls.png') });
  await sidecar.restartFresh(); // the other test files expect a sidecar that knows of no lost calls
});
