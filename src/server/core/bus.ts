import { EventEmitter } from 'node:events';
import type { EventName } from '../../shared/api';

export interface BusMessage {
  event: EventName;
  data: unknown;
}

/**
 * The sidecar's one in-process event stream. Collectors, the alert engine and
 * the LLM ingest publish here; GET /events fans it out to SSE clients.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every SSE client is one listener; the route bounds how many there are.
    this.emitter.setMaxListeners(0);
  }

  publish(event: EventName, data: unknown): void {
    this.emitter.emit('message', { event, data } satisfies BusMessage);
  }

  subscribe(listener: (message: BusMessage) => void): () => void {
    this.emitter.on('message', listener);
    return () => this.emitter.off('message', listener);
  }

  get listenerCount(): number {
    return this.emitter.listenerCount('message');
  }
}
