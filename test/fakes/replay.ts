import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFake, type FakeServer } from './server';

/** One recorded provider response (test/fixtures/llm-recorded/, built by its build.py). */
export interface RecordedCase {
  id: string;
  provider: 'openai' | 'anthropic' | 'google';
  api: 'chat.completions' | 'responses' | 'messages' | 'generateContent';
  kinds: string[];
  note: string;
  source: { repository: string; path: string; commit: string; interaction: number; recordedUri: string };
  request: { method: string; body: any };
  response: { status: number; contentType: string; bodyFrom: string; body: string };
  expected: {
    pricedAs: string;
    prices: Record<string, number>;
    split: Record<string, number>;
    arithmetic: string;
    costUsd: number;
    /** Reasoning/thinking tokens the response itemises (checked when present). */
    reasoningTokens?: number;
  } | null;
}

const RECORDED_DIR = join(import.meta.dirname, '..', 'fixtures', 'llm-recorded');

export function recordedCases(): RecordedCase[] {
  const out: RecordedCase[] = [];
  for (const provider of ['anthropic', 'openai', 'google']) {
    for (const f of readdirSync(join(RECORDED_DIR, provider)).filter(f => f.endsWith('.json')).sort()) {
      out.push(JSON.parse(readFileSync(join(RECORDED_DIR, provider, f), 'utf8')));
    }
  }
  return out;
}

/**
 * A loopback server that answers every request with one recorded response,
 * byte for byte: its status, its Content-Type and its body as recorded.
 */
export async function startReplay(c: RecordedCase): Promise<FakeServer> {
  const body = Buffer.from(c.response.body, 'utf8');
  return startFake((_req, res) => {
    res.writeHead(c.response.status, { 'content-type': c.response.contentType, 'content-length': body.length });
    res.end(body);
  });
}

/** The model named in a recorded Gemini URI (".../models/gemini-2.5-flash:generateContent"). */
export function geminiModel(uri: string): string {
  return /models\/([^:/?]+)/.exec(uri)?.[1] ?? 'unknown';
}
