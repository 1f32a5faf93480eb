import { buildCli } from '../../src/server/cli';

/** Run `vigilo <args>` in-process (the CLI built as bin/vigilo.js builds it), with what it printed and the exit code it set. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let code = -1;
  await buildCli({ out: l => out.push(l), err: l => err.push(l), env }, c => (code = c)).parseAsync(['node', 'vigilo', ...args]);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
