import type { Cadence } from './cadence';
import type { Clock } from './clock';
import type { EventBus } from './bus';
import type { SnapshotStore } from './snapshot';

/** What a collector gets to work with. */
export interface CollectorContext {
  snapshot: SnapshotStore;
  bus: EventBus;
  clock: Clock;
  /** Watched or not: the period of adaptive collectors (absent: always intervalMs). */
  cadence?: Cadence;
}

/**
 * The one seam every source of figures plugs into (system, GPU, platform,
 * storage, LLM). A collector owns its schedule: a timer, a streaming child
 * process, a file watcher. It writes into the snapshot; it never answers a
 * request itself.
 */
export interface Collector {
  readonly name: string;
  start(ctx: CollectorContext): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface IntervalCollectorOptions {
  name: string;
  intervalMs: number;
  /** Sample once. Thrown errors are reported in the section, never crash the sidecar. */
  sample(ctx: CollectorContext): Promise<void>;
  /** Called when sample() throws, to write the section's reason. */
  onError?(error: unknown, ctx: CollectorContext): void;
  /**
   * Follow ctx.cadence: every intervalMs while someone watches, every
   * max(intervalMs, cadence.slowMs) otherwise, and at once when watching starts.
   */
  adaptive?: boolean;
  /**
   * Milliseconds from now until something this collector reports is due (a
   * countdown reaching an alert level), or null: the next sample comes no later.
   */
  dueInMs?(): number | null;
  /** Timer factory, injectable for tests. */
  setTimer?: (fn: () => void, ms: number) => { unref?(): void; close?(): void } | NodeJS.Timeout;
  clearTimer?: (t: any) => void;
}

/** A due time closer than this is rounded up, so that a value that rounds the wrong way cannot spin the timer. */
export const MIN_DUE_MS = 1000;

/**
 * A collector that samples on a period (fixed, or the cadence's when adaptive).
 * Runs never overlap: the next one is scheduled after the previous finishes, so
 * a slow sample cannot pile up.
 */
export function intervalCollector(options: IntervalCollectorOptions): Collector & { runOnce(): Promise<void>; nextDelayMs(): number } {
  const setTimer = options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((t: any) => clearTimeout(t));
  let timer: any = null;
  let stopped = true;
  let running = false;
  let ctx: CollectorContext | null = null;
  let unwatch: (() => void) | null = null;

  /** The wait before the next sample: the period, or sooner when something is due. */
  const nextDelayMs = (): number => {
    const period = options.adaptive && ctx?.cadence ? ctx.cadence.periodMs(options.intervalMs) : options.intervalMs;
    const due = options.dueInMs?.() ?? null;
    return due === null ? period : Math.min(period, Math.max(MIN_DUE_MS, Math.ceil(due)));
  };

  const runOnce = async (): Promise<void> => {
    if (!ctx) {
      return;
    }
    try {
      await options.sample(ctx);
    } catch (error) {
      options.onError?.(error, ctx);
    }
  };

  const loop = async (): Promise<void> => {
    timer = null;
    running = true;
    try {
      await runOnce();
    } finally {
      running = false;
    }
    if (!stopped) {
      timer = setTimer(() => void loop(), nextDelayMs());
      timer?.unref?.();
    }
  };

  return {
    name: options.name,
    runOnce,
    nextDelayMs,
    start(context: CollectorContext) {
      ctx = context;
      stopped = false;
      if (options.adaptive && context.cadence) {
        // Someone started watching: sample now instead of at the end of a slow period.
        unwatch = context.cadence.onWatchStart(() => {
          if (stopped || running || !timer) return;
          clearTimer(timer);
          timer = null;
          void loop();
        });
      }
      void loop();
    },
    stop() {
      stopped = true;
      unwatch?.();
      unwatch = null;
      if (timer) {
        clearTimer(timer);
        timer = null;
      }
    }
  };
}
