/**
 * "Checkpoint now" in the panel saves for real: a real notebook kernel
 * watches a plain Python object (`vigilo.checkpoint.watch`), the sidecar runs
 * on a simulated Colab whose Google Drive is a local folder (the durable
 * destination), and one click goes panel → Jupyter server → sidecar → the
 * kernel's heartbeat answer → a pickle staged by the kernel → a copy in
 * "Drive", read back and verified → the record, the file and the card.
 */
import { expect, test } from '@jupyterlab/galata';
import { createHash } from 'crypto';
import { existsSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { fakeMachine, type FakeMachine } from '../../test/helpers/fakeRuntime';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const env = require('../vigilo-env');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sidecar = require('../sidecar');

const PANEL = '#vigilo-panel';
const RUN = 'galata';

test.use({ mockUser: false });
test.describe.configure({ mode: 'serial' });

let machine: FakeMachine | null = null;
let discovery: any = null;

const checkpoints = (): Promise<any> => sidecar.request(discovery, '/checkpoints');

test.describe('checkpoints on a simulated Colab with Google Drive mounted', () => {
  test.beforeAll(async () => {
    machine = fakeMachine({ platform: 'colab', nowMs: Date.now(), runtimeAgeS: 20 * 60, driveMounted: true, scenario: null });
    discovery = await sidecar.restartFresh({ ...machine.env, VIGILO_FS_ROOT: machine.root });
    // Only the button may save: no automatic trigger (disk, idle, interval) racing it.
    await sidecar.request(discovery, '/checkpoints/settings', { method: 'PUT', body: { auto: false } });
  });

  test.afterEach(async ({ page }) => {
    // The kernel's heartbeat thread would outlive the test while sidecars are replaced.
    await page.kernel.shutdownAll();
  });

  test.afterAll(async () => {
    await sidecar.restartFresh();
    machine?.cleanup();
    machine = null;
  });

  test('“Checkpoint now” makes the notebook’s kernel save a verified copy to Drive', async ({ page }) => {
    // A real kernel (cells run in place, so cell i stays index i): %vigilo, then watch a small plain object (pickled: no torch here).
    await page.notebook.createNew('vigilo-checkpoint.ipynb');
    await page.notebook.setCell(0, 'code', '%load_ext vigilo\n%vigilo');
    await page.notebook.runCell(0, true);
    await expect(page.locator('.jp-Cell-outputArea .vigilo-report')).toContainText('Google Drive', { timeout: 60_000 });
    await page.notebook.addCell(
      'code',
      [
        'import vigilo',
        'state = {"weights": [0.25, 0.5, 0.75], "epoch": 3}',
        'step = 42',
        `_ = vigilo.checkpoint.watch(state=state, step=lambda: step, run="${RUN}")`,
        'print("watching")'
      ].join('\n')
    );
    await page.notebook.runCell(1, true);
    expect((await page.notebook.getCellTextOutput(1))?.join('')).toContain('watching');

    // The sidecar knows the kernel watches, and Drive is its durable destination for this run.
    const driveFolder = path.join(machine!.root, 'content', 'drive', 'MyDrive', 'vigilo-checkpoints', RUN);
    await expect
      .poll(async () => {
        const { status } = await checkpoints();
        return [status.watching, status.destination.kind, status.destination.durable, status.destination.path];
      }, { timeout: 20_000 })
      .toEqual([true, 'drive', true, driveFolder]);
    expect((await checkpoints()).checkpoints).toEqual([]);

    // The panel, opened as the palette's "Vigilo: Open panel" does, once it is connected.
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('vigilo:open-panel'));
    const panel = page.locator(PANEL);
    await expect(panel.locator('.jp-Vigilo-badge')).toHaveText(/live|polling/, { timeout: 60_000 });
    const card = panel.locator('.jp-Vigilo-checkpoints');
    await expect(card.locator('.jp-Vigilo-checkpointAge')).toHaveText('none yet', { timeout: 15_000 });

    // The click: the kernel is idle (no cell runs), so it saves as soon as its next heartbeat
    // (≤ 10 s, the sidecar's default) brings the order.
    const clickedAt = Date.now();
    await card.locator('.jp-Vigilo-checkpointNow').click();
    const message = card.locator('.jp-Vigilo-checkpointMessage');
    await expect(message).toContainText(/^checkpoint ckpt-\S+ requested/, { timeout: 15_000 });
    const id = /^checkpoint (ckpt-\S+) requested/.exec((await message.textContent()) ?? '')![1];

    let record: any = null;
    await expect
      .poll(async () => {
        const answer = await checkpoints();
        record = answer.checkpoints.find((c: any) => c.id === id) ?? null;
        // While pending, the phase and any failure show in the assertion's message.
        return record
          ? { verified: record.verified, error: record.error }
          : { saving: answer.status.saving?.phase ?? null, lastError: answer.status.lastError?.message ?? null };
      }, { timeout: 40_000, message: `checkpoint ${id} verified` })
      .toEqual({ verified: true, error: null });
    expect(record.trigger).toBe('manual');
    expect(record.step).toBe(42);
    expect(record.bytes).toBeGreaterThan(0);
    expect(record.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(record.time)).toBeGreaterThanOrEqual(clickedAt - 1000);
    expect(path.dirname(record.path)).toBe(driveFolder);
    expect(path.basename(record.path)).toBe('step-42.pkl');

    // The file is in "Drive" with those very bytes; the kernel's staging copy is gone.
    expect(statSync(record.path).size).toBe(record.bytes);
    expect(createHash('sha256').update(readFileSync(record.path)).digest('hex')).toBe(record.sha256);
    await expect.poll(() => existsSync(path.join(env.dataDir, 'checkpoint-staging', id)), { timeout: 10_000 }).toBe(false);
    const { status } = await checkpoints();
    expect(status.lastVerified.id).toBe(id);

    // The card: age, verified, where.
    await expect(card.locator('.jp-Vigilo-checkpointAge')).toHaveText(/^\d+ s ago \(.+\) · verified$/, { timeout: 15_000 });
    await expect(card.locator('.jp-Vigilo-ident')).toHaveAttribute('title', record.path);
    await expect(card.locator('.jp-Vigilo-checkpointNow')).toBeEnabled();

    // And it restores in the same kernel: the saved object comes back equal.
    await page.notebook.addCell('code', 'restored = vigilo.checkpoint.restore()\nprint(restored == {"state": state, "step": 42}, vigilo.checkpoint.latest())');
    await page.notebook.runCell(2, true);
    expect((await page.notebook.getCellTextOutput(2))?.join('').trim()).toBe(`True ${record.path}`);
    await page.notebook.close(true);
  });
});
