import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../core/bus';
import { ManualClock } from '../core/clock';
import { collectEvents, startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { AlertEngine, type ThresholdRule } from './engine';

const vram: ThresholdRule = {
  id: 'test.vram',
  description: 'VRAM used',
  unit: '%',
  direction: 'above',
  severity: 'warning',
  thresholds: [80, { value: 95, severity: 'critical' }],
  hysteresis: 5,
  message: (value, key, level) => `${key} at ${value} % (mark ${level.value} %)`
};

const minutesLeft: ThresholdRule = {
  id: 'test.minutes',
  direction: 'below',
  severity: 'info',
  thresholds: [60, 30, { value: 10, severity: 'warning' }, { value: 5, severity: 'critical' }],
  hysteresis: 1,
  message: value => `${value} min left`
};

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-alerts-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('alert engine', () => {
  it('raises one alert per crossing, not one per sample above the threshold', () => {
    const engine = new AlertEngine({ clock: new ManualClock() });
    engine.addRule(vram);
    const raised = [70, 81, 82, 85, 84, 83].map(v => engine.observe('test.vram', 'gpu0', v)).filter(Boolean);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ severity: 'warning', threshold: 80, value: 81, kind: 'threshold', key: 'gpu0' });
  });

  it('does not re-alert while the value jitters inside the hysteresis band, and re-arms once it really went back', () => {
    const engine = new AlertEngine({ clock: new ManualClock() });
    engine.addRule(vram);
    const values = [81, 78, 81, 76, 80.5, 74, 80];
    const raised = values.map(v => engine.observe('test.vram', 'gpu0', v)).filter(Boolean);
    // 81 → alert; 78/81/76/80.5 stay inside 80−5; 74 clears; 80 alerts again.
    expect(raised.map(a => a!.value)).toEqual([81, 80]);
  });

  it('escalates to a more severe level once, and a jump over several marks raises only the highest', () => {
    const engine = new AlertEngine({ clock: new ManualClock() });
    engine.addRule(minutesLeft);
    const raised = [90, 59, 45, 31, 29, 3, 2].map(v => engine.observe('test.minutes', '', v)).filter(Boolean);
    expect(raised.map(a => [a!.threshold, a!.severity])).toEqual([
      [60, 'info'],
      [30, 'info'],
      [5, 'critical']
    ]);
  });

  it('keeps keys apart: two GPUs each get their own alert', () => {
    const engine = new AlertEngine({ clock: new ManualClock() });
    engine.addRule(vram);
    expect(engine.observe('test.vram', 'gpu0', 90)).not.toBeNull();
    expect(engine.observe('test.vram', 'gpu1', 90)).not.toBeNull();
    expect(engine.observe('test.vram', 'gpu0', 91)).toBeNull();
  });

  it('de-duplicates a repeated one-shot event inside its window and lets it through after', () => {
    const clock = new ManualClock();
    const engine = new AlertEngine({ clock });
    const fire = () => engine.fire({ ruleId: 'gpu.changed', key: 'x', severity: 'warning', message: 'GPU changed', dedupeMs: 60_000 });
    expect(fire()).not.toBeNull();
    clock.advance(10_000);
    expect(fire()).toBeNull();
    clock.advance(60_000);
    expect(fire()).not.toBeNull();
  });

  it('lists history newest first, bounded, filtered by time and rule, and publishes each alert on the bus', () => {
    const clock = new ManualClock();
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe(m => m.event === 'alert' && seen.push((m.data as { message: string }).message));
    const engine = new AlertEngine({ clock, bus, capacity: 10 });
    for (let i = 0; i < 15; i++) {
      clock.advance(1000);
      engine.fire({ ruleId: i % 2 ? 'odd' : 'even', severity: 'info', message: `m${i}` });
    }
    expect(seen).toHaveLength(15);
    const all = engine.list();
    expect(all).toHaveLength(10);
    expect(all[0].message).toBe('m14');
    expect(engine.list({ limit: 2 }).map(a => a.message)).toEqual(['m14', 'm13']);
    expect(engine.list({ ruleId: 'odd', limit: 2 }).map(a => a.message)).toEqual(['m13', 'm11']);
    expect(engine.list({ since: new Date(clock.now() - 1500).toISOString() }).map(a => a.message)).toEqual(['m14', 'm13']);
  });

  it('keeps history across restarts in a 0600 file and applies thresholds from alerts.json', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'alerts.json'), JSON.stringify({ rules: { 'test.vram': { thresholds: [50], hysteresis: 0 } } }));
    const clock = new ManualClock();
    const first = new AlertEngine({ clock, dataDir: dir });
    first.addRule(vram);
    expect(first.observe('test.vram', 'gpu0', 60)).toMatchObject({ threshold: 50, severity: 'warning' });
    expect(statSync(join(dir, 'alerts.jsonl')).mode & 0o777).toBe(0o600);

    const second = new AlertEngine({ clock, dataDir: dir });
    expect(second.list()).toHaveLength(1);
    expect(second.list()[0].message).toBe('gpu0 at 60 % (mark 50 %)');
    // New ids never collide with the old ones.
    clock.advance(1);
    expect(second.fire({ ruleId: 'x', severity: 'info', message: 'y' })!.id).not.toBe(second.list()[1]?.id);
  });

  it('skips a torn last line of the history file instead of failing', () => {
    const dir = tempDir();
    const engine = new AlertEngine({ clock: new ManualClock(), dataDir: dir });
    engine.fire({ ruleId: 'a', severity: 'info', message: 'kept' });
    writeFileSync(join(dir, 'alerts.jsonl'), readFileSync(join(dir, 'alerts.jsonl'), 'utf8') + '{"id":"torn');
    expect(new AlertEngine({ clock: new ManualClock(), dataDir: dir }).list().map(a => a.message)).toEqual(['kept']);
  });
});

