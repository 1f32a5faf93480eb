import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PriceEntry } from '../../shared/llm-api';
import { diffPricing, type PricingDiff } from '../../core/llm/litellm';
import { isCorrection } from '../../core/llm/pricing';
import { writePrivateFile } from '../core/discovery';
import { parseLiteLLMOffThread } from './pricingConfig';
import { LITELLM_PRICES_URL, PricingSourceError, readPricingSource, type PricingSourceOptions } from './pricingSource';

/**
 * `vigilo pricing update`: fetch LiteLLM's price file when the user asks,
 * validate it, say what changed, and keep it in `<dataDir>/pricing-update.json`
 * (0600) so the next start uses it too. Any failure leaves the previous
 * prices (in memory and on disk) as they were.
 */
export const PRICING_UPDATE_FILE = 'pricing-update.json';

/** Fewer models than this from a file that claims to be LiteLLM's means a broken or truncated file. */
const MIN_MODELS = 20;

export const PricingUpdateFile = z.object({
  from: z.string(),
  fetchedAt: z.string(),
  sha256: z.string(),
  models: z.record(z.string(), PriceEntry)
});
export type PricingUpdateFile = z.infer<typeof PricingUpdateFile>;

/** The source an update reads: the body's, else $VIGILO_PRICING_URL (tests point it at loopback), else LiteLLM's URL. */
export function pricingUpdateSource(from: string | undefined, env: NodeJS.ProcessEnv): string {
  return from || env.VIGILO_PRICING_URL || LITELLM_PRICES_URL;
}

/** The kept update, or null (none yet, or unreadable: then the shipped table is used and a warning says why). */
export function readPricingUpdate(dataDir: string): { update: PricingUpdateFile | null; warning: string | null } {
  const file = join(dataDir, PRICING_UPDATE_FILE);
  if (!existsSync(file)) {
    return { update: null, warning: null };
  }
  try {
    const parsed = PricingUpdateFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? { update: parsed.data, warning: null } : { update: null, warning: `${file} ignored: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  } catch (error) {
    return { update: null, warning: `${file} ignored: ${(error as Error).message}` };
  }
}

export interface PricingUpdateResult extends PricingDiff {
  from: string;
  fetchedAt: string;
  sha256: string;
  /** Priced chat models of these providers in the new file. */
  models: number;
}

/**
 * Fetch, validate and keep a new price file. `current` is the table in use
 * (to say what changed). Throws a PricingSourceError (with its HTTP code) and
 * writes nothing when the source cannot be read, is not JSON, or holds too few
 * priced chat models of these providers.
 */
export async function updatePricing(dataDir: string, from: string, current: Record<string, PriceEntry>, now: Date, options: PricingSourceOptions = {}): Promise<{ result: PricingUpdateResult; update: PricingUpdateFile }> {
  const text = await readPricingSource(from, options);
  // Parsed and validated in a worker thread: LiteLLM's 3.5 MB file would hold the event loop for 200-300 ms.
  const imported = { models: await parseLiteLLMOffThread(text, from) };
  const count = Object.keys(imported.models).length;
  if (count < MIN_MODELS) {
    throw new PricingSourceError('bad_source', `${from} holds ${count} priced OpenAI, Anthropic or Google chat models (at least ${MIN_MODELS} expected from LiteLLM's file); the previous prices are kept.`);
  }
  const update: PricingUpdateFile = {
    from,
    fetchedAt: now.toISOString(),
    sha256: createHash('sha256').update(text).digest('hex'),
    models: imported.models
  };
  // Written only once everything validated; an unwritable data dir throws here and nothing changes.
  writePrivateFile(join(dataDir, PRICING_UPDATE_FILE), JSON.stringify(update) + '\n');
  // Models of the table in use that the new file lacks stay priced from the shipped table: `removed` names them.
  const effective = Object.fromEntries(Object.entries(imported.models).filter(([k]) => !isCorrection(current[k])));
  const diff = diffPricing(current, { ...effective, ...Object.fromEntries(Object.entries(current).filter(([, e]) => isCorrection(e))) });
  return { result: { ...diff, from, fetchedAt: update.fetchedAt, sha256: update.sha256, models: count }, update };
}

/** One paragraph for the CLI and %vigilo: what changed, a few names of each kind. */
export function describePricingUpdate(r: PricingUpdateResult): string {
  const few = (names: string[]): string => (names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', '));
  const lines = [`Prices updated from ${r.from} (${r.models} models, ${r.fetchedAt}).`];
  lines.push(r.added.length ? `Added ${r.added.length}: ${few(r.added)}.` : 'No model added.');
  lines.push(
    r.repriced.length
      ? `Repriced ${r.repriced.length}: ${few(r.repriced.map(c => `${c.model} $${c.before.input}/$${c.before.output} → $${c.after.input}/$${c.after.output}`))}.`
      : 'No price changed.'
  );
  if (r.removed.length) {
    lines.push(`Not in the new file (kept from the shipped table): ${few(r.removed)}.`);
  }
  return lines.join('\n');
}
