import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Test helper: run the sidecar CLI (fresh bundle from globalSetup) as a real process. */
export interface RunningCli {
  child: ChildProcess;
  /** First JSON line printed on stdout (listening / attached). */
  announce: Record<string, any>;
  stderr(): string;
  exited: Promise<number | string | null>;
}

export function cliPath(): string {
  const path = process.env.VIGILO_TEST_CLI;
  if (!path) {
    throw new Error('VIGILO_TEST_CLI is not set: run through vitest (test/globalSetup.ts builds it).');
  }
  return path;
}

/** `node`: the Node that runs it (default this one; another one picks that Node's storage engine). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000, node = process.execPath): Promise<RunningCli> {
  const child = spawn(node, ['-e', 'require(process.argv[1]).main(process.argv)', cliPath(), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let err = '';
  child.stderr!.on('data', chunk => (err += String(chunk)));
  // A death by signal resolves to the signal's name, so a test failure says which.
  const exited = new Promise<number | string | null>(resolve => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sidecar did not announce itself within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', line => {
      clearTimeout(timer);
      try {
        resolve({ child, announce: JSON.parse(line), stderr: () => err, exited });
      } catch (error) {
        reject(new Error(`unexpected first line ${JSON.stringify(line)}: ${String(error)}`));
      }
    });
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before announcing; stderr:\n${err}`));
    });
  });
}
