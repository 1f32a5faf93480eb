/**
 * Gives back the memory a burst of large requests grew, once the burst is over.
 *
 * Batched ingest (500 calls, ~400 KB a request) grows V8's old space to 50-90 MB. V8's memory reducer
 * usually returns it within seconds of the last request, but not always: after 1M calls the sidecar kept
 * 50-58 MB committed for 20-26 MB used, RSS 148-195 MB 30 s later (docs/BENCHMARKS.md, "Memory"). Here,
 * once `quietMs` pass without a request after at least `thresholdBytes` of request bodies, one full
 * collection runs that also releases V8's pooled pages (the `last-resort` flavour, Node >= 22; two plain
 * full collections before): ~30 ms of CPU once per burst, nothing at idle or under one-call requests.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024;
export const TRIM_QUIET_MS = 10_000;

export interface HeapTrimOptions {
  thresholdBytes?: number;
  quietMs?: number;
  /** The collection (tests count calls); default: V8's, see fullCollection(). */
  collect?: () => void;
}

let v8Gc: ((options?: unknown) => void) | null | undefined;

/**
 * V8's gc() without starting Node with --expose-gc: the flag applies to contexts created after it is set,
 * so a new context hands its gc function out. Null if this Node does not allow it.
 */
function v8Collector(): ((options?: unknown) => void) | null {
  if (v8Gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      v8Gc = typeof gc === 'function' ? (gc as (options?: unknown) => void) : null;
    } catch {
      v8Gc = null;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return v8Gc;
}

/** One full, compacting collection that gives freed pages back to the system; false if V8's gc is not reachable. */
export function fullCollection(): boolean {
  const gc = v8Collector();
  if (!gc) {
    return false;
  }
  if (Number(process.versions.v8.split('.')[0]) >= 12) {
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } else {
    // V8 11 (Node 20) ignores those options; two plain collections let the first one's sweeping finish,
    // so the second releases the emptied pages.
    gc();
    gc();
  }
  return true;
}

export class HeapTrim {
  private received = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly thresholdBytes: number;
  private readonly quietMs: number;
  private readonly collect: () => void;
  /** Collections run so far (GET /status does not show it; tests and benches read it). */
  runs = 0;

  constructor(options: HeapTrimOptions = {}) {
    this.thresholdBytes = options.thresholdBytes ?? TRIM_THRESHOLD_BYTES;
    this.quietMs = options.quietMs ?? TRIM_QUIET_MS;
    this.collect = options.collect ?? (() => void fullCollection());
  }

  /** A request with a body of this many bytes arrived. */
  note(bodyBytes: number): void {
    if (this.timer) {
      // Still in the burst: the collection waits for the requests to stop.
      this.timer.refresh();
      this.received += bodyBytes;
      return;
    }
    this.received += bodyBytes;
    if (this.received >= this.thresholdBytes) {
      this.timer = setTimeout(() => this.run(), this.quietMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private run(): void {
    this.timer = null;
    this.received = 0;
    this.runs++;
    this.collect();
  }
}
