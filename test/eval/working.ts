import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SummaryMessage } from '../../src/core/llm/summary';

/** Working conversations from public agent transcripts (see working.json's sources) with probes of four kinds. */
export interface WorkingConversation {
  id: string;
  kind: 'coding' | 'analysis' | 'writing';
  source: { repository: string; path: string; commit: string; license: string; note: string };
  messages: SummaryMessage[];
  probes: Array<{ kind: 'recall' | 'artifact' | 'continuation' | 'decision'; question: string; needle: string }>;
}

export function loadWorking(): WorkingConversation[] {
  return (JSON.parse(readFileSync(join(__dirname, 'working.json'), 'utf8')) as { conversations: WorkingConversation[] }).conversations;
}

export interface ProbeResult {
  probes: number;
  kept: number;
  byKind: Record<string, { probes: number; kept: number }>;
  missed: string[];
}

/** Probes kept (needle found, case-insensitive) by `summarise` at `budgetTokens`. */
export function probe(conversations: WorkingConversation[], summarise: (m: SummaryMessage[], budget: number) => string, budgetTokens: number): ProbeResult {
  const r: ProbeResult = { probes: 0, kept: 0, byKind: {}, missed: [] };
  for (const c of conversations) {
    const text = summarise(c.messages, budgetTokens).toLowerCase();
    for (const p of c.probes) {
      const k = (r.byKind[p.kind] ??= { probes: 0, kept: 0 });
      const kept = text.includes(p.needle.toLowerCase());
      r.probes++;
      k.probes++;
      r.kept += kept ? 1 : 0;
      k.kept += kept ? 1 : 0;
      if (!kept) {
        r.missed.push(`${c.id}: ${p.kind} "${p.needle}"`);
      }
    }
  }
  return r;
}
