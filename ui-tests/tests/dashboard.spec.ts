/**
 * The panel as a user sees it on a simulated Colab (T4 filling up, Drive
 * mounted), Kaggle (P100, output folder near its limit, quota stated) and a
 * local runtime without a GPU, in the light and dark themes. Each scenario
 * restarts the real sidecar on a fake machine (test/helpers/fakeRuntime.ts:
 * a VIGILO_FS_ROOT with the platform's markers and mount table, and a
 * stand-in nvidia-smi that replays real captured rows); the panel, through
 * the real Jupyter server, must show the sidecar's own figures.
 */
import { expect, test, type IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import { truncateSync } from 'fs';
import * as path from 'path';
import { fakeMachine, type FakeMachine } from '../../test/helpers/fakeRuntime';
import { llmEvents } from '../llm-events';
import { openPanelFromSidebar, PANEL } from '../panel';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const env = require('../vigilo-env');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

const DOCS = path.join(env.root, 'docs');
const T4_TOTAL_MIB = 15360;
/** Pins every live figure's box during layout comparisons: the time of day cannot move a row. */
const LAYOUT_CSS = path.join(__dirname, 'layout-compare.css');
/** README screenshots: the sidebar and the start of the main area. */
const README_CLIP = { x: 0, y: 0, width: 720, height: 1500 };

test.use({ mockUser: false, viewport: { width: 1280, height: 1500 } });
test.describe.configure({ mode: 'serial' });

let machine: FakeMachine | null = null;
let discovery: any = null;

/** Replace the running sidecar with a fresh one (empty data dir) on a fake machine. */
async function bootOn(m: FakeMachine, extraEnv: Record<string, string> = {}): Promise<void> {
  discovery = await sidecar.restartFresh({ ...m.env, VIGILO_FS_ROOT: m.root, VIGILO_GPU_INTERVAL_MS: '1000', ...extraEnv });
}

/** Back to the plain sidecar (fresh state) the other test files expect. */
async function restorePlain(): Promise<void> {
  discovery = await sidecar.restartFresh();
  machine?.cleanup();
  machine = null;
}

async function metrics(): Promise<any> {
  return sidecar.request(discovery, '/metrics');
}

/** Poll the sidecar (bounded) until `pick` finds something. */
async function sidecarUntil<T>(pick: (m: any) => T | null | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = pick(await metrics());
    if (value !== null && value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`the sidecar never reported ${what}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
}

async function post(p: string, body: unknown): Promise<any> {
  const response = await fetch(`${discovery.url}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${discovery.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  await openPanelFromSidebar(page);
  const panel = page.locator(PANEL);
  await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 60_000 });
  return panel;
}

/** Live numbers change between runs: masked in the layout comparisons. */
function liveNumbers(panel: Locator): Locator[] {
  return [
    panel.locator('.jp-Vigilo-value'),
    panel.locator('.jp-Vigilo-verdict'),
    panel.locator('.jp-Vigilo-chart'),
    panel.locator('.jp-Vigilo-countdownDetail'),
    panel.locator('.jp-Vigilo-bar'),
    panel.locator('.jp-Vigilo-alertMessage'),
    panel.locator('.jp-Vigilo-alertTime'),
    panel.locator('.jp-Vigilo-small'),
    panel.locator('.jp-Vigilo-badge'),
    panel.locator('.jp-Vigilo-oomEta'),
    panel.locator('.jp-Vigilo-big'),
    panel.locator('.jp-Vigilo-llmModel'),
    panel.locator('.jp-Vigilo-llmContext'),
    panel.locator('.jp-Vigilo-score'),
    panel.locator('.jp-Vigilo-statusWord'),
    panel.locator('.jp-Vigilo-processes summary'),
    panel.locator('.jp-Vigilo-progressVerdict')
  ];
}

async function compareLayout(page: Page, panel: Locator, name: string): Promise<void> {
  // Which alerts hold at that instant depends on timing (their own test checks them): hidden from the layout comparison.
  await expect(panel).toHaveScreenshot(name, {
    mask: liveNumbers(panel),
    stylePath: LAYOUT_CSS,
    maxDiffPixelRatio: 0.03,
    animations: 'disabled'
  });
}

/** The report's layout comparison: live spans masked and pinned (layout-compare.css). */
function reportLayout(output: Locator) {
  return { mask: [output.locator('.vigilo-live')], stylePath: LAYOUT_CSS, maxDiffPixelRatio: 0.03 };
}

async function setTheme(page: IJupyterLabPageFixture, dark: boolean): Promise<void> {
  if (dark) {
    await page.theme.setDarkTheme();
  } else {
    await page.theme.setLightTheme();
  }
}

test.describe('simulated Colab: a T4 filling up, Drive mounted', () => {
  test.beforeAll(async () => {
    const now = Date.now();
    machine = fakeMachine({
      platform: 'colab',
      nowMs: now,
      runtimeAgeS: 63 * 60,
      driveMounted: true,
      // 8 GiB used, +80 MiB/s: full in about a minute and a half.
      scenario: { gpus: [{ fixture: 't4', usedMiB: 8000 }], rampMiBPerS: 80, rampStartMs: now + 5000, apps: 'fixture' }
    });
    await bootOn(machine);
  });

  test('each section shows the sidecar’s figures, and the OOM ETA reaches the GPU card within 2 s', async ({ page }) => {
    await setTheme(page, false);
    const panel = await openPanel(page);
    const m = await sidecarUntil(x => (x.session && x.storage && x.gpu?.status === 'ok' ? x : null), 'session, storage and GPU');

    await expect(panel.locator('.jp-Vigilo-platformName')).toHaveText('colab');
    await expect(panel.locator('.jp-Vigilo-gpuName')).toHaveText(m.gpu.devices[0].name);
    // The runtime countdown: Colab's 12 h lifetime, 63 min in.
    const session = panel.locator('.jp-Vigilo-countdown[data-countdown="session"]');
    await expect(session.locator('.jp-Vigilo-countdownValue')).toHaveText(/^10 h 5\d min left$/);
    // The end time in the user's locale, with the zone.
    await expect(session.locator('.jp-Vigilo-countdownDetail')).toContainText(/^ends (\p{L}+\.?, )?\d{1,2}:\d\d( [AP]M)? \S+ · running 1 h 0\d min of 12 h$/u);
    await expect(panel.locator('.jp-Vigilo-countdown[data-countdown="idle"]')).toBeVisible();
    await expect(panel.locator('.jp-Vigilo-countdown[data-countdown="quota"]')).toHaveCount(0);
    await expect(panel.locator('.jp-Vigilo-driveState')).toHaveText(`mounted at ${m.storage.drive.mountPoint}`);
    await expect(panel.locator('.jp-Vigilo-disk-entry[data-path="/content"]')).toBeVisible();
    await expect(panel.locator('.jp-Vigilo-processes summary')).toContainText(`${m.gpu.devices[0].processes.length} process`);
    await expect(panel.locator('.jp-Vigilo-checkpoints')).toBeVisible();

    // The predictor needs a span of rising samples; then the panel has 2 s.
    const eta = await sidecarUntil(x => x.gpu?.devices?.[0]?.oom?.secondsToLimit ?? null, 'an OOM ETA', 90_000);
    const computedAt = Date.now();
    await expect(panel.locator('.jp-Vigilo-oomEta')).toContainText(/^VRAM full in ~\d+ (s|min)/, { timeout: 2000 });
    expect(Date.now() - computedAt).toBeLessThanOrEqual(2500);
    await expect(panel.locator('.jp-Vigilo-verdict')).toHaveAttribute('data-level', /critical|warning/);
    await expect(panel.locator('.jp-Vigilo-verdictText')).toContainText('VRAM full in ~');
    expect(eta).toBeGreaterThan(0);
    // The chart is drawn from /gpu/history and the stream.
    await expect(panel.locator('.jp-Vigilo-gpuCard .jp-Vigilo-chart svg.recharts-surface')).toBeVisible();
    await expect(page.locator('.jp-Vigilo-statusText')).toContainText(/OOM \d+(s|m) · VRAM \d+%/);

    // Two conversations of LLM calls: spend, the chart by day, the cards.
    // Plus Anthropic calls outside any conversation, yesterday and today: the chart stacks two providers over two days.
    const claude = (daysAgo: number, inputTokens: number) => ({
      ...llmEvents(`claude-aside-${daysAgo}`, [inputTokens])[0],
      provider: 'anthropic',
      operation: 'messages',
      requestModel: 'claude-haiku-4-5',
      responseModel: 'claude-haiku-4-5-20251001',
      usage: { input_tokens: inputTokens, output_tokens: 1000 },
      startedAt: new Date(Date.now() - daysAgo * 86_400_000 - 60_000).toISOString(),
      conversationId: null,
      messages: null,
      output: null
    });
    await post('/llm/events', {
      events: [...llmEvents('fine-tune-plan', [1200, 5200, 9800, 15000, 21000, 28000]), ...llmEvents('eval-notes', [900, 1100], 'gpt-4o'), claude(1, 12_000), claude(0, 6000)]
    });
    await expect(panel.locator('.jp-Vigilo-llmCard')).toHaveCount(2, { timeout: 30_000 });
    const usage = await sidecar.request(discovery, '/llm/usage');
    await expect(panel.locator('.jp-Vigilo-llmCalls')).toHaveText(String(usage.calls));
    await expect(panel.locator('.jp-Vigilo-spendChart svg.recharts-surface')).toBeVisible();
    // One colour per provider, stacked; the legend names each with its 7-day cost.
    await expect(panel.locator('.jp-Vigilo-spendChart .recharts-bar')).toHaveCount(2);
    await expect(panel.locator('.jp-Vigilo-legendItem[data-provider="anthropic"]')).toHaveText(/^anthropic \$0\.\d+$/);
    await expect(panel.locator('.jp-Vigilo-legendItem[data-provider="openai"] .jp-Vigilo-swatch')).toBeVisible();
    await expect(panel.locator('.jp-Vigilo-llmCard[data-conversation="fine-tune-plan"] .jp-Vigilo-sparkline')).toBeVisible();
    await expect(panel.locator('.jp-Vigilo-llmCard[data-conversation="fine-tune-plan"] .jp-Vigilo-statusWord')).toHaveText(/healthy|watch|degrading/);

    // Snapshots arrive every second; the LLM section and its chart draw only when their data changed.
    const stats = () => page.evaluate(() => (window as any).vigiloRenderStats() as Record<string, number>);
    const before = await stats();
    await page.waitForTimeout(4000);
    const after = await stats();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect(delta('snapshot')).toBeGreaterThanOrEqual(2);
    expect(delta('LlmSection')).toBe(0);
    expect(delta('SpendChart')).toBe(0);
    expect(delta('Sparkline')).toBe(0);
    expect(delta('VramChart')).toBeLessThanOrEqual(delta('snapshot') + 1);

    await page.screenshot({ path: path.join(DOCS, 'screenshot-colab.png'), clip: README_CLIP });
    await compareLayout(page, panel, 'colab-light.png');
  });

  test('alerts are current state: one line per GPU, updated in place, dismissed or cleared', async ({ page }) => {
    const panel = await openPanel(page);
    const uuid = (await metrics()).gpu.devices[0].uuid;
    const line = panel.locator(`.jp-Vigilo-alert[data-rule="gpu.vram"][data-key="${uuid}"]`);
    // Stop the ramp at 91 %: one warning line.
    machine!.setScenario({ gpus: [{ fixture: 't4', usedMiB: Math.round(T4_TOTAL_MIB * 0.91) }], apps: 'fixture' });
    await expect(line).toHaveClass(/jp-Vigilo-alert-warning/, { timeout: 15_000 });
    await expect(line).toHaveCount(1);
    // "since <first crossing>", kept while the line is updated.
    const raised = ((await line.locator('.jp-Vigilo-alertTime').textContent()) ?? '').split(' · ')[0];
    // 96 %: the same line turns critical with the new value; nothing is stacked.
    machine!.setScenario({ gpus: [{ fixture: 't4', usedMiB: Math.round(T4_TOTAL_MIB * 0.96) }], apps: 'fixture' });
    await expect(line).toHaveClass(/jp-Vigilo-alert-critical/, { timeout: 15_000 });
    await expect(line).toHaveCount(1);
    await expect(line.locator('.jp-Vigilo-alertMessage')).toContainText('96.0 %');
    // The time carries the zone's name, which may hold regex characters ("GMT+5:45"): matched literally.
    const raisedLiteral = raised.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expect(line.locator('.jp-Vigilo-alertTime')).toHaveText(new RegExp(`^${raisedLiteral}( · updated .*)?$`));
    const active = (await sidecar.request(discovery, '/alerts/active')).alerts.filter((a: any) => a.ruleId === 'gpu.vram');
    expect(active).toHaveLength(1);
    // Dismissed: gone from the panel and from the sidecar's current list.
    await line.locator('.jp-Vigilo-dismiss').click();
    await expect(line).toHaveCount(0);
    expect((await sidecar.request(discovery, '/alerts/active')).alerts.filter((a: any) => a.ruleId === 'gpu.vram')).toHaveLength(0);
    // The history keeps every crossing behind its disclosure.
    await expect(panel.locator('.jp-Vigilo-alertHistory summary')).toContainText('History');
  });

  test('dark theme: the same sections, readable', async ({ page }) => {
    machine!.setScenario({ gpus: [{ fixture: 't4', usedMiB: 9000 }], rampMiBPerS: 40, rampStartMs: Date.now(), apps: 'fixture' });
    await setTheme(page, true);
    const panel = await openPanel(page);
    await expect(panel.locator('.jp-Vigilo-gpuName')).toHaveText('Tesla T4');
    await expect(panel.locator('.jp-Vigilo-gpuCard .jp-Vigilo-chart svg.recharts-surface')).toBeVisible({ timeout: 15_000 });
    await page.screenshot({ path: path.join(DOCS, 'screenshot-dark.png'), clip: README_CLIP });
    await compareLayout(page, panel, 'colab-dark.png');
    await setTheme(page, false);
  });

  test('%vigilo in a notebook shows the same dashboard as one HTML block', async ({ page }) => {
    await page.notebook.createNew('vigilo-dashboard.ipynb');
    await page.notebook.setCell(0, 'code', '%load_ext vigilo\n%vigilo');
    await page.notebook.runCell(0);
    const output = page.locator('.jp-Cell-outputArea .vigilo-report');
    await expect(output.locator('.vigilo-verdict')).toBeVisible({ timeout: 60_000 });
    await expect(output).toContainText('Runtime');
    await expect(output).toContainText('Tesla T4');
    await expect(output).toContainText('Google Drive');
    await expect(output.locator('svg')).not.toHaveCount(0);
    await output.screenshot({ path: path.join(DOCS, 'screenshot-report.png') });
    await expect(output).toHaveScreenshot('report-colab.png', reportLayout(output));
    // The same output in the dark theme: inherited text colour, mid-tone bars.
    await setTheme(page, true);
    await expect(output).toHaveScreenshot('report-colab-dark.png', reportLayout(output));
    await output.screenshot({ path: path.join(env.tmp, 'report-dark.png') });
    await setTheme(page, false);
    await page.notebook.close(true);
    // Its heartbeat thread would outlive the test: later tests stop and start sidecars.
    await page.kernel.shutdownAll();
  });

  test.afterAll(async () => {
    await restorePlain();
  });
});

test.describe('simulated Kaggle: a P100, the output folder near its limit, the quota stated', () => {
  test.beforeAll(async () => {
    machine = fakeMachine({ platform: 'kaggle', nowMs: Date.now(), runtimeAgeS: 2 * 3600, scenario: { gpus: [{ fixture: 'p100', usedMiB: 5200 }] } });
    // 18.6 GB in /kaggle/working (sparse: takes no disk): 93 % of the 20 GB limit.
    const big = path.join(machine.root, 'kaggle', 'working', 'model.ckpt');
    machine.write('/kaggle/working/model.ckpt', '');
    truncateSync(big, 18_600_000_000);
    await bootOn(machine);
    await post('/quota', { remaining: '27h 30m' });
    // A training loop's tqdm bar, as the kernel's heartbeat reports it: "will it finish?".
    const startedAt = new Date(Date.now() - 600_000).toISOString();
    for (let i = 1; i <= 3; i++) {
      const progress = [{ id: 'bar-1', source: 'tqdm', name: 'train epoch 4/20', n: 8000 + 40 * i, total: 200_000, elapsedS: 200 + i, closed: false }];
      await post('/kernels/heartbeat', { kernelId: 'galata-kernel', pid: process.pid, startedAt, progress });
      await new Promise(r => setTimeout(r, 1000));
    }
  });

  test('the quota, the output folder and the P100 show the sidecar’s figures', async ({ page }) => {
    await setTheme(page, false);
    const panel = await openPanel(page);
    const m = await sidecarUntil(x => (x.storage?.output && x.quota?.remainingS && x.gpu?.status === 'ok' ? x : null), 'output, quota and GPU');
    await expect(panel.locator('.jp-Vigilo-platformName')).toHaveText('kaggle');
    await expect(panel.locator('.jp-Vigilo-gpuName')).toHaveText('Tesla P100-PCIE-16GB');
    const quota = panel.locator('.jp-Vigilo-countdown[data-countdown="quota"]');
    await expect(quota.locator('.jp-Vigilo-countdownValue')).toContainText(/^27 h (29|30) min left/);
    await expect(quota.locator('.jp-Vigilo-countdownDetail')).toContainText('as you stated it');
    const output = panel.locator('.jp-Vigilo-output');
    await expect(output.locator('.jp-Vigilo-outputValue')).toContainText(`(${Math.round(m.storage.output.usedPercent)}%)`);
    await expect(output.locator('.jp-Vigilo-bar')).toHaveClass(/jp-Vigilo-bar-(warning|critical)/);
    await expect(panel.locator('.jp-Vigilo-verdictText')).toHaveText(`Output folder ${m.storage.output.usedPercent.toFixed(0)}% of its limit`);
    await expect(panel.locator('.jp-Vigilo-drive')).toHaveCount(0);
    const progress = await sidecarUntil(x => x.progress?.verdict ?? null, 'a progress verdict');
    await expect(panel.locator('.jp-Vigilo-progress .jp-Vigilo-progressVerdict')).toContainText(progress.text.split(' ')[0]);
    await expect(panel.locator('.jp-Vigilo-progress')).toContainText('train epoch 4/20');
    await page.screenshot({ path: path.join(DOCS, 'screenshot-kaggle.png'), clip: README_CLIP });

    await compareLayout(page, panel, 'kaggle-light.png');
    // The checkpoint card: "Checkpoint now" answers with the sidecar's own message; Automatic goes through PUT.
    const card = panel.locator('.jp-Vigilo-checkpoints');
    await card.locator('.jp-Vigilo-checkpointNow').click();
    await expect(card.locator('.jp-Vigilo-checkpointMessage')).not.toBeEmpty({ timeout: 15_000 });
    const auto = card.locator('.jp-Vigilo-toggle input');
    const wasAuto = await auto.isChecked();
    await auto.click();
    await expect(auto).toBeChecked({ checked: !wasAuto, timeout: 15_000 });
    expect((await sidecar.request(discovery, '/checkpoints')).status.auto).toBe(!wasAuto);
    await auto.click();
    await expect(auto).toBeChecked({ checked: wasAuto, timeout: 15_000 });
  });

  test('dark theme', async ({ page }) => {
    await setTheme(page, true);
    const panel = await openPanel(page);
    await expect(panel.locator('.jp-Vigilo-countdown[data-countdown="quota"]')).toBeVisible();
    await compareLayout(page, panel, 'kaggle-dark.png');
    await setTheme(page, false);
  });

  test.afterAll(async () => {
    await restorePlain();
  });
});

test.describe('a local runtime without a GPU', () => {
  test.beforeAll(async () => {
    machine = fakeMachine({ platform: 'local', nowMs: Date.now(), scenario: null });
    await bootOn(machine);
  });

  test('says there is no time limit and why there is no GPU, in light and dark', async ({ page }) => {
    await setTheme(page, false);
    const panel = await openPanel(page);
    const m = await sidecarUntil(x => (x.gpu && x.gpu.status !== 'pending' && x.system ? x : null), 'the GPU status');
    await expect(panel.locator('.jp-Vigilo-verdictText')).toHaveText('All clear');
    await expect(panel.locator('.jp-Vigilo-noCountdown')).toContainText('no lifetime, idle cut-off or quota');
    await expect(panel.locator('.jp-Vigilo-gpuReason')).toHaveText(`No GPU: ${m.gpu.reason}`);
    await expect(panel.locator('.jp-Vigilo-cores')).toHaveText(String(m.system.cores));
    await compareLayout(page, panel, 'local-light.png');
    await setTheme(page, true);
    await compareLayout(page, panel, 'local-dark.png');
    await setTheme(page, false);
  });

  test('thresholds set in the Settings Editor reach the sidecar live; a refused value says why', async ({ page }) => {
    await openPanel(page);
    const setSidecar = (value: unknown) =>
      page.evaluate(async v => {
        const registry = await (window as any).galata.getPlugin('@jupyterlab/apputils-extension:settings');
        await registry.set('vigilo:plugin', 'sidecar', v);
      }, value);
    await setSidecar({ vramWarnPercent: 85, sessionWarnMin: [45, 15] });
    await expect
      .poll(async () => {
        const rules = (await sidecar.request(discovery, '/settings/alerts')).rules;
        const vram = rules.find((r: any) => r.id === 'gpu.vram')?.thresholds.map((t: any) => t.value);
        const session = rules.find((r: any) => r.id === 'session.remaining')?.thresholds.map((t: any) => t.value);
        return JSON.stringify([vram, session]);
      })
      .toBe(JSON.stringify([[85, 95], [45, 15]]));
    await setSidecar({ vramWarnPercent: 85, sessionWarnMin: [45, 15], sessionLifetime: 'banana' });
    await expect(page.locator('.Toastify__toast', { hasText: 'the sidecar refused some settings' })).toContainText('Platform overrides:', { timeout: 15_000 });
    await setSidecar({});

    // Status-bar parts switch live.
    const item = page.locator('.jp-Vigilo-statusText');
    await expect(item).toHaveText(/^Mem \d+% · \$0\.00$/);
    await page.evaluate(async () => {
      const registry = await (window as any).galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry.set('vigilo:plugin', 'statusBar', { countdown: true, vram: true, spend: false });
    });
    await expect(item).toHaveText(/^Mem \d+%$/);
    await page.evaluate(async () => {
      const registry = await (window as any).galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry.remove('vigilo:plugin', 'statusBar');
    });
    await expect(item).toHaveText(/\$0\.00$/);
  });

  test.afterAll(async () => {
    await restorePlain();
  });
});
