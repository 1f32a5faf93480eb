import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BudgetState, LlmCallEvent } from '../shared/llm-api';
import { homedir } from 'node:os';
import { dataDirFor } from '../shared/dataDir';
import type { ResolvedOptions } from './config';

/** What the client did with its telemetry; failures are counted here, never thrown. */
export interface TelemetryStats {
  /** Events the sidecar accepted (duplicates included). */
  delivered: number;
  /** Events dropped: buffer full (oldest first) or undeliverable at flush(). */
  dropped: number;
  /** Failed deliveries (sidecar down, refused, timed out). */
  sendFailures: number;
  /** Errors inside the wrappers themselves, caught so the user's call was not affected. */
  wrapperErrors: number;
  buffered: number;
}

interface Endpoint {
  url: string;
  token: string;
}

/**
 * Events leave in the background, in batches, from a bounded buffer. A
 * failed background send keeps the events for the next try (the oldest are
 * dropped once the buffer is full); flush() sends everything it can now and
 * drops what it cannot deliver, so it always resolves.
 */
export class Transport {
  private buffer: LlmCallEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private exitHookInstalled = false;
  private budgetState: BudgetState = { hardStop: false, reason: null };
  private lastBudgetRefresh = -Infinity;
  private refreshing: Promise<void> = Promise.resolve();
  readonly stats: TelemetryStats = { delivered: 0, dropped: 0, sendFailures: 0, wrapperErrors: 0, buffered: 0 };

  constructor(private options: () => ResolvedOptions) {}

  get budget(): BudgetState {
    return this.budgetState;
  }

  enqueue(event: LlmCallEvent): void {
    const { maxBufferedEvents, batchSize } = this.options();
    this.buffer.push(event);
    if (this.buffer.length > maxBufferedEvents) {
      const over = this.buffer.length - maxBufferedEvents;
      this.buffer.splice(0, over);
      this.stats.dropped += over;
    }
    this.stats.buffered = this.buffer.length;
    this.installExitHook();
    if (this.buffer.length >= batchSize) {
      void this.drain(false);
    } else {
      this.schedule();
    }
  }

  /** Deliver every pending event, or drop what cannot be delivered. Never rejects. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.drain(true);
  }

  private schedule(): void {
    if (this.timer || this.buffer.length === 0) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain(false);
    }, this.options().flushIntervalMs);
    this.timer.unref();
  }

  private installExitHook(): void {
    if (this.exitHookInstalled) {
      return;
    }
    this.exitHookInstalled = true;
    // beforeExit fires when the loop is empty on a normal exit; the flush's own I/O keeps the
    // process alive until it is done, then beforeExit fires again with an empty buffer.
    process.on('beforeExit', () => {
      if (this.buffer.length > 0) {
        void this.flush();
      }
    });
  }

  private drain(final: boolean): Promise<void> {
    const previous = this.sending ?? Promise.resolve();
    const run = async (): Promise<void> => {
      await previous;
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, this.options().batchSize);
        const outcome = await this.send(batch);
        if (outcome === 'retry' && !final) {
          break;
        }
        // Delivered, refused for good (a 4xx other than auth/rate limit), or undeliverable at flush().
        this.buffer.splice(0, batch.length);
        if (outcome === 'ok') {
          this.stats.delivered += batch.length;
        } else {
          this.stats.dropped += batch.length;
        }
        this.stats.buffered = this.buffer.length;
      }
      this.stats.buffered = this.buffer.length;
      if (!final) {
        this.schedule();
      }
    };
    const p = run().catch(() => {
      this.stats.wrapperErrors++;
    });
    this.sending = p;
    return p;
  }

  /** Ask the sidecar for the budget state with an empty batch, in the background, at most every 5 s. */
  refreshBudget(now: number = Date.now()): Promise<void> {
    if (now - this.lastBudgetRefresh < 5_000) {
      return this.refreshing;
    }
    this.lastBudgetRefresh = now;
    // One refresh at a time, in order, so an older answer never overwrites a newer one.
    this.refreshing = this.refreshing.then(() => this.send([])).then(
      () => undefined,
      () => {
        this.stats.wrapperErrors++;
      }
    );
    return this.refreshing;
  }

  /** GET a sidecar path with the token; throws when no sidecar answers (used by helpers, not by wrapped calls). */
  async getJson<T>(path: string): Promise<T> {
    const endpoint = this.endpoint();
    if (!endpoint) {
      throw new Error('No Vigilo sidecar found: start one (%vigilo or `vigilo serve`) or call configure({ url, token }).');
    }
    const response = await fetch(`${endpoint.url}${path}`, { headers: { authorization: `Bearer ${endpoint.token}` }, signal: AbortSignal.timeout(this.options().timeoutMs) });
    const body = (await response.json()) as T & { error?: { message?: string } };
    if (!response.ok) {
      throw new Error(`Vigilo sidecar answered ${response.status} for ${path}: ${body.error?.message ?? 'no message'}`);
    }
    return body;
  }

  private endpoint(): Endpoint | null {
    const o = this.options();
    if (o.url && o.token) {
      return { url: o.url.replace(/\/+$/, ''), token: o.token };
    }
    try {
      const dir = o.dataDir ?? dataDirFor(process.env, homedir());
      const d = JSON.parse(readFileSync(join(dir, 'sidecar.json'), 'utf8')) as { url?: unknown; token?: unknown };
      if (typeof d.url === 'string' && typeof d.token === 'string') {
        return { url: (o.url ?? d.url).replace(/\/+$/, ''), token: o.token ?? d.token };
      }
    } catch {
      // No sidecar running for this data dir.
    }
    return null;
  }

  private async send(batch: LlmCallEvent[]): Promise<'ok' | 'retry' | 'refused'> {
    const endpoint = this.endpoint();
    if (!endpoint) {
      this.stats.sendFailures++;
      return 'retry';
    }
    try {
      const response = await fetch(`${endpoint.url}/llm/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(this.options().timeoutMs)
      });
      if (!response.ok) {
        await response.body?.cancel();
        this.stats.sendFailures++;
        const permanent = response.status >= 400 && response.status < 500 && ![401, 403, 408, 429].includes(response.status);
        return permanent ? 'refused' : 'retry';
      }
      const body = (await response.json()) as { budget?: BudgetState };
      if (body.budget && typeof body.budget.hardStop === 'boolean') {
        this.budgetState = { hardStop: body.budget.hardStop, reason: body.budget.reason ?? null };
      }
      return 'ok';
    } catch {
      this.stats.sendFailures++;
      return 'retry';
    }
  }
}
