import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ChainLink } from '../../shared/transfer-api';
import { chainOf } from '../../core/llm/freshStart';
import { writePrivateFile } from '../core/discovery';

/** Which conversation continues which (fresh starts), kept in <dataDir>/llm-successors.json (0600). */
export const SUCCESSORS_FILE = 'llm-successors.json';
/** Links kept at most; the oldest go first. */
const MAX_LINKS = 10_000;

export class SuccessorStore {
  private links: ChainLink[] = [];
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, SUCCESSORS_FILE);
    if (existsSync(this.file)) {
      // A damaged file loses the chain display, not the sidecar.
      const parsed = z.object({ links: z.array(ChainLink) }).safeParse(safeJson(readFileSync(this.file, 'utf8')));
      this.links = parsed.success ? parsed.data.links : [];
    }
  }

  has(conversationId: string): boolean {
    return this.links.some(l => l.conversationId === conversationId || l.successorId === conversationId);
  }

  /** Persist first, then apply: a full disk changes nothing. A conversation has one successor: a new link replaces the old one. */
  add(link: ChainLink): void {
    const next = [...this.links.filter(l => l.conversationId !== link.conversationId), link].slice(-MAX_LINKS);
    writePrivateFile(this.file, `${JSON.stringify({ links: next })}\n`);
    this.links = next;
  }

  all(): ChainLink[] {
    return [...this.links];
  }

  chain(conversationId: string): ChainLink[] {
    return chainOf(this.links, conversationId);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
