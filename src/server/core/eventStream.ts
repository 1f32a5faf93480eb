import type { Response } from 'express';
import type { BusMessage, EventBus } from './bus';

export interface EventStreamOptions {
  /**
   * Bytes of non-snapshot events (alert, kernel, llm) kept for one client
   * whose socket is full. Past it the client is dropped: its EventSource
   * reconnects and starts again from `hello` + a fresh snapshot.
   */
  maxQueuedBytes?: number;
  /** A client that has not drained its socket for this long is dropped. */
  stallMs?: number;
  /** How often keepalives go out and stalls are checked. */
  keepaliveMs?: number;
  /**
   * `llm` `calls` events published within this many ms go out as one (their
   * counts added, their calls joined): one write per window to every client,
   * not one per tracked call. 0 sends each at once.
   */
  coalesceCallsMs?: number;
  now?: () => number;
}

export const EVENT_STREAM_DEFAULTS = { maxQueuedBytes: 256 * 1024, stallMs: 60_000, keepaliveMs: 15_000, coalesceCallsMs: 250 } as const;

/** Calls listed in one coalesced `calls` event at most (the newest are kept); `accepted` still counts them all. */
export const COALESCED_CALLS_MAX = 500;

/** The LLM module's `{ type: 'calls', accepted, conversations, calls }` event (docs/LLM.md). */
interface CallsEvent {
  type: 'calls';
  accepted: number;
  conversations: string[];
  calls: unknown[];
}

function isCallsEvent(data: unknown): data is CallsEvent {
  const d = data as Partial<CallsEvent> | null;
  return !!d && d.type === 'calls' && typeof d.accepted === 'number' && Array.isArray(d.conversations) && Array.isArray(d.calls);
}

/** What one client holds in the sidecar's memory, for tests and /status. */
export interface EventClientStats {
  /** Bytes written but not yet taken by the socket (Node's buffer). */
  bufferedBytes: number;
  /** Bytes of events waiting for the socket to drain. */
  queuedBytes: number;
  /** A snapshot is waiting to go out (only the latest is kept). */
  snapshotPending: boolean;
  congested: boolean;
}

class EventClient {
  private id = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  /** The latest snapshot body seen while congested; older ones are replaced, never queued. */
  private pendingSnapshot: string | null = null;
  private congestedSince: number | null = null;

  constructor(
    private readonly res: Response,
    private readonly options: Required<EventStreamOptions>,
    private readonly drop: (client: EventClient, why: string) => void
  ) {
    res.on('drain', () => this.flush());
  }

  private write(event: string, payload: string): boolean {
    return this.res.write(`id: ${++this.id}\nevent: ${event}\ndata: ${payload}\n\n`);
  }

  /** `payload`: the event's JSON, serialised once for every client. */
  send(event: string, payload: string): void {
    if (this.congestedSince === null) {
      if (!this.write(event, payload)) {
        this.congestedSince = this.options.now();
      }
      return;
    }
    if (event === 'snapshot') {
      this.pendingSnapshot = payload;
      return;
    }
    const frame = `${event}\n${payload}`;
    this.queuedBytes += frame.length;
    if (this.queuedBytes > this.options.maxQueuedBytes) {
      this.drop(this, `it stopped reading and more than ${this.options.maxQueuedBytes} bytes of events waited for it`);
      return;
    }
    this.queue.push(frame);
  }

  /** The socket drained: send what waited, in order, the latest snapshot last. */
  private flush(): void {
    while (this.queue.length > 0) {
      const frame = this.queue.shift()!;
      this.queuedBytes -= frame.length;
      const nl = frame.indexOf('\n');
      if (!this.write(frame.slice(0, nl), frame.slice(nl + 1))) {
        return;
      }
    }
    if (this.pendingSnapshot !== null) {
      const snapshot = this.pendingSnapshot;
      this.pendingSnapshot = null;
      if (!this.write('snapshot', snapshot)) {
        return;
      }
    }
    this.congestedSince = null;
  }

  /** Keepalive for a healthy client; drop one that has not drained for stallMs. */
  tick(): void {
    if (this.congestedSince === null) {
      this.res.write(': keepalive\n\n');
    } else if (this.options.now() - this.congestedSince > this.options.stallMs) {
      this.drop(this, `it has not read for ${Math.round(this.options.stallMs / 1000)} s`);
    }
  }

