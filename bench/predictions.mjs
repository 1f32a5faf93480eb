#!/usr/bin/env node
// The evaluation of Vigilo's predictions (src/core/predictionEval.ts): VRAM traces through the OOM
// predictor and the gpu.oom alert levels, training runs through "will it finish?", the session
// countdown, and the context window's "messages left" on test/eval/conversations.json.
//
//   npx tsc -p tsconfig.node.json && node bench/predictions.mjs [--write]
//
// It also runs bench/predictions_kernel.py (the tqdm hook's cost per update and the heartbeat's size).
//
// --write replaces the "## Predictions" section of docs/BENCHMARKS.md with what it printed.
// src/core/predictionEval.spec.ts holds the same figures to thresholds.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import os from 'node:os';
import { ROOT } from './lib.mjs';
import { machine } from './llm-lib.mjs';

const require = createRequire(import.meta.url);
const ev = require(join(ROOT, 'dist', 'core', 'predictionEval.js'));
const pct = v => (v === null || v === undefined ? '—' : `${Math.round(v * 100)} %`);
const mean = xs => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

const lines = [];
const t0 = performance.now();
const load = os.loadavg();
lines.push(
  `Machine: ${machine()}, load average ${load.map(x => x.toFixed(2)).join(' ')}${load[0] > 1.5 ? ' (kernel-side timings taken under load; the replayed figures do not depend on it)' : ''}. ` +
    'Every trace is replayed sample by sample through the functions the sidecar runs (1 Hz VRAM samples, 10 s heartbeats); noise is seeded, so the figures repeat exactly. ' +
    'No published VRAM time series was found with the `search` tool (public code and pages hold single nvidia-smi readings, not logs), so the VRAM traces are synthetic, shaped after the patterns the issue names.',
  ''
);

lines.push('### OOM prediction: traces that fill the card (T4, 15,360 MiB)', '');
lines.push('Estimate error = |estimated − true time to the limit| / true, at 10 / 25 / 50 % of the way from the start of the ramp (— = no estimate yet). Lead = time from the first gpu.oom alert (10 min / 2 min levels) to the limit.', '');
lines.push('| trace | fills in | error at 10 % | 25 % | 50 % | warning lead |', '|---|---|---|---|---|---|');
const fills = ev.fillingTraces().map(t => ev.scoreVram(t));
for (const s of fills) {
  lines.push(`| ${s.name} | ${s.fillS} s | ${pct(s.errorAt['10'])} | ${pct(s.errorAt['25'])} | ${pct(s.errorAt['50'])} | ${s.leadS === null ? 'none' : `**${s.leadS} s**`} |`);
}
const fast = fills.filter(s => s.fillS >= 90);
lines.push('', `Lead on every trace that takes 90 s or more to fill: min **${Math.min(...fast.map(s => s.leadS ?? -Infinity))} s**.`, '');

lines.push('### OOM prediction: traces that never fill (one hour each)', '');
lines.push(
  'False alarm = a gpu.oom alert raised. Scare text = the GPU card starts showing an OOM time ("VRAM full in ~…" or the tentative "maybe in ~…", src/shared/dashboard.ts `oomSummary`) on a trace that never fills; counted in the first tooth, the second tooth and after the second tooth of a sawtooth (all "after" on a trace without teeth), with the seconds a time stayed shown after the second tooth.',
  ''
);
lines.push('| trace | false alarms | after 1st tooth | scares: 1st tooth | 2nd tooth | after | seconds shown after |', '|---|---|---|---|---|---|---|');
const quiet = ev.quietTraces().map(t => ev.scoreVram(t));
for (const s of quiet) {
  const teeth = /sawtooth|epochs/.test(s.name);
  lines.push(`| ${s.name} | ${s.alerts} | ${teeth ? s.alertsAfterFirstTooth : '—'} | ${teeth ? s.scares.firstTooth : '—'} | ${teeth ? s.scares.secondTooth : '—'} | ${s.scares.after} | ${s.scares.afterSeconds} |`);
}
const totalAlarms = quiet.reduce((a, s) => a + s.alerts, 0);
const totalHours = quiet.reduce((a, s) => a + s.hours, 0);
const saws = quiet.filter(s => /sawtooth|epochs/.test(s.name));
const sawScaresAfter = saws.reduce((a, s) => a + s.scares.secondTooth + s.scares.after, 0);
lines.push(
  '',
  `All quiet traces: **${totalAlarms} false alarms in ${totalHours.toFixed(0)} h** (${(totalAlarms / totalHours).toFixed(2)} per hour), ${quiet.reduce((a, s) => a + s.alertsAfterFirstTooth, 0)} of them after a first tooth. ` +
    `Flat sawtooths (${saws.length}): **${sawScaresAfter} scare texts from the second tooth on**, ${saws.reduce((a, s) => a + s.scares.firstTooth, 0)} in first teeth (a first tooth alone is a ramp).`,
  ''
);

