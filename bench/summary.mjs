#!/usr/bin/env node
// Context-transfer summary: LoCoMo retention by category at 800 tokens and at 5/10/15 % of each
// conversation, beside truncation (last turns) and a centroid extractive baseline; probes kept on
// the working conversations; time to summarise the longest (~25k-token) conversation.
//   node bench/summary.mjs            prints the tables
//   node bench/summary.mjs --write    also rewrites the generated section of docs/SUMMARY.md
// No build needed: esbuild bundles test/eval/bench-entry.ts into a temp file first.
import { buildSync } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const dir = mkdtempSync(join(os.tmpdir(), 'vigilo-summary-bench-'));
const out = join(dir, 'entry.cjs');
buildSync({ entryPoints: [join(ROOT, 'test', 'eval', 'bench-entry.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning', define: { __dirname: JSON.stringify(join(ROOT, 'test', 'eval')) } });
const ev = createRequire(import.meta.url)(out);
rmSync(dir, { recursive: true, force: true });

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const samples = ev.loadLocomo();
const ours = (m, b) => ev.summarizeConversation({ conversationId: 'bench', messages: m, budgetTokens: b }).text;
const whole = m => m.map(x => `${x.date ? `${x.date}\n` : ''}${x.speaker}: ${x.content}`).join('\n');
const methods = [
  ['Vigilo summary', ours],
  ['truncation (last turns)', ev.truncation],
  ['centroid (TF-IDF, Radev 2004)', ev.centroid]
];
const budgets = [
  ['800 tokens', () => 800],
  ['5 %', t => Math.round(t * 0.05)],
  ['10 %', t => Math.round(t * 0.1)],
  ['15 %', t => Math.round(t * 0.15)]
];
const cats = [1, 2, 3, 4];
const cell = r => `${ev.pct(r.kept, r.questions).toFixed(1)} %`;
const lines = [];
const wholeR = ev.retention(samples, whole, () => 1e9);
const tokens = samples.map(s => ev.conversationTokens(ev.toMessages(s)));
lines.push(
  `LoCoMo (snap-research/LoCoMo @ 3eb6f2c, data/locomo10.json; ${samples.length} conversations of ${Math.min(...tokens)}–${Math.max(...tokens)} tokens (chars/4), ${wholeR.questions} questions of categories 1–4). ` +
    'A question is kept when every comma/"and"-separated part of its gold answer appears in the text (lower case, punctuation as spaces; the reading that comes nearest the issue\'s figures). ' +
    `The whole conversation (with its session dates) keeps ${cell(wholeR)} (${cats.map(c => `${ev.CATEGORIES[c]} ${cell(wholeR.byCategory[c])}`).join(', ')}); ` +
    `on the stricter reading (the whole answer string in the text) ${ev.pct(wholeR.keptWhole, wholeR.questions).toFixed(1)} %. ` +
    `The summary's weights were tuned on conversations 1–${ev.TUNED_ON} (fixture order); ${ev.TUNED_ON + 1}–${samples.length} are held out.`,
  ''
);
const split = (r, from, to) => cell(r.bySample.slice(from, to).reduce((a, x) => ({ questions: a.questions + x.questions, kept: a.kept + x.kept }), { questions: 0, kept: 0 }));
lines.push(`| method | budget | all (kept) | ${cats.map(c => `${ev.CATEGORIES[c]} (${wholeR.byCategory[c].questions})`).join(' | ')} | tuned on (1–${ev.TUNED_ON}) | held out (${ev.TUNED_ON + 1}–${samples.length}) | whole answer string | largest output (tokens) |`);
lines.push(`|---|---|---|${cats.map(() => '---').join('|')}|---|---|---|---|`);
for (const [name, f] of methods) {
  for (const [label, b] of budgets) {
    const r = ev.retention(samples, f, b);
    lines.push(
      `| ${name} | ${label} | **${cell(r)}** (${r.kept}) | ${cats.map(c => cell(r.byCategory[c])).join(' | ')} | ${split(r, 0, ev.TUNED_ON)} | ${split(r, ev.TUNED_ON)} | ${ev.pct(r.keptWhole, r.questions).toFixed(1)} % | ${r.maxTokens} |`
    );
  }
}
const work = ev.loadWorking();
lines.push('', `Working conversations (${work.map(c => `${c.kind}: ${c.id}`).join('; ')}; sources in test/eval/working.json): probes kept.`, '');
const kinds = ['recall', 'artifact', 'continuation', 'decision'];
lines.push(`| method | budget | all | ${kinds.join(' | ')} |`, `|---|---|---|${kinds.map(() => '---').join('|')}|`);
for (const [name, f] of methods) {
  for (const budget of [400, 800]) {
    const r = ev.probe(work, f, budget);
    lines.push(`| ${name} | ${budget} tokens | **${r.kept}/${r.probes}** | ${kinds.map(k => `${r.byKind[k].kept}/${r.byKind[k].probes}`).join(' | ')} |`);
  }
}
// Time to summarise the longest conversation: median of 7 after 2 warm-ups.
const longest = samples.map(ev.toMessages).sort((a, b) => ev.conversationTokens(b) - ev.conversationTokens(a))[0];
const times = [];
for (let i = 0; i < 9; i++) {
  const s = performance.now();
  ours(longest, 800);
  if (i >= 2) times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
const cpu = process.cpuUsage(cpu0);
const load = os.loadavg().map(x => x.toFixed(2)).join(' ');
lines.push(
  '',
  `Time to summarise the longest conversation (${ev.conversationTokens(longest)} tokens, ${longest.length} turns) at 800 tokens: median ${times[3].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[6].toFixed(0)}) over 7 runs.`,
  `Whole bench: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU of this process; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average ${load}${os.loadavg()[0] > 1.5 ? ' (taken under load: other processes shared the CPUs)' : ''}.`
);
console.log(lines.join('\n'));
if (process.argv.includes('--write')) {
  const file = join(ROOT, 'docs', 'SUMMARY.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench/summary.mjs begin -->';
  const end = '<!-- bench/summary.mjs end -->';
  const at = text.indexOf(begin);
  const to = text.indexOf(end);
  if (at === -1 || to === -1) {
    throw new Error(`docs/SUMMARY.md lacks the ${begin} ... ${end} markers`);
  }
  writeFileSync(file, `${text.slice(0, at + begin.length)}\n${lines.join('\n')}\n${text.slice(to)}`);
}
