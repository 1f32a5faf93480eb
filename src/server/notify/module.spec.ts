/**
 * The notify module end to end: the real alert engine, the real delivery
 * worker (python -m vigilo.notify_worker with Apprise, from .venv) and a
 * loopback HTTP receiver that Apprise's json:// plugin posts to.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeMachine, until } from '../../../test/helpers/fakeRuntime';
import { startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { checkpointModule } from '../checkpoint/module';
import { ManualClock } from '../core/clock';
import type { SidecarContext } from '../core/context';
import { runtimeModules } from '../session/runtime';
import { notifyModule } from './module';
import { ChannelStore, NOTIFY_FILE } from './channels';
import { redactUrl, scrub } from './redact';

const PYTHON = resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Received {
  path: string;
  body: any;
  at: number;
}

/** A loopback receiver: answers each request with `reply()` ('ok', 500, or 'hang'). */
async function receiver(reply: () => 'ok' | 500 | 'hang' = () => 'ok'): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const hanging: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', c => (text += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: text ? JSON.parse(text) : null, at: Date.now() });
      const r = reply();
      if (r === 'hang') return void hanging.push(req);
      res.writeHead(r === 'ok' ? 200 : 500, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>(r => {
        for (const req of hanging) req.socket.destroy();
        server.close(() => r());
      })
  );
  return { url: `127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const ENV = { VIGILO_PYTHON: PYTHON, VIGILO_NOTIFY_RETRY_MS: '50,100', VIGILO_NOTIFY_TIMEOUT_S: '1' };

async function boot(modules: (ctx: SidecarContext) => any[], extra: { clock?: ManualClock; env?: NodeJS.ProcessEnv; fsRoot?: string } = {}): Promise<TestSidecar> {
  const sc = await startSidecar({ clock: extra.clock, env: { ...ENV, ...extra.env }, fsRoot: extra.fsRoot, modules });
  cleanups.push(() => sc.stop());
  return sc;
}

const sentTo = (sc: TestSidecar) => async () => (await sc.get('/notify')).body;

describe('redaction', () => {
  it('shows the service and where, never the token, password, path or query', () => {
    expect(redactUrl('mailtos://me:app-pass-123@gmail.com?to=x@y.z')).toBe('mailtos://•••@gmail.com/•••');
    expect(redactUrl('tgram://123456:ABC-secret/987654')).toBe('tgram://•••/•••');
    expect(redactUrl('ntfy://127.0.0.1:8080/my-private-topic')).toBe('ntfy://127.0.0.1:8080/•••');
    expect(redactUrl('slack://TXXXX/BYYYY/ZZZZZZZZ/#general')).toBe('slack://•••/•••');
    expect(scrub('failed: json://h.io/hook?token=s3cr3t-t0k sending to s3cr3t-t0k', ['json://h.io/hook?token=s3cr3t-t0k'])).toBe('failed: ••• sending to •••');
  });

  it('masks every secret piece of the shared vectors (test/vectors/notify-secrets.json, also checked against the Python worker) and keeps host names', () => {
    const { vectors } = JSON.parse(readFileSync(resolve(__dirname, '..', '..', '..', 'test', 'vectors', 'notify-secrets.json'), 'utf8')) as {
      vectors: Array<{ url: string; hide: string[]; keep: string[] }>;
    };
    expect(vectors.length).toBeGreaterThan(5);
    for (const v of vectors) {
      const said = scrub(`failed for ${v.url}: ${[...v.hide, ...v.keep].join(' | ')}`, [v.url]);
      expect(v.hide.filter(h => said.includes(h)), v.url).toEqual([]);
      expect(v.keep.filter(k => !said.includes(k)), v.url).toEqual([]);
    }
  });

  it('a damaged notify.json is ignored with the field that is wrong, never its text (it holds the URLs)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigilo-notify-file-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const secret = 'ntfy://ntfy.sh/my-private-topic-9f3c';
    writeFileSync(join(dir, NOTIFY_FILE), JSON.stringify({ channels: [{ id: 'ch-1', url: secret }], settings: { capPerHour: 'many' } }));
    const wrongField = new ChannelStore(dir, undefined, () => undefined);
    expect(wrongField.warnings).toEqual([`${join(dir, NOTIFY_FILE)} ignored: settings.capPerHour: Invalid input: expected number, received string`]);
    expect(wrongField.channels()).toEqual([]);
    writeFileSync(join(dir, NOTIFY_FILE), `{"channels": [{"id": "ch-1", "url": "${secret}"}],}`);
    const notJson = new ChannelStore(dir, undefined, () => undefined);
    expect(notJson.warnings).toEqual([`${join(dir, NOTIFY_FILE)} ignored: not valid JSON`]);
  });
});

describe('notify module with the real delivery worker', () => {
  it('a 1,000-flap storm in a minute reaches the receiver at most the hourly cap, and GET /notify counts the rest', async () => {
    const clock = new ManualClock(Date.parse('2026-03-02T09:00:00Z'));
    const rx = await receiver();
    const sc = await boot(ctx => [alertsModule(ctx), notifyModule(ctx)], { clock });
    expect((await sc.post('/settings/notify', { resendAfterClearMin: 0, mergeWindowS: 0, capPerHour: 5 })).status).toBe(200);
    expect((await sc.post('/notify/channels', { url: `json://${rx.url}/hook` })).status).toBe(201);
    const { ctx } = sc.sidecar;
    ctx.alerts.addRule({ id: 'storage.disk', direction: 'above', severity: 'warning', thresholds: [85], message: v => `Disk / is ${v.toFixed(1)} % full. Delete files.` });
    for (let i = 0; i < 1000; i++) {
      clock.advance(60);
      ctx.alerts.observe('storage.disk', '/', i % 2 === 0 ? 86 + (i % 9) / 10 : 70);
    }
    const state = await until(async () => {
      const s = await sentTo(sc)();
      return s.deliveries.every((d: any) => d.status !== 'pending') && s.deliveries.length === 5 ? s : null;
    }, 'five deliveries done', 20_000);
    expect(state.counts.disk).toEqual({ sent: 5, capped: 495 });
    await until(() => rx.got.length === 5, 'five posts at the receiver', 10_000);
    expect(rx.got).toHaveLength(5);
    // Apprise's JSON payload, as documented (appriseit.com/services/json): version, title, message, type.
    // Delivered on the worker's threads: in any order.
    expect(rx.got.map(g => g.body)).toContainEqual({ version: '1.0', title: 'Disk 86 % full', message: 'Disk / is 86.0 % full. Delete files.', type: 'warning', attachments: [] });
  }, 40_000);

  it('simulated Colab reaching T-10 min: one message per mark, the 10-min one with the verified checkpoint age', async () => {
    const clock = new ManualClock(Date.now());
    const m = fakeMachine({ platform: 'colab', nowMs: clock.now(), runtimeAgeS: 12 * 3600 - 35 * 60, driveMounted: true, scenario: null });
    cleanups.push(() => m.cleanup());
    const rx = await receiver();
    const sc = await boot(ctx => [alertsModule(ctx), ...runtimeModules(ctx, { tickMs: 25, platformRefreshMs: 50 }), checkpointModule(ctx, { tickMs: 50 }), notifyModule(ctx)], {
      clock,
      env: m.env,
      fsRoot: m.root
    });
    await sc.post('/notify/channels', { url: `json://${rx.url}/colab` });
    const at = async (minutesLeft: number) => {
      clock.set(m.runtimeStartMs + (12 * 3600 - minutesLeft * 60) * 1000);
      await until(async () => (await sc.get('/metrics')).body.session?.remainingS === Math.round(minutesLeft * 60), `${minutesLeft} min left`);
    };
    await at(34);
    await at(29);
    await until(() => rx.got.length === 1, 'the 30-min message');
    expect(rx.got[0].body.message).toMatch(/^Runtime ends in 29 min; no checkpoint: run `vigilo\.checkpoint\.now\(\)`/);

    // A real checkpoint through the kernel protocol at T-14, verified.
    await at(14);
    await sc.post('/kernels/heartbeat', { kernelId: 'k1', pid: process.pid, startedAt: new Date(clock.now()).toISOString() });
    await sc.post('/checkpoints/watch', { kernelId: 'k1', watching: true, run: 'colab' });
    const order = (await sc.post('/checkpoints', {})).body;
    expect(order).toMatchObject({ accepted: true });
    await sc.post('/kernels/heartbeat', { kernelId: 'k1', pid: process.pid, startedAt: new Date(clock.now()).toISOString() });
    const staging = join(sc.dataDir, 'checkpoint-staging', order.id);
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'step-40.pkl'), 'weights');
    await sc.post('/checkpoints/staged', { kernelId: 'k1', orderId: order.id, trigger: 'manual', kind: 'objects', step: 40, stagingPath: join(staging, 'step-40.pkl'), name: 'step-40.pkl', saveS: 0.01 });
    await until(async () => (await sc.get('/checkpoints')).body.status.lastVerified, 'a verified checkpoint');

    // The checkpoint answers the 30-min warning: said once.
    await until(() => rx.got.length === 2, 'the checkpoint message');
    expect(rx.got[1].body.message).toBe('Checkpoint saved and verified (step 40) after the warning "Runtime ends in 29 min". Nothing to do.');
    for (const left of [12, 10]) await at(left);
    await until(() => rx.got.length === 3, 'the 10-min message');
    for (const left of [8, 4]) await at(left);
    expect(rx.got).toHaveLength(3);
    expect(rx.got[2].body).toMatchObject({ title: 'Runtime ends in 10 min', message: 'Runtime ends in 10 min; last checkpoint 4 min ago, verified; nothing to do.', type: 'warning' });
  }, 40_000);

  it('a receiver that answers 500, one that hangs and one that refuses: retries, then a visible failure; /metrics stays fast', async () => {
    const bad = await receiver(() => 500);
    const hang = await receiver(() => 'hang');
    const secret = 'tok-9f8e7d6c5b4a';
    const sc = await boot(ctx => [alertsModule(ctx), notifyModule(ctx)]);
    for (const url of [`json://${bad.url}/a?token=${secret}`, `json://user:${secret}@${hang.url}/b`, `ntfy://127.0.0.1:9/${secret}`]) {
      expect((await sc.post('/notify/channels', { url })).status).toBe(201);
    }
    const test = sc.post('/notify/test', { waitS: 30 });
    const latencies: number[] = [];
    let done = false;
    void test.then(() => (done = true));
    while (!done) {
      const t = performance.now();
      expect((await sc.get('/metrics')).status).toBe(200);
      latencies.push(performance.now() - t);
    }
    const answer = (await test).body;
    expect(answer.deliveries.map((d: any) => [d.status, d.attempts])).toEqual([
      ['failed', 3],
      ['failed', 3],
      ['failed', 3]
    ]);
    expect(bad.got).toHaveLength(3);
    expect(hang.got).toHaveLength(3);
    expect(answer.deliveries[1].error).toMatch(/timed out|timeout|Read timed out|error/i);
    latencies.sort((a, b) => a - b);
    expect(latencies.length).toBeGreaterThan(5);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThan(250);
    const alerts = (await sc.get('/alerts?ruleId=notify.failed')).body.alerts;
    expect(alerts).toHaveLength(3);
    expect(alerts.map((a: any) => a.message).join('\n')).toMatch(/Notification to json:\/\/127\.0\.0\.1:\d+\/••• failed after 3 attempts/);
    const everything = JSON.stringify([answer, alerts, (await sc.get('/notify')).body, (await sc.get('/alerts/active')).body, (await sc.get('/metrics')).body]);
    expect(everything).not.toContain(secret);
    const notify = (await sc.get('/notify')).body;
    expect(notify.failures).toHaveLength(3);
    expect(notify.worker).toMatchObject({ state: 'running', python: PYTHON });
    // Test messages count toward the hourly cap but belong to no rule's figures.
    expect(notify.counts.runtime).toEqual({});
  }, 60_000);

  it('VIGILO_NOTIFY channels are used, shown redacted, never written to disk, and removed only by unsetting it', async () => {
    const rx = await receiver();
    const secretTopic = 'colab-secret-topic-31';
    const sc = await boot(ctx => [alertsModule(ctx), notifyModule(ctx)], { env: { VIGILO_NOTIFY: `json://${rx.url}/${secretTopic}  not-a-url` } });
    const state = (await sc.get('/notify')).body;
    expect(state.channels).toEqual([{ id: expect.stringMatching(/^env-[0-9a-f]{8}$/), label: 'VIGILO_NOTIFY', redacted: `json://${rx.url}/•••`, source: 'env', addedAt: null }]);
    expect(JSON.stringify(state)).not.toContain(secretTopic);
    const test = (await sc.post('/notify/test', { waitS: 20 })).body;
    expect(test.deliveries.map((d: any) => d.status)).toEqual(['sent']);
    expect(rx.got[0].path).toBe(`/${secretTopic}`);
    const del = await fetch(`${sc.url}/notify/channels/${state.channels[0].id}`, { method: 'DELETE', headers: { authorization: 'Bearer test-token-0123456789' } });
    expect(del.status).toBe(404);
    expect(((await del.json()) as any).error.message).toMatch(/comes from VIGILO_NOTIFY: unset it/);
    await sc.post('/settings/notify', { capPerHour: 3 });
    const files = readdirSync(sc.dataDir).map(f => join(sc.dataDir, f)).filter(f => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter(f => readFileSync(f).includes(secretTopic))).toEqual([]);
  }, 30_000);

  it('a worker killed with SIGKILL is started again and the message still arrives', async () => {
    const rx = await receiver();
    const sc = await boot(ctx => [alertsModule(ctx), notifyModule(ctx)]);
    await sc.post('/notify/channels', { url: `json://${rx.url}/k` });
    const first = await until(async () => {
      const w = (await sc.get('/notify')).body.worker;
      return w.state === 'running' && w.pid;
    }, 'the worker running');
    process.kill(first, 'SIGKILL');
    await until(async () => (await sc.get('/notify')).body.worker.state === 'restarting', 'the restart noticed');
    const test = (await sc.post('/notify/test', { waitS: 20 })).body;
    expect(test.deliveries.map((d: any) => d.status)).toEqual(['sent']);
    expect(rx.got).toHaveLength(1);
    const after = (await sc.get('/notify')).body.worker;
    expect(after).toMatchObject({ state: 'running' });
    expect(after.pid).not.toBe(first);
  }, 30_000);

  it('refuses what is not an Apprise URL with a 400 that does not echo it, and removes channels', async () => {
    const sc = await boot(ctx => [alertsModule(ctx), notifyModule(ctx)]);
    const bad = await sc.post('/notify/channels', { url: 'hunter2-secret-no-scheme' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).not.toContain('hunter2');
    expect((await sc.post('/notify/test', {})).status).toBe(409);
    const added = (await sc.post('/notify/channels', { url: 'ntfy://ntfy.sh/vigilo-private-topic', label: 'phone' })).body;
    expect(added.channels).toEqual([expect.objectContaining({ label: 'phone', redacted: 'ntfy://ntfy.sh/•••', source: 'settings' })]);
    const id = added.channels[0].id;
    const r = await fetch(`${sc.url}/notify/channels/${id}`, { method: 'DELETE', headers: { authorization: 'Bearer test-token-0123456789' } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).channels).toEqual([]);
  });
});
