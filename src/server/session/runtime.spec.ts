import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeMachine, until, type FakeMachine } from '../../../test/helpers/fakeRuntime';
import { collectEvents, startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { ManualClock } from '../core/clock';
import type { SidecarContext } from '../core/context';
import { KAGGLE_PROBE_DEFAULT, probeTarget } from '../quota/module';
import { runtimeModules, type RuntimeOptions } from './runtime';

const T4_UUID = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function modules(options: RuntimeOptions = {}) {
  return (ctx: SidecarContext) => [alertsModule(ctx), ...runtimeModules(ctx, { gpuIntervalMs: 50, tickMs: 25, gpuAppsIntervalMs: 200, platformRefreshMs: 50, ...options })];
}

async function boot(machine: FakeMachine, options: RuntimeOptions = {}, extra: { clock?: ManualClock; dataDir?: string } = {}): Promise<TestSidecar> {
  const sc = await startSidecar({ env: machine.env, fsRoot: machine.root, modules: modules(options), clock: extra.clock, dataDir: extra.dataDir });
  cleanups.push(() => sc.stop());
  return sc;
}

function machine(opts: Parameters<typeof fakeMachine>[0]): FakeMachine {
  const m = fakeMachine(opts);
  cleanups.push(() => m.cleanup());
  return m;
}

const metrics = async (sc: TestSidecar) => (await sc.get('/metrics')).body;
const alerts = async (sc: TestSidecar, ruleId?: string) => (await sc.get(`/alerts${ruleId ? `?ruleId=${ruleId}` : ''}`)).body.alerts as Array<{ ruleId: string; message: string; severity: string; threshold: number | null; data?: any }>;

describe('simulated Colab with a T4 and Drive mounted', () => {
  it('reports colab with its evidence, the T4, Drive mounted and the session counted from the runtime start', async () => {
    const m = machine({ platform: 'colab', nowMs: Date.now(), runtimeAgeS: 3 * 3600, driveMounted: true, scenario: { gpus: [{ fixture: 't4' }], apps: 'fixture' } });
    const sc = await boot(m);
    const gpu = await until(async () => {
      const g = (await metrics(sc)).gpu;
      return g?.status === 'ok' && g.devices[0].processes?.length ? g : null;
    }, 'T4 rows with processes');
    expect(gpu.devices[0]).toMatchObject({ name: 'Tesla T4', uuid: T4_UUID, memoryTotalMiB: 15360, memoryUsedMiB: 1032, temperatureC: 40, powerW: 26.78 });
    expect(gpu.devices[0].processes).toContainEqual({ pid: 5762, processName: 'python', usedMiB: 1005 });
    const status = await until(async () => {
      const s = (await sc.get('/status')).body;
      return s.platform.accelerator?.model === 'Tesla T4' ? s : null;
    }, 'accelerator in /status');
    expect(status.platform.name).toBe('colab');
    expect(status.platform.evidence.join('\n')).toContain('env COLAB_RELEASE_TAG=release-colab_20260101-060000_RC00');
    expect(status.platform.evidence.join('\n')).toContain('path /var/colab/hostname exists');
    const snap = await until(async () => {
      const s = await metrics(sc);
      return s.session && s.storage && s.idle ? s : null;
    }, 'session and storage sections');
    expect(snap.storage.drive).toEqual({ mounted: true, mountPoint: '/content/drive', fsType: 'fuse.drive' });
    expect(snap.storage.disks.map((d: { path: string }) => d.path)).toEqual(['/', '/content']);
    expect(snap.session.startBasis).toMatch(/^pid1/);
    // 12 h lifetime, 3 h already gone before the sidecar started.
    expect(Math.abs(snap.session.remainingS - 9 * 3600)).toBeLessThan(60);
    expect(snap.idle.cutoffS).toBe(5400);
    const profile = (await sc.get('/profile')).body;
    expect(profile.fields.sessionLifetime).toMatchObject({ value: 43200, verified: false });
  });

  it('reports Drive as not mounted when the mount table has no fuse.drive', async () => {
    const m = machine({ platform: 'colab', nowMs: Date.now(), scenario: null });
    const sc = await boot(m);
    const storage = await until(async () => (await metrics(sc)).storage, 'storage');
    expect(storage.drive.mounted).toBe(false);
  });
});

describe('simulated Kaggle with a P100 and a nearly full /kaggle/working', () => {
  it('measures the output folder against the limit, alerts once, and tracks the weekly quota the user states', async () => {
    const m = machine({ platform: 'kaggle', nowMs: Date.now(), scenario: { gpus: [{ fixture: 'p100', usedMiB: 2048 }] } });
    // The output limit is scaled down (user override) so the test writes 900 KB, not 18 GB.
    const sc0dir = join(m.root, '..', `${m.root.split('/').pop()}-data`);
    require('node:fs').mkdirSync(sc0dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(sc0dir, 'profile.json'), JSON.stringify({ overrides: { outputLimit: '1MB' } }));
    cleanups.push(() => require('node:fs').rmSync(sc0dir, { recursive: true, force: true }));
    m.write('/kaggle/working/model.pt', Buffer.alloc(600_000));
    m.write('/kaggle/working/ckpt/epoch1.pt', Buffer.alloc(300_000));
    const sc = await boot(m, {}, { dataDir: sc0dir });
    const snap = await until(async () => {
      const s = await metrics(sc);
      return s.storage?.output && s.gpu?.status === 'ok' ? s : null;
    }, 'output size and P100');
    expect(snap.storage.output).toMatchObject({ path: '/kaggle/working', bytes: 900_000, limitBytes: 1_000_000, usedPercent: 90, files: 2, truncated: false });
    expect(snap.gpu.devices[0]).toMatchObject({ name: 'Tesla P100-PCIE-16GB', memoryTotalMiB: 16280 });
    const status = (await sc.get('/status')).body;
    expect(status.platform.name).toBe('kaggle');
    expect(status.platform.evidence.join(' ')).not.toContain('secret-token-never-echoed');
    const out = await until(async () => (await alerts(sc, 'storage.output')).length ? alerts(sc, 'storage.output') : null, 'output alert');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ severity: 'warning' });
    expect(out[0].message).toMatch(/\/kaggle\/working holds 900 kB, 90.0 % of the 1 MB output limit/);

    const bad = await sc.post('/quota', { remaining: 'lots' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/remaining: "lots" is not a duration/);
    const stated = await sc.post('/quota', { remaining: '22h30m' });
    expect(stated.status).toBe(200);
    expect(stated.body).toMatchObject({ basis: 'stated', statedRemainingS: 81000, weeklyQuotaS: 108000, counting: true });
    expect(stated.body.remainingS).toBeLessThanOrEqual(81000);
    const file = join(sc.dataDir, 'quota.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).gpu.statedRemainingS).toBe(81000);
    const profile = (await sc.get('/profile')).body;
    expect(profile.variant).toBe('kaggle/gpu');
    expect(profile.fields.outputLimit.source).toMatch(/profile\.json/);
    expect(profile.fields.sessionLifetime.value).toBe(12 * 3600);
  });

  it('keeps the stated quota across sidecar restarts', async () => {
    const m = machine({ platform: 'kaggle', nowMs: Date.now(), scenario: null });
    const first = await startSidecar({ env: m.env, fsRoot: m.root, modules: modules() });
    await first.post('/quota', { remaining: 23 });
    const dataDir = first.dataDir;
    await first.sidecar.stop();
    const second = await boot(m, {}, { dataDir });
    cleanups.push(() => require('node:fs').rmSync(dataDir, { recursive: true, force: true }));
    const q = (await second.get('/quota')).body;
    expect(q).toMatchObject({ basis: 'stated', statedRemainingS: 23 * 3600 });
  });

  it('never probes the internet from a test: the default Kaggle target is off in every test process', () => {
    // Production default on Kaggle…
    expect(probeTarget({}, 'kaggle')).toEqual({ host: 'www.kaggle.com', port: 443 });
    expect(KAGGLE_PROBE_DEFAULT).toBe('www.kaggle.com:443');
    // …but test/globalSetup.ts exports VIGILO_INTERNET_PROBE=off to every worker, and the fake machines keep it.
    expect(process.env.VIGILO_INTERNET_PROBE).toBe('off');
    expect(probeTarget(process.env, 'kaggle')).toBeNull();
    expect(probeTarget(machine({ platform: 'kaggle', nowMs: Date.now(), scenario: null }).env, 'kaggle')).toBeNull();
  });

  it('probes internet access only at the configured loopback target', async () => {
    const server: Server = createServer(s => s.destroy());
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>(r => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const m = machine({ platform: 'kaggle', nowMs: Date.now(), scenario: null, extraEnv: { VIGILO_INTERNET_PROBE: `127.0.0.1:${port}` } });
    const sc = await boot(m);
    const q = await until(async () => ((await metrics(sc)).quota?.internet.checkedAt ? (await metrics(sc)).quota : null), 'probe result');
    expect(q.internet).toMatchObject({ enabled: true, target: `127.0.0.1:${port}`, reachable: true, error: null });
  });
});

describe('local machine without a GPU', () => {
  it('says why there is no GPU section data and keeps everything else working', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: null });
    const sc = await boot(m);
    const gpu = await until(async () => ((await metrics(sc)).gpu?.status === 'unavailable' ? (await metrics(sc)).gpu : null), 'gpu unavailable');
    expect(gpu.reason).toBe('nvidia-smi not found on PATH (no NVIDIA driver?)');
    expect(gpu.devices).toEqual([]);
    const status = (await sc.get('/status')).body;
    expect(status.platform).toMatchObject({ name: 'local', accelerator: { kind: 'none' } });
    // Each collector reports on its own schedule: wait for both sections.
    const snap = await until(async () => {
      const m = await metrics(sc);
      return m.session && m.storage ? m : null;
    }, 'session and storage');
    expect(snap.session.remainingS).toBeNull();
    expect(snap.storage.output).toBeNull();
    expect((await sc.get('/profile')).body.variant).toBe('local');
  });
});

