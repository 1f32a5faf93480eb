#!/usr/bin/env node
// Vigilo's cost for every recorded response in test/fixtures/llm-recorded/ (JSON on stdout), with the usage read
// the way the wrappers send it. Used by bench/llm_cost_agreement.py; the replay tests check the real SDK path.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = `
  export { readUsage } from './src/core/llm/usage';
  export { contextWindowFor, lookupPrice, usageCost, tableFromFile } from './src/core/llm/pricing';
  export { importLiteLLM } from './src/core/llm/litellm';
  export { PricingFile } from './src/shared/llm-api';
  import shipped from './data/pricing.json';
  export { shipped };`;
const out = await build({ stdin: { contents: entry, resolveDir: root, loader: 'ts' }, bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error' });
const core = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
const table = core.tableFromFile(core.PricingFile.parse(core.shipped));

function sseData(body) {
  return [...body.matchAll(/^data: ?(.*)$/gm)].map(m => {
    try {
      return JSON.parse(m[1]);
    } catch {
      return null;
    }
  }).filter(Boolean);
}

/** What the wrappers send: usage, and for Anthropic streams every usage-carrying event. */
function wrapperFacts(c) {
  const stream = c.response.contentType.startsWith('text/event-stream');
  if (!stream) {
    const j = JSON.parse(c.response.body);
    return { model: j.model ?? j.modelVersion ?? null, usage: j.usage ?? j.usageMetadata ?? null };
  }
  const events = sseData(c.response.body);
  if (c.provider === 'anthropic') {
    const usageEvents = [];
    let model = null;
    for (const e of events) {
      if (e.type === 'message_start') {
        model = e.message.model;
        usageEvents.push({ type: e.type, usage: e.message.usage ?? {} });
      } else if (e.type === 'message_delta' && e.usage) {
        usageEvents.push({ type: e.type, usage: e.usage });
      }
    }
    return { model, usage: usageEvents[0]?.usage ?? null, usageEvents };
  }
  let usage = null;
  let model = null;
  for (const e of events) {
    const u = e.usage ?? e.usageMetadata ?? e.response?.usage;
    if (u) usage = u;
    model = e.model ?? e.modelVersion ?? e.response?.model ?? model;
  }
  return { model, usage };
}

const rows = [];
for (const provider of ['anthropic', 'openai', 'google']) {
  for (const f of readdirSync(join(root, 'test/fixtures/llm-recorded', provider)).filter(f => f.endsWith('.json')).sort()) {
    const c = JSON.parse(readFileSync(join(root, 'test/fixtures/llm-recorded', provider, f), 'utf8'));
    const facts = wrapperFacts(c);
    const model = facts.model ?? c.request.body?.model ?? /models\/([^:/?]+)/.exec(c.source.recordedUri)?.[1];
    const usage = core.readUsage(c.provider, facts.usage, facts.usageEvents);
    const price = core.lookupPrice(table, c.provider, model);
    rows.push({ id: c.id, provider: c.provider, model, pricedFrom: price?.entry.from ?? null, tokens: usage?.tokens ?? null, vigiloUsd: price && usage ? core.usageCost(price.entry, usage, core.contextWindowFor(price.entry, [], price.key)) : null, handUsd: c.expected?.costUsd ?? null });
  }
}
// Coverage: every chat model of these providers in the LiteLLM file, by its own key, priced by Vigilo at LiteLLM's own input/output rate?
const litellmFile = process.argv[2];
let coverage = null;
if (litellmFile) {
  const file = JSON.parse(readFileSync(litellmFile, 'utf8'));
  const providers = { openai: 'openai', anthropic: 'anthropic', gemini: 'google', 'vertex_ai-language-models': 'google', 'vertex_ai-anthropic_models': 'anthropic', bedrock: 'anthropic', bedrock_converse: 'anthropic', azure: 'openai' };
  const byChannel = {};
  for (const [key, e] of Object.entries(file)) {
    const p = providers[e?.litellm_provider];
    if (!p || !['chat', 'responses', undefined].includes(e.mode) || typeof e.input_cost_per_token !== 'number') continue;
    if ((e.litellm_provider === 'bedrock' || e.litellm_provider === 'bedrock_converse') && !/anthropic\.claude/.test(key)) continue;
    if (e.litellm_provider === 'azure' && !/^azure\/(gpt-|o\d)/.test(key)) continue;
    const ch = (byChannel[e.litellm_provider] ??= { models: 0, priced: 0, sameListPrice: 0 });
    ch.models++;
    const hit = core.lookupPrice(table, p, key);
    if (hit) {
      ch.priced++;
      const same = Math.abs(hit.entry.input - e.input_cost_per_token * 1e6) < 1e-9 && Math.abs(hit.entry.output - (e.output_cost_per_token ?? 0) * 1e6) < 1e-9;
      if (same) ch.sameListPrice++;
    }
  }
  coverage = byChannel;
}
process.stdout.write(JSON.stringify({ rows, coverage, tableModels: Object.keys(table.models).length }, null, 1) + '\n');
