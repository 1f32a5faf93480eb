import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BudgetState, LlmCallEvent, LlmEventsBody } from '../shared/llm-api';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dataDirFor } from '../shared/dataDir';
import type { ResolvedOptions } from './config';
import { Outbox } from './outbox';

/** What the client did with its telemetry; failures are counted here, never thrown. */
export interface TelemetryStats {
  /** Events the sidecar accepted (a resent event it already had included: it stores an id once). */
  delivered: number;
  /** Events lost: the disk outbox full (oldest first), or refused for good by the sidecar (a 4xx). */
  dropped: number;
  /** Why events were last dropped; null while none were. Sent to the sidecar with the next batch, which shows it. */
  lastDrop: string | null;
  /** Failed deliveries (sidecar down, refused, timed out). */
  sendFailures: number;
  /** Errors inside the wrappers themselves, caught so the user's call was not affected. */
  wrapperErrors: number;
  /** Events waiting in memory. */
  buffered: number;
  /** Events this process wrote to the disk spool that are not delivered yet. */
  spooled: number;
  /** Bytes in the data dir's spool (`llm-spool/`, every client's, Python's too), as last seen. */
  spoolBytes: number;
}

interface Endpoint {
  url: string;
  token: string;
}

type Outcome = 'ok' | 'retry' | 'refused';

/**
 * Events leave in the background, in batches, from a bounded buffer, and are
 * never lost to a sidecar that is down or restarting:
 *
 * - in memory up to `maxBufferedEvents`; past that the oldest batch goes to
 *   the data dir's spool on disk (`<data dir>/llm-spool`, `outbox.ts`, 0600,
 *   shared with the Python client), up to `maxSpooledBytes` for the whole
 *   folder, past which the oldest events are dropped and counted;
 * - at process exit, what is still in memory goes to the spool;
 * - every send reads sidecar.json again, so a restarted sidecar (new port,
 *   new token) is found; once one answers, the spool is sent too (this
 *   process's files and those another client left, Python's included);
 * - each event keeps its id, which the sidecar stores once: a batch resent
 *   after an answer was lost is not counted twice.
 *
 * flush() sends everything it can now and answers true when every event is
 * stored and none was dropped since the previous flush; undelivered events
 * stay buffered for later.
 */
export class Transport {
  private buffer: LlmCallEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<boolean> | null = null;
  private exitHookInstalled = false;
  private exitFlushTried = false;
  /** Whether the outbox may hold files (ours, or an earlier process's: checked once at first send). */
  private outboxPending = true;
  private spoolBytesKnown = false;
  private droppedAtLastFlush = 0;
  private budgetState: BudgetState = { hardStop: false, reason: null };
  private lastBudgetRefresh = -Infinity;
  private refreshing: Promise<void> = Promise.resolve();
  readonly stats: TelemetryStats = { delivered: 0, dropped: 0, lastDrop: null, sendFailures: 0, wrapperErrors: 0, buffered: 0, spooled: 0, spoolBytes: 0 };
  /** This process's name for the sidecar (its drops are kept per client): `node-<pid>-<hex>`. */
  readonly clientId = `node-${process.pid}-${randomBytes(3).toString('hex')}`;
  /** False once a sidecar refused a batch for its `client` field (an older sidecar): batches go without it. */
  private sendClientFacts = true;
  /** The status of the last batch the sidecar refused for good, for `lastDrop`. */
  private refusedStatus = 0;

  constructor(private options: () => ResolvedOptions) {}

  get budget(): BudgetState {
    return this.budgetState;
  }

  private dataDir(): string {
    return this.options().dataDir ?? dataDirFor(process.env, homedir());
  }

  private outbox(): Outbox {
    return new Outbox(this.dataDir());
  }

  enqueue(event: LlmCallEvent): void {
    const { maxBufferedEvents, batchSize } = this.options();
    this.buffer.push(event);
    if (this.buffer.length > maxBufferedEvents) {
      // Keep the newest in memory; the oldest batch waits on disk (or, the disk bound reached, is dropped).
      // In chunks of a batch (at most half the buffer), so the disk sees few, whole files.
      this.spill(this.buffer.splice(0, Math.max(this.buffer.length - maxBufferedEvents, Math.min(batchSize, Math.floor(maxBufferedEvents / 2)))));
    }
    this.stats.buffered = this.buffer.length;
    this.installExitHook();
    if (this.buffer.length >= batchSize) {
      void this.drain(false);
    } else {
      this.schedule();
    }
  }

