#!/usr/bin/env node
// Fact retention of the offline context-transfer summary on the evaluation set
// (test/eval/conversations.json), at several token budgets.
//   node bench/llm-summary.mjs            prints the table
//   node bench/llm-summary.mjs --write    also rewrites its subsection of docs/BENCHMARKS.md
// No build needed: esbuild bundles src/core/llm/summary.ts into a temp file first.
import { buildSync } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';
import { machine, writeSection } from './llm-lib.mjs';

const dir = mkdtempSync(join(os.tmpdir(), 'vigilo-llm-summary-bench-'));
const out = join(dir, 'summary.cjs');
buildSync({ entryPoints: [join(ROOT, 'src', 'core', 'llm', 'summary.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning' });
const { summarizeConversation } = createRequire(import.meta.url)(out);
rmSync(dir, { recursive: true, force: true });
const set = JSON.parse(readFileSync(join(ROOT, 'test', 'eval', 'conversations.json'), 'utf8'));

function evaluate(budget) {
  let facts = 0, kept = 0, maxTokens = 0, ms = 0;
  const byKind = {};
  const missing = [];
  for (const c of set.conversations) {
    const t0 = performance.now();
    const s = summarizeConversation({ conversationId: c.id, messages: c.messages, budgetTokens: budget });
    ms += performance.now() - t0;
    maxTokens = Math.max(maxTokens, s.tokens);
    const text = s.text.toLowerCase();
    for (const f of c.facts) {
      const k = (byKind[f.kind] ??= { facts: 0, kept: 0 });
      facts++; k.facts++;
      if (text.includes(f.needle.toLowerCase())) { kept++; k.kept++; } else { missing.push(`${c.id}/${f.needle}`); }
    }
  }
  return { budget, facts, kept, byKind, maxTokens, ms, missing };
}

const transcript = Math.round(set.conversations.reduce((a, c) => a + Math.ceil(c.messages.reduce((b, m) => b + m.content.length, 0) / 4), 0) / set.conversations.length);
const results = [80, 120, 200, 400].map(evaluate);
const kinds = ['task', 'decision', 'fact', 'preference'];
const lines = [
  `Machine: ${machine()}. ${set.conversations.length} conversations, ${results[0].facts} planted facts, mean transcript ≈ ${transcript} tokens (chars/4); a fact is kept when its text appears in the summary. The set and the heuristics were written together: read this as a regression figure, not as a general quality claim.`,
  '',
  `| budget (tokens) | facts kept | ${kinds.join(' | ')} | largest summary | time for all |`,
  `|---|---|${kinds.map(() => '---').join('|')}|---|---|`,
  ...results.map(r => `| ${r.budget} | **${r.kept}/${r.facts}** (${Math.round((100 * r.kept) / r.facts)} %) | ${kinds.map(k => `${r.byKind[k].kept}/${r.byKind[k].facts}`).join(' | ')} | ${r.maxTokens} | ${r.ms.toFixed(1)} ms |`),
  '',
  `Missed at ${results[2].budget} tokens: ${results[2].missing.join(', ') || 'none'}.`
];
console.log(lines.join('\n'));
if (process.argv.includes('--write')) {
  writeSection('Context-transfer summary', lines);
}
