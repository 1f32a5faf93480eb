import { afterEach, describe, expect, it } from 'vitest';
import { collectEvents, startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { ManualClock } from '../core/clock';
import type { SidecarContext } from '../core/context';
import { progressModule } from './module';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A sidecar whose session section says `remainingS()` is left, on a manual clock. */
async function boot(clock: ManualClock, remainingS: () => number): Promise<TestSidecar> {
  const modules = (ctx: SidecarContext) => [
    alertsModule(ctx),
    { name: 'session-stand-in', collectors: [{ name: 'session-stand-in', start() {}, stop() {} }], start: () => ctx.snapshot.update('session', { remainingS: remainingS() }) },
    progressModule(ctx, { intervalMs: 3_600_000 })
  ];
  const sc = await startSidecar({ clock, modules });
  cleanups.push(() => sc.stop());
  return sc;
}

const beat = (clock: ManualClock, n: number, elapsedS: number) => ({
  kernelId: 'k1',
  pid: 4242,
  startedAt: new Date(clock.now() - 3_600_000).toISOString(),
  progress: [{ id: 'tqdm:1', source: 'tqdm', name: 'train', n, total: 10_000, elapsedS, position: 0, closed: false }]
});

describe('GET /metrics progress and the progress.verdict alert', () => {
  it('serves the run, its finish and the verdict; alerts once when the verdict turns to "runs out", on the event stream too', async () => {
    const clock = new ManualClock();
    let remaining = 4 * 3600 + 5 * 60;
    const sc = await boot(clock, () => remaining);
    const events = collectEvents(sc.url, (got: Array<{ event: string; data: any }>) => got.some(e => e.event === 'alert' && e.data.ruleId === 'progress.verdict'), 5000);
    // 2 steps/s: 10,000 steps take 83 min.
    for (let t = 10; t <= 300; t += 10) {
      clock.advance(10_000);
      expect((await sc.post('/kernels/heartbeat', beat(clock, 2 * t, t))).status).toBe(200);
    }
    const progress = (await sc.get('/metrics')).body.progress;
    expect(progress.main).toMatchObject({ kernelId: 'k1', name: 'train', source: 'tqdm', n: 600, total: 10_000, status: 'running' });
    expect(progress.main.ratePerS).toBeCloseTo(2, 1);
    expect(progress.verdict.text).toMatch(/^finishes in 1 h 1\d min; the runtime has 4 h 0\d min$/);
    expect((await sc.get('/alerts?ruleId=progress.verdict')).body.alerts).toEqual([]);

    // The session now has 30 min left: the verdict turns, once.
    remaining = 1800;
    sc.sidecar.ctx.snapshot.update('session', { remainingS: remaining });
    for (let t = 310; t <= 350; t += 10) {
      clock.advance(10_000);
      await sc.post('/kernels/heartbeat', beat(clock, 2 * t, t));
    }
    const alerts = (await sc.get('/alerts?ruleId=progress.verdict')).body.alerts;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'warning' });
    expect(alerts[0].message).toMatch(/^The run will not finish before the runtime ends: needs 1 h 1\d min, the runtime has 30 min: at this rate it reaches step 4,240 of 10,000 — checkpoints keep the work\.$/);
    const got = await events;
    expect(got.some((e: { event: string; data: any }) => e.event === 'snapshot' && e.data.progress?.verdict)).toBe(true);
  });

  it('forgets the runs of a kernel that restarted: its in-memory loop is gone', async () => {
    const clock = new ManualClock();
    const sc = await boot(clock, () => 3600);
    for (let t = 10; t <= 60; t += 10) {
      clock.advance(10_000);
      await sc.post('/kernels/heartbeat', beat(clock, 2 * t, t));
    }
    expect((await sc.get('/metrics')).body.progress.main).not.toBeNull();
    clock.advance(10_000);
    await sc.post('/kernels/heartbeat', { ...beat(clock, 0, 0), pid: 4343, progress: undefined });
    const progress = (await sc.get('/metrics')).body.progress;
    expect(progress.main).toBeNull();
    expect(progress.verdict).toBeNull();
  });

  it('rejects malformed progress facts with a 400 that names the field', async () => {
    const clock = new ManualClock();
    const sc = await boot(clock, () => 3600);
    const bad = await sc.post('/kernels/heartbeat', { ...beat(clock, 1, 1), progress: [{ id: 'x', n: -3 }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/progress/);
  });
});
