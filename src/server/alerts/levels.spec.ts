/**
 * One threshold rule (issue 15): the panel's and the `%vigilo` report's
 * colours are the sidecar's alert severities. A real sidecar on a fake Kaggle
 * machine (interactive, 20 min idle cut-off, /kaggle/working) with a
 * ManualClock; its collectors run by hand, so each countdown stands exactly on
 * a threshold when the snapshot is read. At every threshold, the default ones
 * and ones the user set with POST /settings/alerts, the countdown's level
 * (src/shared/dashboard.ts) equals the severity of the alert the sidecar holds
 * for that rule ('ok' when none, or an `info` note).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeMachine } from '../../../test/helpers/fakeRuntime';
import { startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { buildReport } from '../../core/report';
import { orderLevels } from '../../core/thresholds';
import { IDLE_WARN_LEVELS, SESSION_WARN_LEVELS, THRESHOLD_RULES, VRAM_WARN_LEVELS, levelColour, levelValue, sessionLevelsFromMarks, type ThresholdRuleId } from '../../shared/alertLevels';
import type { MetricsSnapshot } from '../../shared/api';
import { countdowns, verdict, type ICountdown } from '../../shared/dashboard';
import { ManualClock } from '../core/clock';
import type { SidecarModule } from '../core/module';
import { runtimeModules } from '../session/runtime';
import { alertsModule } from './module';

const H = 3600;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Kaggle {
  sc: TestSidecar;
  root: string;
  startMs: number;
  /** Run the session, quota and storage collectors once and read the snapshot. */
  sample(): Promise<MetricsSnapshot>;
}

async function kaggle(clock: ManualClock): Promise<Kaggle> {
  const machine = fakeMachine({ platform: 'kaggle', nowMs: clock.now(), scenario: null });
  cleanups.push(() => machine.cleanup());
  let modules: SidecarModule[] = [];
  const startMs = clock.now();
  const sc = await startSidecar({
    env: machine.env,
    fsRoot: machine.root,
    clock,
    // Timers far apart: only sample() below moves the figures; the output folder is measured on every sample.
    modules: ctx => (modules = [alertsModule(ctx), ...runtimeModules(ctx, { tickMs: 3 * H * 1000, platformRefreshMs: 3 * H * 1000, gpuIntervalMs: 3 * H * 1000, outputEveryMs: 0 })])
  });
  cleanups.push(() => sc.stop());
  const collector = (name: string) => modules.find(m => m.name === name)!.collectors![0] as unknown as { runOnce(): Promise<void> };
  return {
    sc,
    root: machine.root,
    startMs,
    async sample() {
      for (const name of ['session', 'quota', 'storage']) await collector(name).runOnce();
      return (await sc.get('/metrics')).body as MetricsSnapshot;
    }
  };
}

/** The colour of the alert the sidecar holds now for one rule: its severity, an `info` note calm, none 'ok'. */
function alertColour(snapshot: MetricsSnapshot, ruleId: string): 'ok' | 'warning' | 'critical' {
  const held = snapshot.alerts!.active.find(a => a.ruleId === ruleId);
  return held && held.severity !== 'info' ? held.severity : 'ok';
}

function countdown(snapshot: MetricsSnapshot, id: ICountdown['id']): ICountdown {
  return countdowns(snapshot, 'kaggle').find(c => c.id === id)!;
}