describe('GPU swap mid-run', () => {
  it('alerts on /events, from what to what, within a few samples', async () => {
    const m = machine({ platform: 'colab', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }] } });
    const sc = await boot(m);
    await until(async () => (await metrics(sc)).gpu?.status === 'ok', 'first T4 sample');
    let swapped = false;
    const got = await collectEvents(sc.url, evs => {
      if (!swapped && evs.some(e => e.event === 'hello')) {
        swapped = true;
        m.setScenario({ gpus: [{ fixture: 'p100' }] });
      }
      return evs.some(e => e.event === 'alert' && e.data.ruleId === 'gpu.changed');
    });
    const alert = got.find(e => e.event === 'alert' && e.data.ruleId === 'gpu.changed')!.data;
    expect(alert.severity).toBe('critical');
    expect(alert.message).toContain(`GPU 0 Tesla T4 (${T4_UUID}) → GPU 0 Tesla P100-PCIE-16GB`);
    expect((await alerts(sc, 'gpu.changed'))).toHaveLength(1);
  });
});

describe('VRAM through the streaming reader', () => {
  it('predicts the OOM of a ramp within 20 % and alerts before usage passes 95 %', async () => {
    // 3000 MiB/s of wall-clock time from 1032 MiB on a 15360 MiB T4: the true moment of the limit is known
    // in advance, whatever the load on this machine does to batch timing. The ramp is already under way when
    // the sidecar starts (a flat lead-in biases the first estimates late; oom.spec.ts covers shapes).
    const rampStartMs = Date.now();
    const limitAtMs = rampStartMs + ((15360 - 1032) / 3000) * 1000;
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], rampMiBPerS: 3000, rampStartMs } });
    const sc = await boot(m, { oom: { windowMs: 1500, minSamples: 10, minBuckets: 6 } });
    const oomAlert = (await until(async () => (await sc.get('/alerts?ruleId=gpu.oom')).body.alerts[0], 'OOM alert')) as { message: string; value: number; at: string; severity: string };
    expect(oomAlert.message).toMatch(/will run out in about/);
    // A fast ramp is under 2 min from the first confident prediction: one alert, straight at the critical mark.
    expect(oomAlert.severity).toBe('critical');
    // Predicted versus actual time to the limit, from the moment of the alert.
    const actualS = (limitAtMs - Date.parse(oomAlert.at)) / 1000;
    expect(actualS).toBeGreaterThan(1);
    expect(Math.abs(oomAlert.value - actualS)).toBeLessThanOrEqual(0.2 * actualS);
    const vram = await until(async () => ((await alerts(sc, 'gpu.vram')).length >= 2 ? alerts(sc, 'gpu.vram') : null), 'VRAM 90 and 95 % alerts');
    expect(vram.map(a => a.severity)).toEqual(['critical', 'warning']);
    // Usage pinned at 100 % for a while: still exactly one alert per level.
    const pinned = await until(async () => {
      const h = (await sc.get(`/gpu/history?uuid=${T4_UUID}`)).body.gpus[0].samples as Array<{ usedMiB: number }>;
      return h.filter(x => x.usedMiB === 15360).length >= 10 ? h : null;
    }, 'ten samples at the limit');
    expect(pinned.length).toBeGreaterThan(10);
    expect(await alerts(sc, 'gpu.vram')).toHaveLength(2);
    expect(await alerts(sc, 'gpu.oom')).toHaveLength(1);
  });

  it('does not raise an OOM alert on flat usage', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4', usedMiB: 9000 }] } });
    const sc = await boot(m, { oom: { windowMs: 1500, minSamples: 10, minBuckets: 6 } });
    await until(async () => ((await sc.get('/gpu/history')).body.gpus[0]?.samples.length ?? 0) >= 40, '40 samples', 10_000);
    const device = (await metrics(sc)).gpu.devices[0];
    expect(device.oom.secondsToLimit).toBeNull();
    expect(device.oom.basis).toMatch(/flat/);
    expect(await alerts(sc, 'gpu.oom')).toEqual([]);
  });
});

