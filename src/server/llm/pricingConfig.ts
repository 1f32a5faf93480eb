import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PricingFile, PricingOverrides, type PriceEntry } from '../../shared/llm-api';
import { applyPricing, tableFromFile, type PricingTable } from '../../core/llm/pricing';
import { importLiteLLM } from '../../core/llm/litellm';
import shipped from '../../../data/pricing.json';
import { describeZodError } from '../core/errors';
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
      return { overrides: null, warnings: [`${file} ignored: ${describeZodError(parsed.error)}`] };
    }
    return { overrides: parsed.data, warnings: [] };
  } catch (error) {
    return { overrides: null, warnings: [`${file} ignored: ${(error as Error).message}`] };
  }
}

/**
 * A LiteLLM price file's text → its OpenAI, Anthropic and Google chat models.
 * Pure CPU (JSON.parse, then every entry validated): for the real 3.5 MB file
 * 200–300 ms, so the sidecar runs it in a worker (parseLiteLLMOffThread).
 */
export function parseLiteLLMText(text: string, from: string): Record<string, PriceEntry> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the input: keep the file's content out of the answer.
    throw new PricingSourceError('bad_source', `${from} is not JSON`);
  }
  let models: Record<string, PriceEntry>;
  try {
    models = importLiteLLM(json).models;
  } catch (error) {
    throw new PricingSourceError('bad_source', `${from}: ${(error as Error).message}`);
  }
  if (Object.keys(models).length === 0) {
    throw new PricingSourceError('bad_source', `${from} holds no OpenAI, Anthropic or Google chat model with prices`);
  }
  return models;
}

// Runs in a worker thread: loads this very module (dist/server/llm/pricingConfig.js, or the
// sidecar bundle, whose entry cli.ts re-exports parseLiteLLMText) and parses there.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let answer;
try {
  const parse = require(workerData.module).parseLiteLLMText;
  answer = typeof parse === 'function' ? { ok: true, models: parse(workerData.text, workerData.from) } : { ok: false, missing: true };
} catch (error) {
  answer = { ok: false, code: error && error.code, message: String(error && error.message) };
}
parentPort.postMessage(answer);
`;

/**
 * parseLiteLLMText off the event loop, so /metrics and /events keep answering
 * while a price file is read. Parses in-thread when no compiled module is at
 * hand (tests run the TypeScript sources) or the worker cannot load it.
 */
export function parseLiteLLMOffThread(text: string, from: string): Promise<Record<string, PriceEntry>> {
  const module = typeof __filename === 'string' ? __filename : '';
  if (!/\.c?js$/.test(module)) {
    return Promise.resolve().then(() => parseLiteLLMText(text, from));
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, text, from } });
    let settled = false;
    const inThread = () => {
      try {
        resolve(parseLiteLLMText(text, from));
      } catch (error) {
        reject(error);
      }
    };
    worker.once('message', (answer: { ok: boolean; models?: Record<string, PriceEntry>; missing?: boolean; code?: string; message?: string }) => {
      settled = true;
      void worker.terminate();
      if (answer.ok) {
        resolve(answer.models!);
      } else if (answer.missing) {
        inThread();
      } else {
        reject(new PricingSourceError('bad_source', answer.message ?? `${from} could not be read`));
      }
    });
    worker.once('error', () => {
      if (!settled) {
        settled = true;
        inThread();
      }
    });
  });
}

/**
 * Load a LiteLLM model_prices_and_context_window.json from a regular file or
 * an http(s) URL, bounded in bytes and time while it streams (pricingSource.ts),
 * parsed in a worker. Every refusal is a PricingSourceError with its HTTP code and reason.
 */
export async function fetchLiteLLM(from: string, options: PricingSourceOptions = {}): Promise<Record<string, PriceEntry>> {
  return parseLiteLLMOffThread(await readPricingSource(from, options), from);
}

/** The table in use: shipped, then an import, then the user's overrides. */
export function buildTable(dataDir: string, imported: { from: string; models: Record<string, PriceEntry>; at?: string } | null, extraWarnings: string[] = []): PricingTable {
  const { overrides, warnings } = readOverrides(dataDir);
  const base = shippedTable();
  base.warnings.push(...warnings, ...extraWarnings);
  return applyPricing(base, imported, overrides);
}