describe('alert routes', () => {
  let sc: TestSidecar | null = null;
  afterEach(async () => {
    await sc?.stop();
    sc = null;
  });

  it('serves GET /alerts newest first and pushes each alert on /events', async () => {
    sc = await startSidecar();
    const ctx = sc.sidecar.ctx;
    let fired = false;
    // Fire once the stream is connected (its `hello` arrived), so nothing is missed.
    const got = await collectEvents(sc.url, evs => {
      if (!fired && evs.some(e => e.event === 'hello')) {
        fired = true;
        ctx.alerts.fire({ ruleId: 'test.one', severity: 'warning', message: 'first' });
        ctx.alerts.fire({ ruleId: 'test.two', severity: 'critical', message: 'second' });
      }
      return evs.some(e => e.event === 'alert');
    });
    expect(got.find(e => e.event === 'alert')!.data.message).toBe('first');
    const { status, body } = await sc.get('/alerts?limit=5');
    expect(status).toBe(200);
    expect(body.alerts.map((a: { message: string }) => a.message)).toEqual(['second', 'first']);
  });

  it('lets the user change a rule’s thresholds with POST /settings/alerts, persisted in alerts.json', async () => {
    sc = await startSidecar();
    sc.sidecar.ctx.alerts.addRule(vram);
    const res = await sc.post('/settings/alerts', { rules: { 'test.vram': { thresholds: [70, 90], enabled: true } } });
    expect(res.status).toBe(200);
    expect(res.body.rules.find((r: { id: string }) => r.id === 'test.vram').thresholds.map((t: { value: number }) => t.value)).toEqual([70, 90]);
    expect(JSON.parse(readFileSync(join(sc.dataDir, 'alerts.json'), 'utf8')).rules['test.vram'].thresholds).toEqual([70, 90]);
    expect(sc.sidecar.ctx.alerts.observe('test.vram', 'g', 72)?.threshold).toBe(70);
    const bad = await sc.post('/settings/alerts', { rules: { 'test.vram': { thresholds: 'lots' } } });
    expect(bad.status).toBe(400);
  });
});