  hello(payload: string, snapshot: string): void {
    this.send('hello', payload);
    this.send('snapshot', snapshot);
  }

  close(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.pendingSnapshot = null;
    this.res.destroy();
  }

  stats(): EventClientStats {
    return {
      bufferedBytes: this.res.writableLength,
      queuedBytes: this.queuedBytes,
      snapshotPending: this.pendingSnapshot !== null,
      congested: this.congestedSince !== null
    };
  }
}

/**
 * GET /events fan-out with bounded memory per client. Each bus message is
 * serialised once. A client whose socket is full gets no more writes: its
 * snapshots coalesce into the latest one, other events wait in a small queue;
 * when the queue overflows or the client stalls, it is dropped (EventSource
 * reconnects and resyncs from a fresh snapshot). Nothing grows without bound.
 */
export class EventStream {
  private readonly clients = new Set<EventClient>();
  private readonly options: Required<EventStreamOptions>;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** `calls` events waiting for the end of their window, merged. */
  private pendingCalls: { accepted: number; conversations: Set<string>; calls: unknown[] } | null = null;
  private callsTimer: NodeJS.Timeout | null = null;
  /** Clients dropped for being slow since start. */
  dropped = 0;

  constructor(
    private readonly bus: EventBus,
    options: EventStreamOptions = {},
    private readonly log: (line: string) => void = () => undefined
  ) {
    this.options = { ...EVENT_STREAM_DEFAULTS, now: Date.now, ...options };
  }

  get size(): number {
    return this.clients.size;
  }

  /** Attach a response whose SSE headers were sent; `hello` and the snapshot go first. */
  add(res: Response, hello: unknown, snapshot: unknown): void {
    const client = new EventClient(res, this.options, (c, why) => {
      this.dropped++;
      this.log(`events: dropped a slow client: ${why}`);
      this.remove(c);
      c.close();
    });
    this.clients.add(client);
    res.on('close', () => this.remove(client));
    client.hello(JSON.stringify(hello), JSON.stringify(snapshot));
    if (!this.unsubscribe) {
      this.unsubscribe = this.bus.subscribe(message => this.broadcast(message));
      this.timer = setInterval(() => {
        for (const c of [...this.clients]) c.tick();
      }, this.options.keepaliveMs);
      this.timer.unref();
    }
  }

  private remove(client: EventClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = null;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      if (this.callsTimer) clearTimeout(this.callsTimer);
      this.callsTimer = null;
      this.pendingCalls = null;
    }
  }

  private broadcast(message: BusMessage): void {
    if (message.event === 'llm' && isCallsEvent(message.data) && this.options.coalesceCallsMs > 0) {
      const data = message.data;
      const pending = (this.pendingCalls ??= { accepted: 0, conversations: new Set(), calls: [] });
      pending.accepted += data.accepted;
      for (const c of data.conversations) pending.conversations.add(c);
      pending.calls.push(...data.calls);
      if (pending.calls.length > COALESCED_CALLS_MAX) pending.calls.splice(0, pending.calls.length - COALESCED_CALLS_MAX);
      if (!this.callsTimer) {
        this.callsTimer = setTimeout(() => this.sendPendingCalls(), this.options.coalesceCallsMs);
        this.callsTimer.unref();
      }
      return;
    }
    if (message.event !== 'snapshot') {
      // Other events keep their order after the calls published before them.
      this.sendPendingCalls();
    }
    this.send(message.event, JSON.stringify(message.data));
  }

  private sendPendingCalls(): void {
    if (this.callsTimer) clearTimeout(this.callsTimer);
    this.callsTimer = null;
    const pending = this.pendingCalls;
    this.pendingCalls = null;
    if (pending) {
      this.send('llm', JSON.stringify({ type: 'calls', accepted: pending.accepted, conversations: [...pending.conversations], calls: pending.calls }));
    }
  }

  private send(event: string, payload: string): void {
    for (const client of [...this.clients]) {
      client.send(event, payload);
    }
  }

  stats(): EventClientStats[] {
    return [...this.clients].map(c => c.stats());
  }

  closeAll(): void {
    for (const c of [...this.clients]) {
      this.remove(c);
      c.close();
    }
  }
}
