// Used by bench/history.mjs (run with the Node under test): `seed <dataDir> <n>` writes n LLM calls
// straight into <dataDir>/llm.sqlite through LlmStore.insert (the same path POST /llm/events takes),
// 5000 per transaction; `check <dataDir> <idsFile>` prints how many of the ids (one per line) are stored.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { LlmStore } = require('../dist/server/store/llmStore.js');

const [mode, dataDir, arg] = process.argv.slice(2);
const DAY = 86_400_000;
const PROVIDERS = ['openai', 'anthropic', 'google'];
const MODELS = { openai: ['gpt-4o-mini', 'gpt-4.1'], anthropic: ['claude-haiku-4-5', 'claude-sonnet-4-5'], google: ['gemini-2.5-flash', 'gemini-2.5-pro'] };

function call(i, n, now) {
  const provider = PROVIDERS[i % 3];
  const model = MODELS[provider][(i >> 2) % 2];
  const conv = i % 2000;
  return {
    id: `seed-${i}`, runId: 'seed-run', provider, operation: 'chat', requestModel: model, responseModel: model, pricedModel: model,
    // Spread over the last 60 days, oldest first, so each conversation grows over time.
    startedAtMs: now - 60 * DAY + Math.floor((i / n) * 60 * DAY), ttftMs: 200 + (i % 50), latencyMs: 800 + (i % 400) + (i % 7) * 10,
    stream: i % 2 === 0, status: i % 97 === 0 ? 'error' : 'ok', errorClass: i % 97 === 0 ? 'RateLimitError' : null, httpStatus: i % 97 === 0 ? 429 : null,
    tokens: { inputTokens: 1000 + (i % 5000), outputTokens: 300, cachedInputTokens: 512, cacheWriteTokens: 0, reasoningTokens: 0 },
    usageEstimated: false, costUsd: 0.0004 + (i % 10) * 0.0001, conversationKey: `conv-${conv}`, fingerprint: null, tags: { bench: '1' },
    messages: i % 3 === 0 ? [{ role: 'user', content: `Question ${i}: what is the capital of France?` }] : null, output: i % 3 === 0 ? 'Paris.' : null,
    sdk: 'python:openai@1.0'
  };
}

const store = new LlmStore(join(dataDir, 'llm.sqlite'));
if (mode === 'seed') {
  const n = Number(arg);
  const now = Date.now();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 5000) {
    store.insert(Array.from({ length: Math.min(5000, n - i) }, (_, k) => call(i + k, n, now)));
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ engine: store.db.engine, rows: n, seconds: s, perSecond: n / s }) + '\n');
} else if (mode === 'check') {
  const ids = readFileSync(arg, 'utf8').split('\n').filter(Boolean);
  let found = 0;
  for (const id of ids) {
    found += store.db.get('SELECT 1 AS x FROM llm_calls WHERE id = ?', [id]) ? 1 : 0;
  }
  process.stdout.write(JSON.stringify({ engine: store.db.engine, acknowledged: ids.length, found }) + '\n');
}
store.close();