  /** Write events to the outbox within its byte bound; what does not fit (the oldest) is dropped and counted. */
  private spill(events: LlmCallEvent[]): void {
    const { maxSpooledBytes } = this.options();
    if (events.length === 0) {
      return;
    }
    try {
      const box = this.outbox();
      if (!this.spoolBytesKnown) {
        // Once per process (then kept up to date here and by drainOutbox): files an earlier process left count too.
        this.stats.spoolBytes = box.bytes();
        this.spoolBytesKnown = true;
      }
      let keep = events;
      const size = (list: LlmCallEvent[]) => list.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
      while (keep.length > 0 && this.stats.spoolBytes + size(keep) > maxSpooledBytes) {
        keep = keep.slice(Math.max(1, Math.ceil(keep.length / 4)));
      }
      if (keep.length < events.length) {
        this.drop(events.length - keep.length, `the disk buffer (${box.dir}, ${mib(maxSpooledBytes)}) is full`);
      }
      if (keep.length > 0) {
        this.stats.spoolBytes += box.write(keep);
        this.stats.spooled += keep.length;
        this.outboxPending = true;
      }
    } catch (error) {
      // The disk refuses (full, read-only): these events are lost, and counted.
      this.drop(events.length, `they could not be written under ${join(this.dataDir(), 'llm-spool')}: ${error instanceof Error ? error.message : String(error)}`);
      this.stats.wrapperErrors++;
    }
  }