lines.push('### Will it finish? (10 s heartbeats)', '');
lines.push('Finish-time error = |estimated − true time left| / true, 10 % and 25 % into the run. Verdict: at 10 %, against a runtime with 0.8× and 1.25× the true time left, is "runs out" / "finishes" right?', '');
lines.push('| run | duration | error at 10 % | at 25 % | verdict right |', '|---|---|---|---|---|');
const runs = ev.progressTraces().map(t => ev.scoreProgress(t));
for (const s of runs) lines.push(`| ${s.name} | ${Math.round(s.durationS / 60)} min | **${pct(s.errorAt10)}** | ${pct(s.errorAt25)} | ${s.verdictRight}/${s.verdictCases} |`);
lines.push('');

lines.push('### Session countdown', '');
lines.push('Error of the predicted end (start read from the machine + the profile lifetime) against the true end, for a sidecar started late into a 12 h session. The real unknown, whether the platform really ends the session at 12 h, cannot be measured here.', '');
lines.push('| case | start read from | end error |', '|---|---|---|');
for (const [late, boot, readable] of [[0, 120, 'pid1'], [3 * 3600, 120, 'pid1'], [8 * 3600, 900, 'pid1'], [3 * 3600, 900, 'uptime'], [3 * 3600, 120, 'none']]) {
  const s = ev.scoreCountdown(late, boot, readable);
  lines.push(`| ${s.name} | ${s.basis} | ${s.errorS < 1 ? '< 1 s' : `${Math.round(s.errorS / 60)} min`} |`);
}
lines.push('');

lines.push('### Context window: "messages left" (src/core/llm/health.ts)', '');
const set = JSON.parse(readFileSync(join(ROOT, 'test', 'eval', 'conversations.json'), 'utf8'));
const convs = set.conversations.map(c => ev.scoreMessagesLeft(c));
const errs = convs.flatMap(c => c.errors);
const exact = errs.filter(e => e === 0).length;
const within1 = errs.filter(e => e <= 1).length;
lines.push(
  `${convs.length} conversations of test/eval/conversations.json replayed call by call (tokens ≈ chars/4) against a window the whole conversation just fills, so the true "messages left" after each call is known: ` +
    `mean error **${mean(errs).toFixed(2)} messages** over ${errs.length} forecasts, exact ${exact}, within one ${within1} (${Math.round((within1 / errs.length) * 100)} %), worst ${Math.max(...errs)}.`,
  ''
);
lines.push(`Whole evaluation: ${Math.round(performance.now() - t0)} ms.`, '');

// Kernel side: tqdm hook cost and heartbeat size (Python, the project's .venv).
lines.push('### Kernel side: tqdm hook cost and heartbeat size', '');
const python = [join(ROOT, '.venv', 'bin', 'python'), 'python3'].find(p => p === 'python3' || existsSync(p));
const kernel = spawnSync(python, [join(ROOT, 'bench', 'predictions_kernel.py')], { encoding: 'utf8', timeout: 300_000 });
lines.push(kernel.status === 0 ? kernel.stdout.trim() : `not measured: ${python} bench/predictions_kernel.py failed (${(kernel.stderr || kernel.error?.message || '').trim().split('\n').pop()})`);

const text = lines.join('\n');
console.log(text);

if (process.argv.includes('--write')) {
  const file = join(ROOT, 'docs', 'BENCHMARKS.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const heading = '## Predictions';
  const body = `${heading}\n\n\`node bench/predictions.mjs --write\` (after \`npx tsc -p tsconfig.node.json\`) rewrites this section; src/core/predictionEval.spec.ts holds each figure to a threshold.\n\n${text}\n`;
  const start = doc.indexOf(`\n${heading}\n`);
  if (start === -1) {
    doc = `${doc.replace(/\n*$/, '\n')}\n${body}`;
  } else {
    const next = doc.indexOf('\n## ', start + heading.length + 1);
    doc = doc.slice(0, start + 1) + body + (next === -1 ? '' : doc.slice(next));
  }
  writeFileSync(file, doc);
}