describe('current alerts (one line per rule and key)', () => {
  let sc: TestSidecar | null = null;
  afterEach(async () => {
    await sc?.stop();
    sc = null;
  });

  it('updates one entry in place while a key stays crossed, keeps its first time, and drops it when it clears', () => {
    const clock = new ManualClock(Date.parse('2026-11-30T10:00:00Z'));
    const engine = new AlertEngine({ clock });
    engine.addRule(vram);
    engine.observe('test.vram', 'gpu0', 85);
    clock.advance(5000);
    engine.observe('test.vram', 'gpu0', 88);
    clock.advance(5000);
    engine.observe('test.vram', 'gpu0', 96);
    engine.observe('test.vram', 'gpu1', 81);
    const active = engine.active();
    expect(active.map(a => [a.key, a.severity, a.value])).toEqual([
      ['gpu0', 'critical', 96],
      ['gpu1', 'warning', 81]
    ]);
    expect(active[0].raisedAt).toBe('2026-11-30T10:00:00.000Z');
    expect(active[0].updatedAt).toBe('2026-11-30T10:00:10.000Z');
    expect(active[0].message).toBe('gpu0 at 96 % (mark 95 %)');
    // Back under the critical mark (beyond hysteresis): same line, warning again.
    engine.observe('test.vram', 'gpu0', 84);
    expect(engine.active().find(a => a.key === 'gpu0')).toMatchObject({ severity: 'warning', value: 84, raisedAt: '2026-11-30T10:00:00.000Z' });
    engine.observe('test.vram', 'gpu0', 50);
    expect(engine.active().map(a => a.key)).toEqual(['gpu1']);
    // The history still has every crossing.
    expect(engine.list().length).toBe(3);
  });

  it('shows the list in the snapshot, and POST /alerts/dismiss removes one line until it escalates', async () => {
    sc = await startSidecar();
    const alerts = sc.sidecar.ctx.alerts;
    alerts.addRule(vram);
    alerts.observe('test.vram', 'gpu0', 85);
    const metrics = (await sc.get('/metrics')).body;
    expect(metrics.alerts.active.map((a: { key: string }) => a.key)).toEqual(['gpu0']);
    const res = await sc.post('/alerts/dismiss', { ruleId: 'test.vram', key: 'gpu0' });
    expect(res.status).toBe(200);
    expect(res.body.alerts).toEqual([]);
    alerts.observe('test.vram', 'gpu0', 86);
    expect((await sc.get('/alerts/active')).body.alerts).toEqual([]);
    alerts.observe('test.vram', 'gpu0', 97);
    expect((await sc.get('/alerts/active')).body.alerts.map((a: { severity: string }) => a.severity)).toEqual(['critical']);
    expect((await sc.post('/alerts/dismiss', { ruleId: 'test.vram', key: 'nope' })).status).toBe(404);
    expect((await sc.post('/alerts/dismiss', { ruleId: 'test.vram' })).status).toBe(400);
  });
});

describe('predictions that stop holding', () => {
  it('an unknown value withdraws a current alert when the rule says so (unknownClears)', () => {
    const engine = new AlertEngine({ clock: new ManualClock(0) });
    engine.addRule({ ...minutesLeft, id: 'test.eta', unknownClears: true });
    engine.addRule(minutesLeft);
    engine.observe('test.eta', 'gpu0', 4);
    engine.observe('test.minutes', 'gpu0', 4);
    expect(engine.active()).toHaveLength(2);
    engine.observe('test.eta', 'gpu0', null);
    engine.observe('test.minutes', 'gpu0', null);
    expect(engine.active().map(a => a.ruleId)).toEqual(['test.minutes']);
    // It raises again when the prediction comes back.
    expect(engine.observe('test.eta', 'gpu0', 4)).not.toBeNull();
  });
});

describe('current alerts from one-shot events', () => {
  it('keep warnings and critical events for a while, and leave info news to the history', () => {
    const clock = new ManualClock(0);
    const engine = new AlertEngine({ clock, eventActiveMs: 60_000 });
    engine.fire({ ruleId: 'session.previous', severity: 'info', message: 'The previous session ended cleanly.' });
    engine.fire({ ruleId: 'kernel.restarted', key: 'k1', severity: 'warning', message: 'Kernel restarted: in-memory state lost.' });
    expect(engine.active().map(a => a.ruleId)).toEqual(['kernel.restarted']);
    clock.advance(61_000);
    expect(engine.active()).toEqual([]);
    expect(engine.list()).toHaveLength(2);
  });

  it('tell the listeners when an event leaves on time, so the snapshot drops it without anyone reading active()', () => {
    const clock = new ManualClock(0);
    const engine = new AlertEngine({ clock, eventActiveMs: 60_000 });
    engine.fire({ ruleId: 'kernel.restarted', key: 'k1', severity: 'warning', message: 'Kernel restarted: in-memory state lost.' });
    let published: string[] | null = null;
    engine.onActiveChange(() => (published = engine.active().map(a => a.ruleId)));
    clock.advance(30_000);
    engine.expireEvents();
    expect(published).toBeNull();
    clock.advance(31_000);
    engine.expireEvents();
    expect(published).toEqual([]);
  });
});