  /**
   * Deliver every pending event now (memory, then the outbox). True when all are stored and
   * none was dropped since the previous flush; false leaves the undelivered ones buffered. Never rejects.
   */
  async flush(): Promise<boolean> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const delivered = await this.drain(true);
    const nothingLost = this.stats.dropped === this.droppedAtLastFlush;
    this.droppedAtLastFlush = this.stats.dropped;
    return delivered && nothingLost;
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
    // beforeExit fires when the loop is empty on a normal exit: one flush is tried (its I/O keeps the
    // process alive until it is done); what it could not deliver goes to the outbox, so the loop ends.
    process.on('beforeExit', () => {
      if (this.buffer.length === 0) {
        return;
      }
      if (!this.exitFlushTried) {
        this.exitFlushTried = true;
        void this.flush();
      } else {
        this.spillAll();
      }
    });
    // Any exit (process.exit() included: only synchronous work runs here): memory to disk.
    process.on('exit', () => this.spillAll());
  }

  private spillAll(): void {
    this.spill(this.buffer.splice(0));
    this.stats.buffered = 0;
  }

  /** Send the memory buffer, then the outbox; resolves true when nothing is left undelivered. */
  private drain(final: boolean): Promise<boolean> {
    const previous = this.sending ?? Promise.resolve(true);
    const run = async (): Promise<boolean> => {
      await previous.catch(() => false);
      let answered = false;
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, this.options().batchSize);
        const outcome = await this.send(batch);
        if (outcome === 'retry') {
          break;
        }
        answered = true;
        // Delivered, or refused for good (a 4xx other than auth/rate limit).
        this.buffer.splice(0, batch.length);
        this.count(outcome, batch.length);
        this.stats.buffered = this.buffer.length;
      }
      this.stats.buffered = this.buffer.length;
      // flush() looks at the outbox again: files another process left (it exited with the sidecar down) are sent too.
      if (this.buffer.length === 0 && (this.outboxPending || final) && (answered || final)) {
        await this.drainOutbox();
      }
      if (!final) {
        this.schedule();
      }
      return this.buffer.length === 0 && !this.outboxPending;
    };
    const p = run().catch(() => {
      this.stats.wrapperErrors++;
      return false;
    });
    this.sending = p;
    return p;
  }

  private count(outcome: Outcome, n: number): void {
    if (outcome === 'ok') {
      this.stats.delivered += n;
    } else {
      this.drop(n, `the sidecar refused them (HTTP ${this.refusedStatus})`);
    }
  }

  private drop(n: number, why: string): void {
    this.stats.dropped += n;
    this.stats.lastDrop = why.length > 500 ? `${why.slice(0, 497)}...` : why;
  }

  /** The batch body: the events, and once any were dropped this client's counters (it has no heartbeat to carry them). */
  private body(batch: LlmCallEvent[]): LlmEventsBody {
    if (this.stats.dropped === 0 || !this.sendClientFacts) {
      return { events: batch };
    }
    return { events: batch, client: { id: this.clientId, dropped: this.stats.dropped, lastDrop: this.stats.lastDrop } };
  }

  /** Send the spool's files (this process's and any other client's), oldest first, while the sidecar answers. */
  private async drainOutbox(): Promise<void> {
    const box = this.outbox();
    for (let claimed = box.claim(); claimed; claimed = box.claim()) {
      const { batchSize } = this.options();
      let sent = 0;
      while (sent < claimed.events.length) {
        const batch = claimed.events.slice(sent, sent + batchSize);
        const outcome = await this.send(batch);
        if (outcome === 'retry') {
          break;
        }
        this.count(outcome, batch.length);
        sent += batch.length;
      }
      this.stats.spooled = Math.max(0, this.stats.spooled - sent);
      if (sent < claimed.events.length) {
        // The sidecar went away: the rest goes back as a new file (the bound was paid when it was first written).
        box.write(claimed.events.slice(sent));
        box.done(claimed.path);
        break;
      }
      box.done(claimed.path);
    }
    this.stats.spoolBytes = box.bytes();
    this.spoolBytesKnown = true;
    this.outboxPending = this.stats.spoolBytes > 0;
    if (!this.outboxPending) {
      this.stats.spooled = 0;
    }
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
  getJson<T>(path: string): Promise<T> {
    return this.requestJson<T>(path);
  }

  /** POST a JSON body to a sidecar path with the token; throws as getJson does. */
  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.requestJson<T>(path, body);
  }

  private async requestJson<T>(path: string, body?: unknown): Promise<T> {
    const endpoint = this.endpoint();
    if (!endpoint) {
      throw new Error('No Vigilo sidecar found: start one (%vigilo or `vigilo serve`) or call configure({ url, token }).');
    }
    const headers: Record<string, string> = { authorization: `Bearer ${endpoint.token}` };
    const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${endpoint.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(this.options().timeoutMs) });
    const answer = (await response.json()) as T & { error?: { message?: string } };
    if (!response.ok) {
      throw new Error(`Vigilo sidecar answered ${response.status} for ${path}: ${answer.error?.message ?? 'no message'}`);
    }
    return answer;
  }

  private endpoint(): Endpoint | null {
    const o = this.options();
    if (o.url && o.token) {
      return { url: o.url.replace(/\/+$/, ''), token: o.token };
    }
    try {
      const dir = this.dataDir();
      const d = JSON.parse(readFileSync(join(dir, 'sidecar.json'), 'utf8')) as { url?: unknown; token?: unknown };
      if (typeof d.url === 'string' && typeof d.token === 'string') {
        return { url: (o.url ?? d.url).replace(/\/+$/, ''), token: o.token ?? d.token };
      }
    } catch {
      // No sidecar running for this data dir.
    }
    return null;
  }

  private async send(batch: LlmCallEvent[]): Promise<Outcome> {
    const endpoint = this.endpoint();
    if (!endpoint) {
      this.stats.sendFailures++;
      return 'retry';
    }
    try {
      const sent = this.body(batch);
      const response = await fetch(`${endpoint.url}/llm/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify(sent),
        signal: AbortSignal.timeout(this.options().timeoutMs)
      });
      if (!response.ok) {
        await response.body?.cancel();
        this.stats.sendFailures++;
        if (response.status === 400 && sent.client) {
          // A sidecar older than the `client` field refuses the whole batch for it: never lose events to it.
          this.sendClientFacts = false;
          return this.send(batch);
        }
        const permanent = response.status >= 400 && response.status < 500 && ![401, 403, 408, 429].includes(response.status);
        if (permanent) {
          this.refusedStatus = response.status;
        }
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

const mib = (bytes: number): string => (bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`);
