import { lostCalls, lostCallsMessage, type DeliveryFacts, type LossSourceKind } from '../../core/llm/delivery';
import type { LlmDeliveryFacts, LostCallsView } from '../../shared/llm-api';
import type { SidecarContext } from '../core/context';

/** Alert rule of "LLM calls were not recorded" (one alert per kernel or TypeScript client process). */
export const LOST_CALLS_RULE = 'llm.lost';
/** TypeScript clients remembered at most (they have no "stopped" event): the least recently heard from go first. */
const MAX_CLIENTS = 256;

/**
 * Keeps each live kernel's latest delivery counters (sent with its heartbeat,
 * `llm.delivery`) and each TypeScript client's (sent with its event batches,
 * `client`), answers them in GET /llm/usage (`lost`) and the %vigilo report, and
 * raises one alert the first time a kernel or client reports dropped calls.
 * A kernel that restarted or stopped beating takes its counters (and its alert
 * state) with it, as in untracked.ts.
 */
export function lostCallsTracker(ctx: SidecarContext): {
  view(): LostCallsView | null;
  /** A TypeScript client's counters from a POST /llm/events body. */
  noteClient(client: LlmDeliveryFacts & { id: string }): void;
  stop(): void;
} {
  const kernels = new Map<string, DeliveryFacts>();
  const clients = new Map<string, DeliveryFacts>();
  const alerted = new Set<string>();

  /** Record a source's latest counters; the panel hears of a change (it reads GET /llm/usage again on `llm`). */
  const note = (kind: LossSourceKind, id: string, facts: DeliveryFacts, previous: DeliveryFacts | undefined): void => {
    const key = `${kind}:${id}`;
    if (facts.dropped !== (previous?.dropped ?? 0)) {
      ctx.bus.publish('llm', { type: 'lost', kind, id, dropped: facts.dropped });
    }
    if (facts.dropped > 0 && !alerted.has(key)) {
      alerted.add(key);
      ctx.alerts.fire({
        ruleId: LOST_CALLS_RULE,
        key,
        severity: 'warning',
        message: lostCallsMessage(kind, id, facts.dropped, facts.lastDrop),
        value: facts.dropped,
        data: { kind, id, dropped: facts.dropped, reason: facts.lastDrop }
      });
    }
  };

  const detach = [
    ctx.kernels.onBeat(beat => {
      const delivery = beat.llm?.delivery;
      if (delivery) {
        const facts = { dropped: delivery.dropped, lastDrop: delivery.lastDrop };
        const previous = kernels.get(beat.kernelId);
        kernels.set(beat.kernelId, facts);
        note('kernel', beat.kernelId, facts, previous);
      }
    }),
    ctx.kernels.onEvent(event => {
      if (event.type !== 'registered') {
        kernels.delete(event.kernelId);
        alerted.delete(`kernel:${event.kernelId}`);
      }
    })
  ];

  return {
    view: () => lostCalls(kernels, clients),
    noteClient: client => {
      const facts = { dropped: client.dropped, lastDrop: client.lastDrop };
      const previous = clients.get(client.id);
      clients.delete(client.id);
      clients.set(client.id, facts);
      if (clients.size > MAX_CLIENTS) {
        const oldest = clients.keys().next().value as string;
        clients.delete(oldest);
        alerted.delete(`client:${oldest}`);
      }
      note('client', client.id, facts, previous);
    },
    stop: () => {
      for (const off of detach) {
        off();
      }
    }
  };
}
