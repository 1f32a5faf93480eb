import type { Clock } from './clock';

/**
 * How often the timer collectors sample (issue 18, "idle CPU"): fast while someone
 * watches, slow while no one does. The rule, also written in docs/ARCHITECTURE.md
 * ("Sampling cadence"):
 *
 * - **Watched** = an `/events` subscriber is connected (the JupyterLab panel), or a
 *   view request (any GET but `/events`: the `%vigilo` live report, `/metrics`,
 *   `/status`, scripts polling the API) came within the last `watchWindowMs`
 *   (default 60 s), or a module holds the fast cadence (`hold()`: a kernel watches
 *   checkpoints, whose triggers read disk, OOM and session figures). POSTs are facts
 *   coming in (kernel heartbeats, LLM events), not someone looking: they do not count.
 * - While watched, an adaptive collector samples every `intervalMs` (the `--interval`,
 *   2 s); otherwise every `max(intervalMs, slowMs)` (default 10 s, `--idle-interval`).
 * - When watching starts, every adaptive collector samples at once (`onWatchStart`),
 *   so the first pushes after a quiet spell are fresh.
 * - Countdowns never depend on the cadence: a collector whose alert is a deadline
 *   (session lifetime, idle cut-off, Kaggle quota) also wakes at the next threshold
 *   crossing, computed from the deadline (`msUntilNextLevel`). Other threshold alerts
 *   (disk, output folder) fire at most `slowMs` after the crossing while no one watches.
 *   The GPU reader keeps its own 1 s stream: VRAM and the OOM prediction are not slowed.
 */
export interface CadenceOptions {
  clock: Clock;
  /** Period of the slow cadence (default 10 s). */
  slowMs?: number;
  /** How long a view request keeps the cadence fast (default 60 s). */
  watchWindowMs?: number;
}

export const DEFAULT_SLOW_MS = 10_000;
export const DEFAULT_WATCH_WINDOW_MS = 60_000;

export class Cadence {
  readonly slowMs: number;
  readonly watchWindowMs: number;
  private lastViewMs = -Infinity;
  private subscribers = 0;
  private readonly holds = new Set<symbol>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: CadenceOptions) {
    this.slowMs = options.slowMs ?? DEFAULT_SLOW_MS;
    this.watchWindowMs = options.watchWindowMs ?? DEFAULT_WATCH_WINDOW_MS;
  }

  /** Someone is looking now (or a module needs fresh figures). */
  watched(): boolean {
    return this.subscribers > 0 || this.holds.size > 0 || this.options.clock.now() - this.lastViewMs < this.watchWindowMs;
  }

  /** The period an adaptive collector with this fast period samples at now. */
  periodMs(intervalMs: number): number {
    return this.watched() ? intervalMs : Math.max(intervalMs, this.slowMs);
  }

  /** Whether an `/events` subscriber is connected: only then is the snapshot pushed. */
  hasSubscribers(): boolean {
    return this.subscribers > 0;
  }

  /** A view request (GET) arrived. */
  noteView(): void {
    const was = this.watched();
    this.lastViewMs = this.options.clock.now();
    if (!was) this.emitWatchStart();
  }

  /** An `/events` subscriber connected; call the returned function when it goes. */
  subscribe(): () => void {
    return this.claim(() => this.subscribers++, () => this.subscribers--);
  }

  /** Keep the cadence fast until the returned function is called (idempotent). */
  hold(): () => void {
    const token = Symbol('hold');
    return this.claim(() => this.holds.add(token), () => this.holds.delete(token));
  }

  /** Called when the cadence turns from slow to fast; returns the unsubscribe function. */
  onWatchStart(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private claim(add: () => void, remove: () => void): () => void {
    const was = this.watched();
    add();
    if (!was) this.emitWatchStart();
    let released = false;
    return () => {
      if (!released) {
        released = true;
        remove();
      }
    };
  }

  private emitWatchStart(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * Milliseconds until a countdown of `remainingS` seconds reaches the next of its alert
 * levels (in minutes, direction 'below': crossed when the value is <= the level), or
 * its end (0); null when nothing is ahead (unknown, or already past every level).
 */
export function msUntilNextLevel(remainingS: number | null | undefined, levelsMin: readonly number[]): number | null {
  if (remainingS === null || remainingS === undefined || !Number.isFinite(remainingS) || remainingS <= 0) return null;
  let next: number | null = null;
  for (const seconds of [...levelsMin.map(l => l * 60), 0]) {
    if (seconds < remainingS) {
      const ms = (remainingS - seconds) * 1000;
      if (next === null || ms < next) next = ms;
    }
  }
  return next;
}
