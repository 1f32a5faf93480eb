/**
 * Deliveries in flight and done: one attempt at a time per message through the
 * worker, retried with backoff (default 5 s, 30 s, 2 min: four attempts), then
 * failed, which the module turns into a `notify.failed` alert. A bounded ring
 * of the latest deliveries answers GET /notify. Nothing here waits on the
 * event loop: attempts are promises answered by the worker's lines.
 */
import type { NotifyMessage } from '../../core/notify';
import type { NotifyDeliveryView } from '../../shared/notify-api';
import type { Clock } from '../core/clock';
import type { Channel } from './channels';
import type { NotifyWorker } from './worker';

export const DEFAULT_RETRY_MS = [5_000, 30_000, 120_000];
const RING = 200;

export interface DeliveryOptions {
  clock: Clock;
  worker: Pick<NotifyWorker, 'send'>;
  /** Delays before attempts 2, 3, …; its length + 1 attempts in all. */
  retryMs: number[];
  /** One attempt's limit in the worker (s). */
  timeoutS: number;
  onDone(delivery: NotifyDeliveryView, channel: Channel): void;
}

export class DeliveryQueue {
  private readonly ring: NotifyDeliveryView[] = [];
  private readonly waiters = new Map<string, Array<(d: NotifyDeliveryView) => void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private seq = 0;

  constructor(private readonly options: DeliveryOptions) {}

  enqueue(channel: Channel, message: NotifyMessage, raisedAtMs: number): NotifyDeliveryView {
    const delivery: NotifyDeliveryView = {
      id: `d${++this.seq}`,
      channelId: channel.id,
      rule: message.rule,
      severity: message.severity,
      title: message.title,
      body: message.body,
      status: 'pending',
      attempts: 0,
      raisedAt: new Date(raisedAtMs).toISOString(),
      deliveredAt: null,
      latencyMs: null,
      error: null
    };
    this.ring.push(delivery);
    if (this.ring.length > RING) this.ring.splice(0, this.ring.length - RING);
    void this.attempt(delivery, channel);
    return delivery;
  }

  recent(limit = 50): NotifyDeliveryView[] {
    return this.ring.slice(-limit).reverse().map(d => ({ ...d }));
  }

  pending(): number {
    return this.ring.filter(d => d.status === 'pending').length;
  }

  /** Resolves when the delivery is sent or failed, or after `ms` with its state then. */
  wait(id: string, ms: number): Promise<NotifyDeliveryView | null> {
    const d = this.ring.find(x => x.id === id);
    if (!d) return Promise.resolve(null);
    if (d.status !== 'pending') return Promise.resolve({ ...d });
    return new Promise(resolve => {
      const timer = setTimeout(() => resolve({ ...d }), ms);
      const list = this.waiters.get(id) ?? [];
      list.push(x => {
        clearTimeout(timer);
        resolve(x);
      });
      this.waiters.set(id, list);
    });
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async attempt(d: NotifyDeliveryView, channel: Channel): Promise<void> {
    d.attempts++;
    const result = await this.options.worker.send({ url: channel.url, title: d.title, body: d.body, severity: d.severity, timeoutS: this.options.timeoutS });
    if (result.ok) {
      const now = this.options.clock.now();
      d.status = 'sent';
      d.deliveredAt = new Date(now).toISOString();
      d.latencyMs = Math.max(0, now - Date.parse(d.raisedAt));
      d.error = null;
      return this.done(d, channel);
    }
    d.error = result.error ?? 'failed';
    const delay = this.options.retryMs[d.attempts - 1];
    if (delay === undefined) {
      d.status = 'failed';
      return this.done(d, channel);
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(d, channel);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private done(d: NotifyDeliveryView, channel: Channel): void {
    this.options.onDone({ ...d }, channel);
    for (const w of this.waiters.get(d.id) ?? []) w({ ...d });
    this.waiters.delete(d.id);
  }
}
