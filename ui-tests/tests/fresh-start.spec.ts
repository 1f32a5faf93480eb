import { expect, test } from '@jupyterlab/galata';
import { llmEvents } from '../llm-events';
import { openPanelFromSidebar, PANEL } from '../panel';

// CommonJS helpers shared with the global set-up.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

test.use({ mockUser: false });

test('“Fresh start” on a conversation card copies the next conversation’s opening and shows what each message saves', async ({ page }, info) => {
  await openPanelFromSidebar(page);
  const panel = page.locator(PANEL);
  await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 30_000 });
  const discovery = sidecar.readDiscovery();
  await sidecar.request(discovery, '/llm/events', { method: 'POST', body: { events: llmEvents('galata-fresh', [30_000, 60_000, 90_000]) } });
  const card = panel.locator('.jp-Vigilo-llmCard[data-conversation="galata-fresh"]');
  await expect(card).toBeVisible({ timeout: 45_000 });

  await card.locator('.jp-Vigilo-freshStart').click();
  await expect(page.locator('.Toastify__toast', { hasText: 'Fresh start of "galata-fresh" copied' })).toBeVisible({ timeout: 15_000 });
  const { chain } = await sidecar.request(discovery, '/llm/conversations/galata-fresh/chain');
  expect(chain).toHaveLength(1);
  const saved = chain[0].savedTokensPerMessage as number;
  expect(saved).toBe(90_080 - chain[0].freshTokens);
  // gpt-4o-mini input at $0.15 per 1M tokens: about $0.013 a message.
  await expect(card.locator('.jp-Vigilo-llmSuccessor')).toHaveText(
    new RegExp(`^Continues as galata-fresh~1: saves ${saved.toLocaleString('en-US')} prompt tokens \\(\\$0\\.013\\) per message$`)
  );

  // The successor's own calls: its card says what it continues, and after a reload both cards keep the chain (GET /llm/chains).
  await sidecar.request(discovery, '/llm/events', { method: 'POST', body: { events: llmEvents('galata-fresh~1', [1500]) } });
  const next = panel.locator('.jp-Vigilo-llmCard[data-conversation="galata-fresh~1"]');
  await expect(next.locator('.jp-Vigilo-llmPredecessor')).toHaveText(/^Continued from galata-fresh: saves [\d,]+ prompt tokens \(\$0\.013\) per message$/, { timeout: 45_000 });
  await page.reload();
  await openPanelFromSidebar(page);
  await expect(card.locator('.jp-Vigilo-llmSuccessor')).toHaveText(/^Continues as galata-fresh~1: /, { timeout: 45_000 });

  await page.locator('.Toastify__toast').first().waitFor({ state: 'detached', timeout: 20_000 }).catch(() => undefined);
  await card.scrollIntoViewIfNeeded();
  await card.screenshot({ path: info.outputPath('fresh-start-light.png') });
  await page.theme.setDarkTheme();
  await card.screenshot({ path: info.outputPath('fresh-start-dark.png') });
  await page.theme.setLightTheme();
});
