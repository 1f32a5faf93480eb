import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';
import { llmEvents } from '../llm-events';
import { openPanelFromSidebar, PANEL } from '../panel';

// CommonJS helpers shared with the global set-up.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const env = require('../vigilo-env');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

const SCREENSHOT = path.join(env.root, 'docs', 'screenshot.png');

/** The same formatting the panel uses for byte counts (binary units, one decimal). */
function gib(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The sidecar's own /metrics, once its system collector has reported. */
async function sidecarMetrics(discovery: any): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const metrics = await sidecar.request(discovery, '/metrics');
    if (metrics.system || Date.now() > deadline) {
      return metrics;
    }
    await new Promise(r => setTimeout(r, 200));
  }
}

/** The same money formatting the panel uses (src/shared/format.ts `formatMoney`). */
function usd(value: number): string {
  if (value === 0) {
    return '$0.00';
  }
  const digits = value >= 1 ? 2 : value >= 0.01 ? 3 : value >= 0.0001 ? 5 : 7;
  return `$${value.toFixed(digits)}`;
}

// One JupyterLab, one data dir: the steps depend on the sidecar's state.
// Galata mocks every URL matching /api/me.* (its user stub), which would swallow
// /vigilo/api/metrics: talk to the real server instead.
test.use({ mockUser: false });

test.describe.configure({ mode: 'serial' });

