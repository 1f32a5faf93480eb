import { afterEach, describe, expect, it } from 'vitest';
import { fakeMachine } from '../../../test/helpers/fakeRuntime';
import { startSidecar, type TestSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { runtimeModules } from '../session/runtime';
import { EventBus } from './bus';
import { Cadence, msUntilNextLevel } from './cadence';
import { ManualClock } from './clock';
import { intervalCollector } from './collector';
import { SnapshotStore } from './snapshot';

/** Timers that never fire by themselves: the test reads the delays asked for and fires them by hand. */
function manualTimers() {
  const pending: Array<{ fn: () => void; ms: number; cleared: boolean; unref(): void }> = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms, cleared: false, unref: () => undefined };
      pending.push(t);
      return t;
    },
    clearTimer: (t: { cleared: boolean }) => {
      t.cleared = true;
    },
    /** The delay of the one live timer. */
    live(): number {
      const live = pending.filter(t => !t.cleared);
      expect(live).toHaveLength(1);
      return live[0].ms;
    },
    async fire(): Promise<void> {
      const t = pending.filter(x => !x.cleared).pop()!;
      t.cleared = true;
      t.fn();
      await new Promise(r => setImmediate(r));
    }
  };
}

const flush = () => new Promise(r => setImmediate(r));

describe('sampling cadence: fast while someone watches, slow otherwise', () => {
  it('a view keeps it fast for the watch window, a subscriber or a hold for as long as they last', () => {
    const clock = new ManualClock();
    const cadence = new Cadence({ clock, slowMs: 10_000, watchWindowMs: 60_000 });
    expect(cadence.watched()).toBe(false);
    expect(cadence.periodMs(2000)).toBe(10_000);
    // A collector slower than the slow period keeps its own.
    expect(cadence.periodMs(30_000)).toBe(30_000);

    cadence.noteView();
    expect(cadence.periodMs(2000)).toBe(2000);
    clock.advance(59_999);
    expect(cadence.watched()).toBe(true);
    clock.advance(1);
    expect(cadence.watched()).toBe(false);

    const unsubscribe = cadence.subscribe();
    clock.advance(3_600_000);
    expect(cadence.watched()).toBe(true);
    expect(cadence.hasSubscribers()).toBe(true);
    unsubscribe();
    unsubscribe(); // twice is once
    expect(cadence.watched()).toBe(false);

    const release = cadence.hold();
    expect(cadence.watched()).toBe(true);
    expect(cadence.hasSubscribers()).toBe(false);
    release();
    expect(cadence.watched()).toBe(false);
  });

  it('says when watching starts, once per quiet spell', () => {
    const clock = new ManualClock();
    const cadence = new Cadence({ clock, watchWindowMs: 60_000 });
    let starts = 0;
    cadence.onWatchStart(() => starts++);
    cadence.noteView();
    cadence.noteView();
    const unsubscribe = cadence.subscribe();
    expect(starts).toBe(1);
    unsubscribe();
    clock.advance(60_000);
    cadence.noteView();
    expect(starts).toBe(2);
  });

  it('an adaptive collector samples every slow period unwatched, at once when someone looks, then every interval', async () => {
    const clock = new ManualClock();
    const cadence = new Cadence({ clock, slowMs: 10_000, watchWindowMs: 60_000 });
    const timers = manualTimers();
    let samples = 0;
    const collector = intervalCollector({ name: 't', intervalMs: 2000, adaptive: true, setTimer: timers.setTimer, clearTimer: timers.clearTimer, sample: async () => void samples++ });
    collector.start({ snapshot: new SnapshotStore(clock, () => ({ pid: 1, uptimeS: 0, rssBytes: 0, version: 't' })), bus: new EventBus(), clock, cadence });
    await flush();
    expect(samples).toBe(1);
    expect(timers.live()).toBe(10_000);
    await timers.fire();
    expect(samples).toBe(2);
    expect(timers.live()).toBe(10_000);

    // The panel opens 3 s into a slow period: a sample now, not 7 s later, then the fast period.
    cadence.noteView();
    await flush();
    expect(samples).toBe(3);
    expect(timers.live()).toBe(2000);

    // A minute after the last look: slow again.
    clock.advance(60_000);
    await timers.fire();
    expect(timers.live()).toBe(10_000);
    collector.stop();
    expect(timers.pending.every(t => t.cleared)).toBe(true);
  });

  it('a collector with something due wakes for it, never sooner than 1 s, whatever the cadence', async () => {
    const clock = new ManualClock();
    const cadence = new Cadence({ clock, slowMs: 10_000 });
    const timers = manualTimers();
    let due: number | null = 4321;
    const collector = intervalCollector({ name: 't', intervalMs: 2000, adaptive: true, dueInMs: () => due, setTimer: timers.setTimer, clearTimer: timers.clearTimer, sample: async () => undefined });
    collector.start({ snapshot: new SnapshotStore(clock, () => ({ pid: 1, uptimeS: 0, rssBytes: 0, version: 't' })), bus: new EventBus(), clock, cadence });
    await flush();
    expect(timers.live()).toBe(4321);
    due = 3;
    expect(collector.nextDelayMs()).toBe(1000);
    due = 60_000;
    expect(collector.nextDelayMs()).toBe(10_000);
    due = null;
    expect(collector.nextDelayMs()).toBe(10_000);
    collector.stop();
  });

  it('a countdown reaches its next alert level in (remaining - level) seconds, or its end', () => {
    expect(msUntilNextLevel(3604, [60, 30, 10, 5])).toBe(4000);
    expect(msUntilNextLevel(3600, [60, 30, 10, 5])).toBe(1_800_000);
    expect(msUntilNextLevel(200, [60, 30, 10, 5])).toBe(200_000);
    expect(msUntilNextLevel(0, [60])).toBeNull();
    expect(msUntilNextLevel(null, [60])).toBeNull();
  });
});

describe('countdown alerts while no one watches', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('the session collector wakes at the 60-min mark, not at the end of a slow period, and the alert fires then', async () => {
    const nowMs = Date.parse('2026-03-01T10:00:00Z');
    const clock = new ManualClock(nowMs);
    // Colab, 12 h lifetime: 11 h - 4 s gone, so 60 min + 4 s are left.
    const m = fakeMachine({ platform: 'colab', nowMs, runtimeAgeS: 11 * 3600 - 4, scenario: null });
    cleanups.push(() => m.cleanup());
    const sc: TestSidecar = await startSidecar({
      env: m.env,
      fsRoot: m.root,
      clock,
      modules: ctx => [alertsModule(ctx), ...runtimeModules(ctx, { tickMs: 2000, platformRefreshMs: 600_000 })]
    });
    cleanups.push(() => sc.stop());
    const session = sc.sidecar.modules.find(mod => mod.name === 'session')!.collectors![0] as ReturnType<typeof intervalCollector>;
    await session.runOnce();
    expect(sc.sidecar.ctx.cadence.watched()).toBe(false);
    // Unwatched the period is 10 s, but the 60-min mark is 4 s away.
    expect(session.nextDelayMs()).toBe(4000);
    clock.advance(4000);
    await session.runOnce();
    const alerts = sc.sidecar.ctx.alerts.active().filter(a => a.ruleId === 'session.remaining');
    expect(alerts.map(a => a.threshold)).toEqual([60]);
    // Next: the 30-min mark, 30 min away: the slow period comes first.
    expect(session.nextDelayMs()).toBe(10_000);
  });
});