describe('one threshold rule: the sidecar\u2019s alert levels colour the panel and the report', () => {
  it('registers each rule with the shared defaults and publishes the levels in force in the snapshot', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    const snapshot = await k.sample();
    const views = (await k.sc.get('/settings/alerts')).body.rules as Array<{ id: string; thresholds: unknown }>;
    for (const [id, rule] of Object.entries(THRESHOLD_RULES)) {
      if (id === 'system.memory') continue; // colour only: no alert rule watches RAM
      const expected = orderLevels(rule.levels, rule.direction);
      expect(views.find(v => v.id === id)?.thresholds, id).toEqual(expected);
      expect(snapshot.alerts!.levels![id], id).toEqual(expected);
    }
    // A rule the user turns off is published with no levels: the panel stays calm, as the alerts do.
    await k.sc.post('/settings/alerts', { rules: { 'storage.disk': { enabled: false } } });
    expect((await k.sample()).alerts!.levels!['storage.disk']).toEqual([]);
  }, 30_000);

  it('idle cut-off: the bar turns warning at 10 min and critical at 5 min with the alert, and follows thresholds the user sets', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    const at = async (minutesLeft: number): Promise<MetricsSnapshot> => {
      clock.set(k.startMs + (20 - minutesLeft) * 60_000);
      const s = await k.sample();
      expect(s.idle!.remainingS).toBe(minutesLeft * 60);
      return s;
    };
    // The user's own levels first (POST /settings/alerts, as the Settings Editor sends them): marks and colours follow.
    const own = [{ value: 18, severity: 'warning' }, { value: 16, severity: 'critical' }];
    await k.sc.post('/settings/alerts', { rules: { 'idle.remaining': { thresholds: own } } });
    const seen: string[] = [];
    for (const m of [19, 18, 17, 16, 15]) {
      const s = await at(m);
      expect(s.alerts!.levels!['idle.remaining']).toEqual(own);
      expect(countdown(s, 'idle').marksS).toEqual([18 * 60, 16 * 60]);
      expect(countdown(s, 'idle').level, `${m} min left`).toBe(alertColour(s, 'idle.remaining'));
      seen.push(`${m}:${countdown(s, 'idle').level}`);
    }
    expect(seen).toEqual(['19:ok', '18:warning', '17:warning', '16:critical', '15:critical']);

    // Back to the defaults: 10 min warning, 5 min critical, on both sides.
    await k.sc.post('/settings/alerts', { rules: { 'idle.remaining': { thresholds: [...IDLE_WARN_LEVELS] } } });
    seen.length = 0;
    for (const m of [11, 10, 6, 5, 4]) {
      const s = await at(m);
      expect(countdown(s, 'idle').marksS).toEqual([10 * 60, 5 * 60]);
      expect(countdown(s, 'idle').level, `${m} min left`).toBe(alertColour(s, 'idle.remaining'));
      seen.push(`${m}:${countdown(s, 'idle').level}`);
    }
    expect(seen).toEqual(['11:ok', '10:warning', '6:warning', '5:critical', '4:critical']);
  }, 30_000);

  it('says the idle cut-off the session counts down from, the user\u2019s override included, in the panel\u2019s rows and the report', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    const run = async () => {
      const snapshot = await k.sample();
      const status = (await k.sc.get('/status')).body;
      return buildReport({ status, snapshot }).sections.find(s => s.title === 'Runtime')!.rows.find(r => r.label === 'Run')?.value;
    };
    expect(await run()).toBe('interactive: the 20 min idle cut-off applies');
    expect((await k.sc.post('/profile', { overrides: { idleCutoff: '45m' } })).status).toBe(200);
    expect(await run()).toBe('interactive: the 45 min idle cut-off applies');
    const snapshot = (await k.sc.get('/metrics')).body as MetricsSnapshot;
    expect(snapshot.idle!.cutoffS).toBe(45 * 60);
  }, 30_000);

  it('Kaggle quota: warning at 2 h and critical at 30 min left, as the alert', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    const seen: string[] = [];
    for (const minutes of [150, 121, 120, 31, 30, 10]) {
      expect((await k.sc.post('/quota', { remaining: minutes / 60 })).status).toBe(200);
      const s = await k.sample();
      expect(Math.round(s.quota!.remainingS! / 60)).toBe(minutes);
      const c = countdown(s, 'quota');
      expect(c.marksS).toEqual([120 * 60, 30 * 60]);
      expect(c.level, `${minutes} min left`).toBe(alertColour(s, 'quota.remaining'));
      seen.push(`${minutes}:${c.level}`);
    }
    expect(seen).toEqual(['150:ok', '121:ok', '120:warning', '31:warning', '30:critical', '10:critical']);
  }, 30_000);

  it('output folder: warning at 80 % and critical at 95 % of the limit in the verdict, the bar and the report, as the alert', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    // A 1000-byte limit (the user's override) stands in for Kaggle's 20 GB: the same percentages with small files.
    expect((await k.sc.post('/profile', { overrides: { outputLimit: 1000 } })).status).toBe(200);
    const file = join(k.root, 'kaggle', 'working', 'model.bin');
    cleanups.push(() => rmSync(file, { force: true }));
    const status = (await k.sc.get('/status')).body;
    const seen: string[] = [];
    for (const bytes of [790, 800, 940, 950, 990]) {
      writeFileSync(file, Buffer.alloc(bytes));
      clock.advance(1000);
      const s = await k.sample();
      expect(s.storage!.output!.usedPercent).toBe(bytes / 10);
      const alert = alertColour(s, 'storage.output');
      const threat = verdict(s, 'kaggle').threats.find(t => t.kind === 'output');
      expect(threat?.level ?? 'ok', `${bytes / 10} %`).toBe(alert);
      expect(levelColour(s.storage!.output!.usedPercent, s.alerts, 'storage.output')).toBe(alert);
      const row = buildReport({ status, snapshot: s }).sections.flatMap(x => x.rows).find(r => r.label === 'Output folder');
      expect(row?.level).toBe({ ok: 'ok', warning: 'warn', critical: 'bad' }[alert]);
      seen.push(`${bytes / 10}:${alert}`);
    }
    expect(seen).toEqual(['79:ok', '80:warning', '94:warning', '95:critical', '99:critical']);
  }, 30_000);

  it('runtime end: 60 and 30 min are notes (a mark, calm colour), 10 min warning, 5 min critical, as the alert', async () => {
    const clock = new ManualClock(Date.parse('2026-01-06T10:00:00Z'));
    const k = await kaggle(clock);
    const first = await k.sample();
    const endMs = Date.parse(first.session!.endsAt!);
    const seen: string[] = [];
    for (const m of [61, 60, 30, 11, 10, 6, 5, 1]) {
      clock.set(endMs - m * 60_000);
      const s = await k.sample();
      const c = countdown(s, 'session');
      expect(Math.round(c.remainingS! / 60)).toBe(m);
      expect(c.marksS).toEqual([60, 30, 10, 5].map(x => x * 60));
      expect(c.level, `${m} min left`).toBe(alertColour(s, 'session.remaining'));
      seen.push(`${m}:${c.level}`);
    }
    expect(seen).toEqual(['61:ok', '60:ok', '30:ok', '11:ok', '10:warning', '6:warning', '5:critical', '1:critical']);
  }, 30_000);
});

