import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * Tests that run the sidecar as a real process use a fresh bundle of the
 * CLI from the current sources (dependencies stay external, resolved from
 * node_modules), so they never depend on a stale dist/.
 */
export default async function setup(): Promise<() => void> {
  const cacheRoot = join(__dirname, '..', 'node_modules', '.cache');
  mkdirSync(cacheRoot, { recursive: true });
  const dir = mkdtempSync(join(cacheRoot, 'vigilo-test-'));
  const outfile = join(dir, 'cli.cjs');
  await build({
    entryPoints: [join(__dirname, '..', 'src', 'server', 'cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    packages: 'external',
    outfile,
    logLevel: 'error'
  });
  process.env.VIGILO_TEST_CLI = outfile;
  // Network rule: no test probes the outside world. A test that wants the
  // internet probe points it at its own loopback server explicitly.
  process.env.VIGILO_INTERNET_PROBE = 'off';
  return () => rmSync(dir, { recursive: true, force: true });
}
