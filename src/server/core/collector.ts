import type { Clock } from './clock';
import type { EventBus } from './bus';
import type { SnapshotStore } from './snapshot';

/** What a collector gets to work with. */
export interface CollectorContext {
  snapshot: SnapshotStore;
  bus: EventBus;
  clock: Clock;
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
  /** Timer factory, injectable for tests. */
  setTimer?: (fn: () => void, ms: number) => { unref?(): void; close?(): void } | NodeJS.Timeout;
  clearTimer?: (t: any) => void;
}

/**
 * A collector that samples on a fixed period. Runs never overlap: the next
 * one is scheduled after the previous finishes, so a slow sample cannot pile up.
 */
export function intervalCollector(options: IntervalCollectorOptions): Collector & { runOnce(): Promise<void> } {
  const setTimer = options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((t: any) => clearTimeout(t));
  let timer: any = null;
  let stopped = true;
  let ctx: CollectorContext | null = null;

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
    await runOnce();
    if (!stopped) {
      timer = setTimer(() => void loop(), options.intervalMs);
      timer?.unref?.();
    }
  };

  return {
    name: options.name,
    runOnce,
    start(context: CollectorContext) {
      ctx = context;
      stopped = false;
      void loop();
    },
    stop() {
      stopped = true;
      if (timer) {
        clearTimer(timer);
        timer = null;
      }
    }
  };
}