describe('nvidia-smi failures', () => {
  it('hanging: the watchdog says so and restarts it, boundedly', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], hangAfterBatches: 2 } });
    const sc = await boot(m, { gpuWatchdogFactor: 4, gpuInitialBackoffMs: 100, gpuMaxBackoffMs: 400 });
    const gpu = await until(async () => {
      const g = (await metrics(sc)).gpu;
      return g?.status === 'error' && /printed no GPU line/.test(g.reason ?? '') ? g : null;
    }, 'hung reason');
    expect(gpu.reason).toMatch(/hung driver\?\); restarting it; retry in/);
    expect(gpu.devices[0].name).toBe('Tesla T4'); // last known figures stay, marked by the status
    expect((await sc.get('/status')).status).toBe(200);
  });

  it('printing garbage: lines are counted and quoted in the reason, never crash', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], mode: 'garbage' } });
    const sc = await boot(m, { gpuWatchdogFactor: 4, gpuInitialBackoffMs: 100, gpuMaxBackoffMs: 400 });
    const gpu = await until(async () => {
      const g = (await metrics(sc)).gpu;
      return g?.status === 'error' && /cannot read/.test(g.reason ?? '') ? g : null;
    }, 'garbage reason');
    expect(gpu.reader.garbageLines).toBeGreaterThan(0);
    expect(gpu.reason).toMatch(/Failed to initialize NVML|garbage/);
  });

  it('mixed garbage between good rows still streams', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 'l40s-load' }], mode: 'mixed' } });
    const sc = await boot(m);
    const gpu = await until(async () => {
      const g = (await metrics(sc)).gpu;
      return g?.status === 'ok' && g.reader.garbageLines >= 2 ? g : null;
    }, 'garbage counted while streaming');
    expect(gpu.devices[0].name).toBe('NVIDIA L40S');
  });

  it('dying repeatedly: the reason carries its last words and restarts back off instead of spinning', async () => {
    const m = machine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], mode: 'exit' } });
    const started = Date.now();
    const sc = await boot(m, { gpuInitialBackoffMs: 100, gpuMaxBackoffMs: 400 });
    const gpu = await until(async () => {
      const g = (await metrics(sc)).gpu;
      return g?.reader?.failures >= 3 ? g : null;
    }, 'three failures');
    expect(gpu.status).toBe('error');
    expect(gpu.reason).toMatch(/nvidia-smi exited \(code 15\): Unable to determine the device handle/);
    await until(async () => (await metrics(sc)).gpu?.reader?.failures >= 5, 'five failures');
    const elapsed = Date.now() - started;
    // Delays 100, 200, 400, 400 … ms: at most 1 + elapsed/100 spawns even in the worst case, far fewer in fact.
    const spawns = m.spawnCount();
    expect(spawns).toBeGreaterThanOrEqual(3);
    expect(spawns).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 400) + 3);
    expect((await metrics(sc)).session).toBeDefined();
  });
});

