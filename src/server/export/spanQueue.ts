/**
 * The bounded retry buffer in front of the OTLP exporter. It holds call ids
 * (about 100 bytes each), not spans: a span is built from the stored call
 * when its batch goes out, so a receiver that is down for an hour costs at
 * most `maxQueue` ids of memory. One batch is in flight at a time; a batch
 * the receiver did not take goes back to the front and is tried again with
 * exponential backoff; past `maxQueue` the oldest ids are dropped and counted.
 *
 * Why not the SDK's BatchSpanProcessor: it drops a batch whose export failed
 * (a receiver that is down for a minute loses that minute), and it holds whole
 * spans. This keeps the SDK's exporters and span model, and only replaces the
 * part that decides what to keep while the receiver is away.
 */

/** Thrown by `send` when the receiver refused the batch for good (HTTP 4xx other than 429). */
export class RejectedBatch extends Error {}

export interface SpanQueueOptions {
  maxQueue: number;
  batchSize: number;
  /** A partial batch goes out this long after the first id arrived. */
  delayMs: number;
  /** Send these ids; resolves when the receiver took them, rejects otherwise. */
  send(ids: string[]): Promise<void>;
  now(): number;
  /** setTimeout that the tests replace; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SpanQueueStats {
  queued: number;
  inFlight: number;
  /** Spans the receiver accepted. */
  sent: number;
  /** Ids dropped because the queue was full (oldest first). */
  dropped: number;
  /** Spans the receiver refused (4xx other than 429): not retried. */
  rejected: number;
  /** Export attempts that failed (each batch retried later). */
  failedBatches: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSentAt: string | null;
  /** Next retry after a failure, null when not backing off. */
  retryAt: string | null;
  receiver: 'unknown' | 'up' | 'down';
}

export class SpanQueue {
  private ids: string[] = [];
  private head = 0;
  private inFlight: string[] | null = null;
  private cancelTimer: (() => void) | null = null;
  private backoffMs = 0;
  private retryAtMs: number | null = null;
  private stopped = false;
  private readonly stats = { sent: 0, dropped: 0, rejected: 0, failedBatches: 0, lastError: null as string | null, lastErrorAt: null as number | null, lastSentAt: null as number | null, receiver: 'unknown' as SpanQueueStats['receiver'] };

  constructor(private readonly o: SpanQueueOptions) {}

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Enqueue ids; never blocks, never throws. */
  add(ids: readonly string[]): void {
    if (this.stopped || ids.length === 0) {
      return;
    }
    for (const id of ids) {
      this.ids.push(id);
    }
    this.enforceBound();
    this.schedule();
  }

  private enforceBound(): void {
    const over = this.size + (this.inFlight?.length ?? 0) - this.o.maxQueue;
    if (over > 0) {
      const drop = Math.min(over, this.size);
      this.head += drop;
      this.stats.dropped += drop;
    }
    if (this.head > 4096 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.head = 0;
    }
  }

  private schedule(): void {
    if (this.stopped || this.inFlight || this.size === 0) {
      return;
    }
    if (this.retryAtMs !== null) {
      // Backing off: the retry timer is already set.
      if (this.cancelTimer) {
        return;
      }
      this.arm(Math.max(0, this.retryAtMs - this.o.now()));
      return;
    }
    if (this.size >= this.o.batchSize) {
      this.disarm();
      this.arm(0);
    } else if (!this.cancelTimer) {
      this.arm(this.o.delayMs);
    }
  }

  private disarm(): void {
    const cancel = this.cancelTimer;
    this.cancelTimer = null;
    cancel?.();
  }

  private arm(ms: number): void {
    this.cancelTimer = this.o.setTimer(() => {
      this.cancelTimer = null;
      void this.pump();
    }, ms);
  }

  private async pump(): Promise<void> {
    if (this.stopped || this.inFlight || this.size === 0) {
      return;
    }
    const n = Math.min(this.o.batchSize, this.size);
    const batch = this.ids.slice(this.head, this.head + n);
    this.head += n;
    this.inFlight = batch;
    try {
      await this.o.send(batch);
      this.stats.sent += batch.length;
      this.stats.lastSentAt = this.o.now();
      this.stats.receiver = 'up';
      this.backoffMs = 0;
      this.retryAtMs = null;
    } catch (error) {
      this.stats.failedBatches++;
      this.stats.lastError = error instanceof Error ? error.message : String(error);
      this.stats.lastErrorAt = this.o.now();
      if (error instanceof RejectedBatch) {
        // The receiver answered and refused this data (4xx): sending it again would be refused again.
        this.stats.rejected += batch.length;
        this.stats.receiver = 'up';
        this.inFlight = null;
        this.schedule();
        return;
      }
      this.stats.receiver = 'down';
      // Back to the front: the oldest unsent calls go first when it returns.
      this.ids = batch.concat(this.ids.slice(this.head));
      this.head = 0;
      this.inFlight = null;
      this.enforceBound();
      const min = this.o.minBackoffMs ?? 1000;
      this.backoffMs = Math.min(this.o.maxBackoffMs ?? 30_000, this.backoffMs === 0 ? min : this.backoffMs * 2);
      this.retryAtMs = this.o.now() + this.backoffMs;
    } finally {
      this.inFlight = null;
    }
    if (this.retryAtMs !== null && this.o.now() >= this.retryAtMs) {
      this.retryAtMs = null;
    }
    this.schedule();
  }

  /** Tests and stop(): try to send what is queued now, one batch after another, while the receiver takes them. */
  async drain(): Promise<void> {
    this.disarm();
    this.retryAtMs = null;
    while (!this.stopped && this.size > 0 && !this.inFlight) {
      const before = this.stats.failedBatches;
      await this.pump();
      this.disarm();
      if (this.stats.failedBatches > before) {
        return;
      }
      this.retryAtMs = null;
    }
  }

  /** Export turned off: what waits is dropped (and counted), nothing more is sent. */
  discard(): void {
    this.disarm();
    this.stats.dropped += this.size;
    this.ids = [];
    this.head = 0;
    this.retryAtMs = null;
    this.backoffMs = 0;
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  snapshot(): SpanQueueStats {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      queued: this.size,
      inFlight: this.inFlight?.length ?? 0,
      sent: this.stats.sent,
      dropped: this.stats.dropped,
      rejected: this.stats.rejected,
      failedBatches: this.stats.failedBatches,
      lastError: this.stats.lastError,
      lastErrorAt: iso(this.stats.lastErrorAt),
      lastSentAt: iso(this.stats.lastSentAt),
      retryAt: iso(this.retryAtMs),
      receiver: this.stats.receiver
    };
  }
}
