/**
 * The Kaggle TPU quota, counted on a TPU session with an injected clock: the
 * collector is driven by hand (runOnce) while a ManualClock moves, so every
 * figure is exact and nothing waits for real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeMachine } from '../../../test/helpers/fakeRuntime';
import { startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { ManualClock } from '../core/clock';
import type { SidecarModule } from '../core/module';
import { runtimeModules } from '../session/runtime';

const H = 3600;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function kaggleTpuSidecar(clock: ManualClock): Promise<{ sc: TestSidecar; tick(): Promise<void> }> {
  const machine = fakeMachine({ platform: 'kaggle', nowMs: clock.now(), scenario: null, extraEnv: { ISTPUVM: '1', TPU_ACCELERATOR_TYPE: 'v5litepod-8' } });
  cleanups.push(() => machine.cleanup());
  let modules: SidecarModule[] = [];
  const sc = await startSidecar({
    env: machine.env,
    fsRoot: machine.root,
    clock,
    // Timers far apart: only tick() below moves the quota.
    modules: ctx => (modules = [alertsModule(ctx), ...runtimeModules(ctx, { tickMs: 3 * H * 1000, platformRefreshMs: 3 * H * 1000, gpuIntervalMs: 3 * H * 1000 })])
  });
  cleanups.push(() => sc.stop());
  const quota = modules.find(m => m.name === 'quota')!.collectors![0] as unknown as { runOnce(): Promise<void> };
  return { sc, tick: () => quota.runOnce() };
}

describe('the Kaggle TPU quota', () => {
  it('counts a TPU session against the 20 h TPU quota (not the GPU one), follows a statement and resets on Saturday 00:00 UTC', async () => {
    const clock = new ManualClock(Date.parse('2026-01-02T21:00:00Z')); // a Friday
    const { sc, tick } = await kaggleTpuSidecar(clock);
    await tick();
    let q = (await sc.get('/quota')).body;
    expect(q).toMatchObject({ resource: 'tpu', weeklyQuotaS: 20 * H, counting: true, basis: 'estimated', countedGpuS: 0 });

    clock.advance(H * 1000);
    await tick();
    q = (await sc.get('/quota')).body;
    expect(q).toMatchObject({ resource: 'tpu', countedTpuS: H, countedGpuS: 0, remainingS: 19 * H, usedThisWeekS: H });

    // `%vigilo quota 10h` on a TPU session states the TPU quota.
    const stated = await sc.post('/quota', { remaining: '10h' });
    expect(stated.body).toMatchObject({ resource: 'tpu', basis: 'stated', statedRemainingS: 10 * H, remainingS: 10 * H });
    clock.advance(30 * 60 * 1000);
    await tick();
    q = (await sc.get('/quota')).body;
    expect(q).toMatchObject({ basis: 'stated', remainingS: 10 * H - 1800, usedThisWeekS: 10 * H + 1800 });

    // Across Saturday 00:00 UTC: a fresh week, counted from the boundary (00:00 → 00:30).
    clock.advance(2 * H * 1000);
    await tick();
    q = (await sc.get('/quota')).body;
    expect(q).toMatchObject({ resource: 'tpu', basis: 'estimated', weekStartedAt: '2026-01-03T00:00:00.000Z', countedTpuS: 1800, remainingS: 20 * H - 1800 });
    expect((await sc.get('/metrics')).body.platform.profile.variant).toBe('kaggle/tpu');
  }, 30_000);
});
