#!/usr/bin/env node
// Runs every benchmark in turn and prints their figures (npm run bench).
// Needs the build (npm run build:node) and, for the Python one, .venv.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const python = join(ROOT, '.venv', 'bin', 'python');
const benches = [
  ['node', ['bench/sidecar.mjs']],
  ['node', ['bench/gpu-reader.mjs']],
  ['node', ['bench/llm-overhead.mjs']],
  ['node', ['bench/llm-ingest.mjs']],
  ['node', ['bench/llm-summary.mjs']],
  [python, ['bench/llm_overhead_python.py']],
  ['node', ['bench/checkpoint.mjs']],
  [python, ['bench/checkpoint_e2e.py']]
];
let failed = 0;
for (const [cmd, args] of benches) {
  if (cmd === python && !existsSync(python)) {
    console.log(`\n## ${args[0]}: skipped, no .venv (run ./scripts/setup.sh)`);
    continue;
  }
  console.log(`\n## ${args.join(' ')}`);
  const run = spawnSync(cmd === 'node' ? process.execPath : cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) {
    failed++;
    console.log(`(exited with ${run.status})`);
  }
}
process.exitCode = failed ? 1 : 0;