describe('VRAM: the GPU row and the verdict take the gpu.vram alert\u2019s severity (defaults and the user\u2019s)', () => {
  const snapshotAt = (usedPercent: number, levels?: Record<string, Array<{ value: number; severity: 'info' | 'warning' | 'critical' }>>): MetricsSnapshot => ({
    takenAt: '2026-01-06T10:00:00.000Z',
    sidecar: { pid: 1, uptimeS: 10, rssBytes: 1, version: '0.0.0' },
    gpu: {
      status: 'ok',
      reason: null,
      sampledAt: '2026-01-06T10:00:00.000Z',
      devices: [{ index: 0, uuid: 'GPU-1', name: 'Tesla T4', memoryTotalMiB: 10_000, memoryUsedMiB: usedPercent * 100, utilizationPercent: 90, temperatureC: 60, powerW: null }]
    },
    alerts: { active: [], levels }
  }) as MetricsSnapshot;
  const status = { name: 'vigilo', apiVersion: 1, version: '0.0.0', pid: 1, startedAt: '2026-01-06T09:00:00.000Z', uptimeS: 5, platform: { name: 'local', evidence: [] } } as never;

  it.each([
    ['the defaults (90 / 95 %)', undefined, [89, 90, 94, 95, 99]],
    ['the user\u2019s (80 / 85 %)', [{ value: 80, severity: 'warning' as const }, { value: 85, severity: 'critical' as const }], [79, 80, 84, 85, 99]]
  ])('%s', async (_name, own, values) => {
    const { AlertEngine } = await import('./engine');
    const engine = new AlertEngine({ clock: new ManualClock(0), dataDir: null });
    engine.addRule({ id: 'gpu.vram', direction: 'above', severity: 'warning', thresholds: [...THRESHOLD_RULES['gpu.vram'].levels], message: () => 'VRAM' });
    if (own) engine.updateSettings({ rules: { 'gpu.vram': { thresholds: own } } });
    for (const used of values) {
      engine.clear('gpu.vram', 'GPU-1');
      const alert = engine.observe('gpu.vram', 'GPU-1', used);
      const expected = alert && alert.severity !== 'info' ? alert.severity : 'ok';
      const snapshot = snapshotAt(used, own ? engine.levels() : undefined);
      expect(verdict(snapshot, 'local').threats.find(t => t.kind === 'vram')?.level ?? 'ok', `${used} %`).toBe(expected);
      const row = buildReport({ status, snapshot }).sections.find(x => x.title === 'GPU')!.rows[0];
      expect(row.level, `${used} %`).toBe({ ok: 'ok', warning: 'warn', critical: 'bad' }[expected]);
    }
  });
});

describe('the Settings Editor says the same defaults', () => {
  it('names the VRAM and runtime-end defaults of alertLevels.ts, and its marks map back to the default levels', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'schema', 'plugin.json'), 'utf8'));
    const sidecar = schema.properties.sidecar.properties;
    expect(sidecar.vramWarnPercent.description).toContain(`default (${levelValue(VRAM_WARN_LEVELS, 'warning')})`);
    expect(sidecar.vramCriticalPercent.description).toContain(`default (${levelValue(VRAM_WARN_LEVELS, 'critical')})`);
    const marks = SESSION_WARN_LEVELS.map(l => l.value);
    expect(sidecar.sessionWarnMin.description).toContain(`[${marks.join(', ')}] (the default)`);
    expect(orderLevels(sessionLevelsFromMarks(marks), 'below')).toEqual(orderLevels(SESSION_WARN_LEVELS, 'below'));
  });
});

describe('the colour is the severity the engine holds, for every rule the panel draws', () => {
  it('agrees with src/core/thresholds.ts at, just before and just past each default level', async () => {
    const { step } = await import('../../core/thresholds');
    for (const [id, rule] of Object.entries(THRESHOLD_RULES) as Array<[ThresholdRuleId, (typeof THRESHOLD_RULES)[ThresholdRuleId]]>) {
      const ordered = orderLevels(rule.levels, rule.direction);
      for (const l of rule.levels) {
        for (const value of [l.value - 0.01, l.value, l.value + 0.01]) {
          const held = step(-1, value, ordered, rule.direction, 0).level;
          const severity = held < 0 ? null : ordered[held].severity;
          const expected = severity === 'warning' || severity === 'critical' ? severity : 'ok';
          expect(levelColour(value, null, id), `${id} at ${value}`).toBe(expected);
        }
      }
    }
  });
});
