import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PricingFile, PricingOverrides, type PriceEntry } from '../../shared/llm-api';
import { applyPricing, tableFromFile, type PricingTable } from '../../core/llm/pricing';
import { importLiteLLM } from '../../core/llm/litellm';
import shipped from '../../../data/pricing.json';
import { PricingSourceError, readPricingSource, type PricingSourceOptions } from './pricingSource';

export const PRICING_OVERRIDES_FILE = 'pricing.json';

export function shippedTable(): PricingTable {
  return tableFromFile(PricingFile.parse(shipped));
}

/** Read `<dataDir>/pricing.json`; a broken file becomes a warning, never a crash. */
export function readOverrides(dataDir: string): { overrides: PricingOverrides | null; warnings: string[] } {
  const file = join(dataDir, PRICING_OVERRIDES_FILE);
  if (!existsSync(file)) {
    return { overrides: null, warnings: [] };
  }
  try {
    const parsed = PricingOverrides.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      return { overrides: null, warnings: [`${file} ignored: ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`] };
    }
    return { overrides: parsed.data, warnings: [] };
  } catch (error) {
    return { overrides: null, warnings: [`${file} ignored: ${(error as Error).message}`] };
  }
}

/**
 * Load a LiteLLM model_prices_and_context_window.json from a regular file or
 * an http(s) URL, bounded in bytes and time while it streams (pricingSource.ts).
 * Every refusal is a PricingSourceError with its HTTP code and reason.
 */
export async function fetchLiteLLM(from: string, options: PricingSourceOptions = {}): Promise<Record<string, PriceEntry>> {
  const text = await readPricingSource(from, options);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the input: keep the file's content out of the answer.
    throw new PricingSourceError('bad_source', `${from} is not JSON`);
  }
  const { models } = importLiteLLM(json);
  if (Object.keys(models).length === 0) {
    throw new PricingSourceError('bad_source', `${from} holds no OpenAI, Anthropic or Google chat model with prices`);
  }
  return models;
}

/** The table in use: shipped, then an import, then the user's overrides. */
export function buildTable(dataDir: string, imported: { from: string; models: Record<string, PriceEntry>; at?: string } | null, extraWarnings: string[] = []): PricingTable {
  const { overrides, warnings } = readOverrides(dataDir);
  const base = shippedTable();
  base.warnings.push(...warnings, ...extraWarnings);
  return applyPricing(base, imported, overrides);
}