describe('restarts and the previous session', () => {
  it('a new kernel pid or lost heartbeats raise "kernel restarted … in-memory state lost"', async () => {
    const clock = new ManualClock(Date.now());
    const m = machine({ platform: 'local', nowMs: clock.now(), scenario: null });
    const sc = await boot(m, {}, { clock });
    const beat = (pid: number) => sc.post('/kernels/heartbeat', { kernelId: 'k1', pid, startedAt: new Date(clock.now()).toISOString() });
    await beat(100);
    await beat(200);
    const restarted = await alerts(sc, 'kernel.restarted');
    expect(restarted).toHaveLength(1);
    expect(restarted[0].message).toMatch(/^Kernel restarted at .* — in-memory state lost \(pid 100 → 200\)/);
    clock.advance(60_000);
    sc.sidecar.ctx.kernels.sweep();
    const both = await alerts(sc, 'kernel.restarted');
    expect(both[0].message).toMatch(/heartbeat lost\): if it restarted or died, its in-memory state is lost/);
  });

  it('a fresh sidecar tells how the previous session ended: cleanly, or with its runtime', async () => {
    const m = machine({ platform: 'colab', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }] } });
    const first = await startSidecar({ env: m.env, fsRoot: m.root, modules: modules() });
    const dataDir = first.dataDir;
    cleanups.push(() => require('node:fs').rmSync(dataDir, { recursive: true, force: true }));
    await until(async () => (await metrics(first)).gpu?.status === 'ok', 'T4');
    await first.sidecar.stop();
    const record = JSON.parse(readFileSync(join(dataDir, 'session.json'), 'utf8'));
    expect(record).toMatchObject({ gpus: [{ uuid: T4_UUID, name: 'Tesla T4' }], endReason: expect.stringMatching(/^sidecar stopped cleanly after \d+ s$/) }); // read like every duration (formatDuration)
    expect(statSync(join(dataDir, 'session.json')).mode & 0o777).toBe(0o600);

    // Second session: same runtime, new GPU, and the first one ended cleanly.
    m.setScenario({ gpus: [{ fixture: 'p100' }] });
    const second = await boot(m, {}, { dataDir });
    const prev = await until(async () => (await alerts(second, 'session.previous'))[0], 'previous-session alert');
    expect(prev.message).toMatch(/ended cleanly at/);
    const changed = await until(async () => (await alerts(second, 'gpu.changed'))[0], 'GPU changed between sessions');
    expect(changed.message).toContain('differs from the previous session on this machine: GPU 0 Tesla T4');
    expect(changed.message).toContain('→ GPU 0 Tesla P100-PCIE-16GB');
    await second.sidecar.stop();

    // Third: the record says the session never ended and the runtime started at another time → recycled.
    const rec = JSON.parse(readFileSync(join(dataDir, 'session.json'), 'utf8'));
    writeFileSync(join(dataDir, 'session.json'), JSON.stringify({ ...rec, endedAt: null, endReason: null, runtimeStartedAt: '2020-01-01T00:00:00.000Z' }));
    const third = await boot(m, {}, { dataDir });
    const snap = await until(async () => ((await metrics(third)).session?.previous ? metrics(third) : null), 'previous in section');
    expect(snap.session.previous.sameRuntime).toBe(false);
    expect(snap.session.previous.how).toMatch(/ended with its runtime: last seen alive at .* the runtime was recycled/);
  });
});