test.describe('Vigilo in JupyterLab', () => {
  // First, so that the screenshot test after it shows the LLM section with data.
  test('LLM calls sent to the sidecar show up in the panel with the cost the sidecar computed', async ({ page }) => {
    await openPanelFromSidebar(page);
    const panel = page.locator(PANEL);
    await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 30_000 });
    // A fresh data dir: nothing tracked yet, and the panel says how to start.
    await expect(panel.locator('.jp-Vigilo-llmEmpty')).toHaveText(
      'No LLM calls tracked yet — wrap your client: vigilo.wrap(OpenAI())',
      { timeout: 30_000 }
    );

    const discovery = sidecar.readDiscovery();
    const response = await fetch(`${discovery.url}/llm/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${discovery.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: llmEvents('galata-demo') })
    });
    expect(response.status).toBe(200);
    expect((await response.json()).accepted).toBe(3);

    const usage = await sidecar.request(discovery, '/llm/usage');
    expect(usage.calls).toBe(3);
    expect(usage.costUsd).toBeGreaterThan(0);
    // The `llm` event on the stream refreshes the panel (polling would take up to 30 s).
    await expect(panel.locator('.jp-Vigilo-llmCalls')).toHaveText(String(usage.calls), { timeout: 45_000 });
    await expect(panel.locator('.jp-Vigilo-llmCost')).toHaveText(usd(usage.costUsd));
    await expect(panel.locator('.jp-Vigilo-llmToday')).toHaveText(usd(usage.costUsd));

    const card = panel.locator('.jp-Vigilo-llmCard[data-conversation="galata-demo"]');
    await expect(card).toBeVisible();
    await expect(card.locator('.jp-Vigilo-llmModel')).toContainText('gpt-4o-mini');
    await expect(card.locator('.jp-Vigilo-score')).toHaveText(/^\d+\/100$/);
    await expect(card.locator('.jp-Vigilo-llmContext')).toContainText('messages left');

    await card.locator('.jp-Vigilo-copySummary').click();
    await expect(page.locator('.Toastify__toast', { hasText: 'Summary of "galata-demo" copied' })).toBeVisible({
      timeout: 15_000
    });
  });

  test('the sidebar panel shows live figures that match the sidecar’s own /metrics', async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openPanelFromSidebar(page);
    const panel = page.locator(PANEL);

    await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 30_000 });

    const discovery = sidecar.readDiscovery();
    const metrics = await sidecarMetrics(discovery);
    const status = await sidecar.request(discovery, '/status');
    await expect(panel.locator('.jp-Vigilo-cores')).toHaveText(String(metrics.system.cores));
    await expect(panel.locator('.jp-Vigilo-memTotal')).toHaveText(gib(metrics.system.memory.totalBytes));
    await expect(panel.locator('.jp-Vigilo-platformName')).toHaveText(status.platform.name);
    await expect(panel.locator('.jp-Vigilo-cpuPercent')).toHaveText(/^\d+%$|measuring/);
    // No GPU on the test machine: the GPU section says why, in words.
    if (!metrics.gpu || metrics.gpu.status !== 'ok') {
      await expect(panel.locator('.jp-Vigilo-gpuReason')).not.toBeEmpty();
    }
    await expect(panel.locator('.jp-Vigilo-uptime')).toHaveText(/\d+ (s|min|h|d)/);

    // Live: the sidecar's uptime moves on without any reload.
    const before = await panel.locator('.jp-Vigilo-uptime').textContent();
    await expect(panel.locator('.jp-Vigilo-uptime')).not.toHaveText(before ?? '', { timeout: 15_000 });

    await page.screenshot({ path: SCREENSHOT });
  });

  test('the status bar summarises and opens the panel; the palette command opens it too', async ({ page }) => {
    const item = page.locator('.jp-Vigilo-statusText');
    await expect(item).toHaveText(/Mem \d+%/, { timeout: 30_000 });

    // Settings apply live: hiding the status-bar item needs no reload.
    await page.evaluate(async () => {
      const registry = await (window as any).galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry.set('vigilo:plugin', 'showStatusBar', false);
    });
    await expect(item).toBeHidden();
    await page.evaluate(async () => {
      const registry = await (window as any).galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry.set('vigilo:plugin', 'showStatusBar', true);
    });
    await expect(item).toBeVisible();

    await item.click();
    await expect(page.locator(PANEL)).toBeVisible();

    // Close the left area, then open the panel from the command palette.
    await page.evaluate(async () => (window as any).jupyterapp.commands.execute('application:toggle-left-area'));
    await expect(page.locator(PANEL)).toBeHidden();
    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#command-palette');
    await expect(palette).toBeVisible();
    await palette.locator('input').fill('Vigilo: Open panel');
    await palette.locator('.lm-CommandPalette-item', { hasText: 'Vigilo: Open panel' }).first().click();
    await expect(page.locator(PANEL)).toBeVisible();
  });

  test('%load_ext vigilo then %vigilo in a notebook shows the report and registers the kernel', async ({ page }) => {
    await page.notebook.createNew('vigilo-magic.ipynb');
    await page.notebook.setCell(0, 'code', '%load_ext vigilo\n%vigilo');
    await page.notebook.runCell(0);
    const output = page.locator('.jp-Cell-outputArea .vigilo-report');
    await expect(output).toContainText('Runtime', { timeout: 60_000 });
    await expect(output).toContainText('Platform');
    await expect(output.locator('table').first()).toBeVisible();

    const discovery = sidecar.readDiscovery();
    const deadline = Date.now() + 20_000;
    let kernels: any[] = [];
    while (kernels.length === 0 && Date.now() < deadline) {
      kernels = (await sidecar.request(discovery, '/tasks')).tasks.filter((t: any) => t.kind === 'kernel' && t.alive);
      if (kernels.length === 0) {
        await new Promise(r => setTimeout(r, 250));
      }
    }
    expect(kernels.length).toBeGreaterThan(0);
    await expect(output).toContainText(`pid ${discovery.pid}`);
    // Its heartbeat thread would outlive the test while the next ones kill and start sidecars.
    await page.kernel.shutdownAll();
  });

  test('a killed sidecar shows “disconnected”, then recovers by itself when one is back', async ({ page }) => {
    await openPanelFromSidebar(page);
    const badge = page.locator(`${PANEL} .jp-Vigilo-badge`);
    await expect(badge).toHaveText(/live|polling/, { timeout: 30_000 });

    const killed = await sidecar.stopSidecar('SIGKILL');
    expect(killed).not.toBeNull();
    await expect(badge).toHaveText('disconnected', { timeout: 30_000 });
    await expect(page.locator(`${PANEL} .jp-Vigilo-start`)).toBeVisible();

    // Someone runs %vigilo elsewhere: the panel reconnects without a click.
    const fresh = await sidecar.startSidecar();
    expect(fresh.pid).not.toBe(killed);
    await expect(badge).toHaveText(/live|polling/, { timeout: 60_000 });
    const metrics = await sidecarMetrics(fresh);
    await expect(page.locator(`${PANEL} .jp-Vigilo-cores`)).toHaveText(String(metrics.system.cores));
  });

  test('with no sidecar the panel says so, and “Start Vigilo” launches one through the Jupyter server', async ({
    page
  }) => {
    await openPanelFromSidebar(page);
    const badge = page.locator(`${PANEL} .jp-Vigilo-badge`);
    await expect(badge).toHaveText(/live|polling/, { timeout: 30_000 });

    // A clean stop removes the discovery file: "not running" after a reload.
    await sidecar.stopSidecar('SIGTERM');
    expect(sidecar.readDiscovery()).toBeNull();
    await page.reload();
    await openPanelFromSidebar(page);
    await expect(badge).toHaveText('not running', { timeout: 30_000 });
    await expect(page.locator(`${PANEL} .jp-Vigilo-reason`).first()).toContainText('not running');

    await page.locator(`${PANEL} .jp-Vigilo-start`).click();
    await expect(badge).toHaveText(/live|polling/, { timeout: 60_000 });
    const started = sidecar.readDiscovery();
    expect(started).not.toBeNull();
    expect(sidecar.alive(started.pid)).toBe(true);
    const metrics = await sidecarMetrics(started);
    await expect(page.locator(`${PANEL} .jp-Vigilo-memTotal`)).toHaveText(gib(metrics.system.memory.totalBytes));
  });
});
