/**
 * The GPU card on a training sawtooth (issue 16): a T4 whose memory climbs
 * 6 → 12 GiB and is freed every 10 s. The real sidecar reads it through the
 * stand-in nvidia-smi (test/fixtures/nvidia-smi, a real T4 row with the used
 * memory following the sawtooth in wall-clock time); once two frees are in
 * its window the card must say the memory rises and falls, where its peaks
 * hold, and show no time to the limit, in the light and dark themes.
 */
import { expect, test } from '@jupyterlab/galata';
import { fakeMachine, type FakeMachine } from '../../test/helpers/fakeRuntime';
import { openPanelFromSidebar, PANEL } from '../panel';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

test.use({ mockUser: false, viewport: { width: 1280, height: 1500 } });
test.describe.configure({ mode: 'serial' });

let machine: FakeMachine | null = null;
let discovery: any = null;

test.beforeAll(async () => {
  const now = Date.now();
  machine = fakeMachine({
    platform: 'colab',
    nowMs: now,
    runtimeAgeS: 30 * 60,
    driveMounted: true,
    scenario: { gpus: [{ fixture: 't4' }], sawtooth: { periodS: 10, loMiB: 6144, hiMiB: 12288, startMs: now }, apps: 'fixture' }
  });
  discovery = await sidecar.restartFresh({ ...machine.env, VIGILO_FS_ROOT: machine.root, VIGILO_GPU_INTERVAL_MS: '1000' });
});

test.afterAll(async () => {
  discovery = await sidecar.restartFresh();
  machine?.cleanup();
  machine = null;
});

test('a flat training sawtooth: the GPU card says it rises and falls and shows no time to the limit, light and dark', async ({ page }) => {
  // Two frees in the window (about 25 s of samples): the peaks decide.
  const oom = await (async () => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const m = await sidecar.request(discovery, '/metrics');
      const o = m.gpu?.devices?.[0]?.oom;
      if (o?.cycle && o.trend === 'flat') return o;
      if (Date.now() > deadline) throw new Error(`no flat cycle reported: ${JSON.stringify(o)}`);
      await new Promise(r => setTimeout(r, 250));
    }
  })();
  expect(oom).toMatchObject({ secondsToLimit: null, estimateS: null });
  await openPanelFromSidebar(page);
  const panel = page.locator(PANEL);
  const card = panel.locator('.jp-Vigilo-gpuCard');
  const eta = card.locator('.jp-Vigilo-oomEta');
  await expect(eta).toHaveText(/^Out of memory: not heading there \(rises and falls every ~10\ss; peaks steady at 1[12](\.\d)?\sGiB\)$/, { timeout: 30_000 });
  // For the next 15 s (more teeth), never a time.
  for (let i = 0; i < 15; i++) {
    await expect(eta).not.toContainText(/in ~|full in/);
    await page.waitForTimeout(1000);
  }
  for (const dark of [false, true]) {
    if (dark) await page.theme.setDarkTheme();
    else await page.theme.setLightTheme();
    await expect(eta).toContainText('rises and falls');
    await card.screenshot({ path: test.info().outputPath(`gpu-sawtooth-${dark ? 'dark' : 'light'}.png`), animations: 'disabled' });
  }
});