describe('session and idle countdowns', () => {
  it('warns at the session marks once each, and before the idle cut-off using panel activity', async () => {
    const clock = new ManualClock(Date.now());
    // Runtime started 10 h 55 min ago on Colab: 65 min left.
    const m = machine({ platform: 'colab', nowMs: clock.now(), runtimeAgeS: 10 * 3600 + 55 * 60, scenario: null });
    const sc = await boot(m, {}, { clock });
    await until(async () => (await metrics(sc)).session, 'session');
    expect(await alerts(sc, 'session.remaining')).toEqual([]);
    clock.advance(6 * 60_000); // 59 min left
    await sc.post('/activity', { source: 'panel' });
    const first = await until(async () => (await alerts(sc, 'session.remaining'))[0], '60-min mark');
    expect(first.message).toMatch(/maximum lifetime in 59 min/);
    clock.advance(60_000);
    await sc.post('/activity', { source: 'panel' });
    expect(await alerts(sc, 'session.remaining')).toHaveLength(1);

    // Idle: the last panel activity was just now; 90-min cut-off; 81 min later → 9 min left (warning at 10, src/shared/alertLevels.ts).
    clock.advance(81 * 60_000);
    const idle = await until(async () => (await alerts(sc, 'idle.remaining'))[0], 'idle warning');
    expect(idle).toMatchObject({ severity: 'warning', threshold: 10 });
    expect(idle.message).toMatch(/idleness in 9 min/);
    const section = (await metrics(sc)).idle;
    expect(section).toMatchObject({ source: 'panel', cutoffS: 5400 });
    const bad = await sc.post('/activity', { source: 'mouse' });
    expect(bad.status).toBe(400);
  });

  it('fires each session mark (60, 30, 10, 5 min) exactly once, with rising severity', async () => {
    const clock = new ManualClock(Date.now());
    // 70 min left on a 12 h Colab runtime.
    const m = machine({ platform: 'colab', nowMs: clock.now(), runtimeAgeS: 12 * 3600 - 70 * 60, scenario: null });
    const sc = await boot(m, {}, { clock });
    /** Move the clock and wait until the session collector has sampled at the new time (no fixed sleep). */
    const at = async (minutesLeft: number) => {
      clock.set(m.runtimeStartMs + (12 * 3600 - minutesLeft * 60) * 1000);
      const want = new Date(clock.now()).toISOString();
      await until(async () => (await metrics(sc)).idle?.lastActivityAt && (await metrics(sc)).session?.remainingS === Math.round(minutesLeft * 60), `session at ${minutesLeft} min left (${want})`);
    };
    const marks = async () => (await alerts(sc, 'session.remaining')).reverse().map(a => [a.threshold, a.severity]);
    await at(65);
    expect(await marks()).toEqual([]);
    for (const left of [59.5, 58, 45, 31]) await at(left);
    expect(await marks()).toEqual([[60, 'info']]);
    for (const left of [29, 20, 11]) await at(left);
    expect(await marks()).toEqual([[60, 'info'], [30, 'info']]);
    for (const left of [9, 7, 5.5]) await at(left);
    expect(await marks()).toEqual([[60, 'info'], [30, 'info'], [10, 'warning']]);
    for (const left of [4.5, 2, 0.5, 0]) await at(left);
    expect(await marks()).toEqual([[60, 'info'], [30, 'info'], [10, 'warning'], [5, 'critical']]);
  });

  it('lets the user override the lifetime for a paid tier with POST /profile, and refuses nonsense', async () => {
    const m = machine({ platform: 'colab', nowMs: Date.now(), runtimeAgeS: 3600, scenario: null });
    const sc = await boot(m);
    const res = await sc.post('/profile', { overrides: { sessionLifetime: '24h' } });
    expect(res.status).toBe(200);
    expect(res.body.fields.sessionLifetime).toMatchObject({ value: 86400, source: 'user override (POST /profile)' });
    const snap = await until(async () => ((await metrics(sc)).session?.lifetimeS === 86400 ? metrics(sc) : null), 'new lifetime');
    expect(Math.abs(snap.session.remainingS - 23 * 3600)).toBeLessThan(60);
    const bad = await sc.post('/profile', { overrides: { sessionLifetime: 'forever' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/sessionLifetime: "forever" is not a duration/);
    expect(JSON.parse(readFileSync(join(sc.dataDir, 'profile.json'), 'utf8')).overrides.sessionLifetime).toBe('24h');
  });
});
