/**
 * "Lost calls": LLM calls a client recorded but dropped before the sidecar
 * stored them (its memory and disk buffer were full while the sidecar was
 * away), so their cost is missing from every total.
 *
 * The clients send raw counters: the Python client with its kernel's heartbeat
 * (`llm.delivery`, vigilo/llm/_census.py), the TypeScript client, which has no
 * heartbeat, with its event batches (`client`, src/client/transport.ts). This
 * decides what the user is told and what to do about it. Pure: no I/O.
 */

export interface DeliveryFacts {
  /** Events dropped since the client's process started. */
  dropped: number;
  /** Why events were last dropped; null when none were. */
  lastDrop: string | null;
}

export type LossSourceKind = 'kernel' | 'client';

export interface LostCallsSource {
  kind: LossSourceKind;
  /** Kernel id, or the TypeScript client's id (`<host>-<pid>-<hex>`). */
  id: string;
  calls: number;
  reason: string | null;
  /** "N LLM calls from kernel K were not recorded: <reason>. <what to do>" */
  message: string;
}

export interface LostCalls {
  calls: number;
  /** Most calls first. */
  sources: LostCallsSource[];
  /** Short, for a row of the panel or the report: "N calls lost: <reason>". */
  summary: string;
}

/** What the user can do, per client: keep a sidecar answering, or give the buffer more room. */
const ADVICE: Record<LossSourceKind, string> = {
  kernel:
    'Their cost is missing from every total. Keep the sidecar running (%vigilo starts it again) and, for long outages, give the buffer more room: vigilo.configure(max_spool_bytes=256 * 1024 * 1024).',
  client:
    'Their cost is missing from every total. Keep the sidecar running (`vigilo serve`) and, for long outages, give the buffer more room: configure({ maxSpooledBytes: 256 * 1024 * 1024 }).'
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The reason as the client said it, without a trailing full stop (the sentence adds its own). */
function reasonText(reason: string | null): string {
  const text = (reason ?? '').trim().replace(/\.+$/, '');
  return text || 'the reason was not reported';
}

/** The one-sentence message for one source's losses: what the alert and the panel say. */
export function lostCallsMessage(kind: LossSourceKind, id: string, calls: number, reason: string | null): string {
  const who = kind === 'kernel' ? `kernel ${id}` : `the TypeScript client ${id}`;
  return `${plural(calls, 'LLM call')} from ${who} ${calls === 1 ? 'was' : 'were'} not recorded: ${reasonText(reason)}. ${ADVICE[kind]}`;
}

/** The view over the latest counters of each kernel and each TypeScript client; null when nothing was lost. */
export function lostCalls(kernels: ReadonlyMap<string, DeliveryFacts>, clients: ReadonlyMap<string, DeliveryFacts> = new Map()): LostCalls | null {
  const sources: LostCallsSource[] = [];
  const add = (kind: LossSourceKind, map: ReadonlyMap<string, DeliveryFacts>): void => {
    for (const [id, facts] of map) {
      const calls = Number.isFinite(facts.dropped) ? Math.max(0, Math.floor(facts.dropped)) : 0;
      if (calls > 0) {
        sources.push({ kind, id, calls, reason: facts.lastDrop, message: lostCallsMessage(kind, id, calls, facts.lastDrop) });
      }
    }
  };
  add('kernel', kernels);
  add('client', clients);
  if (sources.length === 0) {
    return null;
  }
  sources.sort((a, b) => b.calls - a.calls || a.id.localeCompare(b.id));
  const calls = sources.reduce((sum, s) => sum + s.calls, 0);
  const reasons = [...new Set(sources.map(s => reasonText(s.reason)))];
  const where = sources.length === 1 ? '' : ` (${plural(sources.length, 'source')})`;
  return { calls, sources, summary: `${plural(calls, 'call')} lost${where}: ${reasons.join('; ')}` };
}
