import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectEvents, startSidecar, TOKEN, type TestSidecar } from '../../../test/helpers/sidecar';
import { fakeMachine, until } from '../../../test/helpers/fakeRuntime';
import { alertsModule } from '../alerts/module';
import { runtimeModules } from '../session/runtime';
import { copyVerified, explain } from './copy';
import { checkpointModule, type CheckpointModuleOptions } from './module';
import { CheckpointStore } from './store';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function boot(options: CheckpointModuleOptions = {}): Promise<TestSidecar> {
  const sc = await startSidecar({ modules: ctx => [alertsModule(ctx), checkpointModule(ctx, { tickMs: 50, ...options })] });
  cleanups.push(() => sc.stop());
  return sc;
}

async function put(sc: TestSidecar, path: string, body: unknown) {
  const r = await fetch(`${sc.url}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
}

const beat = (sc: TestSidecar, kernelId: string) =>
  sc.post('/kernels/heartbeat', { kernelId, pid: process.pid, startedAt: new Date().toISOString() });

describe('checkpoint module', () => {
  it('"Checkpoint now" rides the watching kernel\'s heartbeat answer, and the staged file becomes a verified checkpoint with events on the stream', async () => {
    const sc = await boot();
    expect((await sc.post('/checkpoints', {})).body).toMatchObject({ accepted: false, message: expect.stringMatching(/watch/) });
    await beat(sc, 'k1');
    await beat(sc, 'k2');
    const watched = await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true, run: 'unit' });
    expect(watched.body.destination).toMatchObject({ kind: 'configured', durable: true, path: join(sc.dataDir, 'checkpoints', 'unit') });
    const events = collectEvents(sc.url, evs => evs.some(e => e.event === 'checkpoint' && e.data.type === 'verified'));
    const now = await sc.post('/checkpoints', {});
    expect(now.status).toBe(202);
    expect(now.body.accepted).toBe(true);
    expect((await sc.post('/checkpoints', {})).body).toMatchObject({ accepted: false, message: expect.stringMatching(/already in progress/) });
    expect((await beat(sc, 'k2')).body.checkpoint).toBeUndefined();
    const answer = (await beat(sc, 'k1')).body;
    expect(answer.checkpoint).toEqual({ id: now.body.id, trigger: 'manual' });
    const staging = join(sc.dataDir, 'checkpoint-staging', now.body.id);
    mkdirSync(staging, { recursive: true });
    const bytes = Buffer.from('state at step 12');
    writeFileSync(join(staging, 'step-12.pkl'), bytes);
    const staged = await sc.post('/checkpoints/staged', {
      kernelId: 'k1',
      orderId: now.body.id,
      trigger: 'manual',
      kind: 'objects',
      step: 12,
      stagingPath: join(staging, 'step-12.pkl'),
      name: 'step-12.pkl',
      saveS: 0.01
    });
    expect(staged.status).toBe(202);
    expect(staged.body.accepted).toBe(true);
    const seen = await events;
    const types = seen.filter(e => e.event === 'checkpoint').map(e => e.data.type);
    expect(types).toContain('verified');
    const verified = seen.find(e => e.event === 'checkpoint' && e.data.type === 'verified')!.data;
    expect(verified.record).toMatchObject({ step: 12, verified: true, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(readFileSync(verified.record.path)).toEqual(bytes);
    const list = (await sc.get('/checkpoints')).body;
    expect(list.checkpoints[0]).toMatchObject({ id: now.body.id, verified: true, trigger: 'manual', kind: 'objects', run: 'unit', kernelId: 'k1' });
    expect(list.status.summary).toMatch(/Last verified checkpoint: step 12/);
    expect((await beat(sc, 'k1')).body.checkpoint).toBeUndefined();
  });

  it('copies a staged path outside the staging folder but never deletes it', async () => {
    const sc = await boot();
    await beat(sc, 'k1');
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true });
    const id = (await sc.post('/checkpoints', {})).body.id;
    const outside = join(sc.dataDir, 'elsewhere.bin');
    writeFileSync(outside, 'keep me');
    const staged = await sc.post('/checkpoints/staged', { kernelId: 'k1', orderId: id, trigger: 'manual', kind: 'objects', step: 2, stagingPath: outside, name: 'step-2.bin', saveS: 0 });
    expect(staged.body.accepted).toBe(true);
    const record = await until(async () => (await sc.get('/checkpoints')).body.checkpoints.find((c: any) => c.id === id && c.verified), 'verified');
    expect(readFileSync(record.path, 'utf8')).toBe('keep me');
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
  });

  async function stageOne(sc: TestSidecar, step: number): Promise<string> {
    const id = (await sc.post('/checkpoints', {})).body.id as string;
    const dir = join(sc.dataDir, 'checkpoint-staging', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `step-${step}.pkl`), `state ${step}`);
    await sc.post('/checkpoints/staged', { kernelId: 'k1', orderId: id, trigger: 'manual', kind: 'objects', step, stagingPath: join(dir, `step-${step}.pkl`), name: `step-${step}.pkl`, saveS: 0 });
    return id;
  }

  it('a FUSE hiccup during the copy is retried once with the same staged file', async () => {
    let calls = 0;
    const sc = await boot({
      copyRetryDelayMs: 10,
      copy: async (...args) => {
        if (++calls === 1) throw explain(Object.assign(new Error('Input/output error'), { code: 'EIO' }), args[1]);
        return copyVerified(...args);
      }
    });
    await beat(sc, 'k1');
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true });
    const id = await stageOne(sc, 3);
    const record = await until(async () => (await sc.get('/checkpoints')).body.checkpoints.find((c: any) => c.id === id), 'the record');
    expect(record.verified).toBe(true);
    expect(calls).toBe(2);
  });

  it('a destination that keeps failing: the checkpoint fails with why and what to do, and a retry is planned', async () => {
    const sc = await boot({
      copyRetryDelayMs: 10,
      copy: async (_from, dest) => {
        throw explain(Object.assign(new Error('Transport endpoint is not connected'), { code: 'ENOTCONN' }), dest);
      }
    });
    await beat(sc, 'k1');
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true });
    const id = await stageOne(sc, 4);
    const record = await until(async () => (await sc.get('/checkpoints')).body.checkpoints.find((c: any) => c.id === id), 'the record');
    expect(record).toMatchObject({ verified: false, error: expect.stringMatching(/FUSE\/network hiccup/) });
    const status = await until(async () => (await sc.get('/checkpoints')).body.status.backoff && (await sc.get('/checkpoints')).body.status, 'the next tick');
    expect(status.backoff.retryAt).not.toBeNull();
    expect(status.nextDue.reason).toBe('a retry after 1 failure(s)');
    const alert = (await sc.get('/alerts?ruleId=checkpoint.failed')).body.alerts[0];
    expect(alert.message).toMatch(/No earlier checkpoint exists yet.*retries with backoff/);
  });

  it('an order the kernel never answers cannot be staged twice or by a stranger', async () => {
    const sc = await boot();
    await beat(sc, 'k1');
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true });
    const stale = await sc.post('/checkpoints/staged', { kernelId: 'k1', orderId: 'ckpt-nope', trigger: 'manual', kind: 'objects', step: 1, stagingPath: '/tmp/x', name: 'x.pkl', saveS: 0 });
    expect(stale.body).toMatchObject({ accepted: false, message: expect.stringMatching(/no checkpoint ckpt-nope is waiting/) });
  });

  it('validates settings and kernel calls at the edge', async () => {
    const sc = await boot();
    expect((await put(sc, '/checkpoints/settings', { keep: 0 })).status).toBe(400);
    expect((await put(sc, '/checkpoints/settings', { every: 5 })).status).toBe(400);
    expect((await put(sc, '/checkpoints/settings', { destination: 'relative/dir' })).status).toBe(400);
    expect((await put(sc, '/checkpoints/settings', { run: '../up' })).status).toBe(400);
    const ok = await put(sc, '/checkpoints/settings', { intervalMin: 45, keep: 5 });
    expect(ok.body).toMatchObject({ intervalMin: 45, keep: 5, auto: true });
    expect((await sc.get('/checkpoints/settings')).body.intervalMin).toBe(45);
    expect((await sc.post('/checkpoints/staged', { kernelId: 'k1', orderId: null, trigger: 'manual', kind: 'objects', step: 1, name: '../escape', saveS: 0 })).status).toBe(400);
    expect((await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true, run: 'a/b' })).status).toBe(400);
  });

  it('a settings change the database cannot store (disk full) is refused and changes nothing', async () => {
    const sc = await boot();
    const full = vi.spyOn(CheckpointStore.prototype, 'saveSettings').mockImplementation(() => {
      throw new Error('SQLITE_FULL: database or disk is full');
    });
    cleanups.push(async () => full.mockRestore());
    const refused = await put(sc, '/checkpoints/settings', { intervalMin: 45, auto: false });
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('disk_full');
    expect((await sc.get('/checkpoints/settings')).body).toMatchObject({ intervalMin: 30, auto: true });
    expect((await sc.get('/checkpoints')).body.status.auto).toBe(true);
  });
});

describe('checkpoint triggers from the live snapshot', () => {
  it('a predicted GPU OOM orders a checkpoint from the watching kernel', async () => {
    // A T4 filling at 3000 MiB/s of wall-clock time: OOM predicted within seconds, far under the 120 s lead.
    const m = fakeMachine({ platform: 'local', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], rampMiBPerS: 3000, rampStartMs: Date.now() } });
    cleanups.push(async () => m.cleanup());
    const sc = await startSidecar({
      env: m.env,
      fsRoot: m.root,
      modules: ctx => [
        alertsModule(ctx),
        ...runtimeModules(ctx, { gpuIntervalMs: 50, tickMs: 25, gpuAppsIntervalMs: 200, platformRefreshMs: 50, oom: { windowMs: 1500, minSamples: 10, minBuckets: 6 } }),
        checkpointModule(ctx, { tickMs: 50 })
      ]
    });
    cleanups.push(() => sc.stop());
    await beat(sc, 'k1');
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true, run: 'oom' });
    const order = await until(async () => (await beat(sc, 'k1')).body.checkpoint, 'an OOM checkpoint order', 15_000);
    expect(order.trigger).toBe('oom');
    const status = (await sc.get('/checkpoints')).body.status;
    expect(status.saving).toMatchObject({ trigger: 'oom', phase: 'requested' });
  });
});
