import { closeSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { systemClock } from './core/clock';
import type { SidecarConfig } from './core/context';
import { isLoopbackHost } from './core/security';
import { claimDataDir, type DataDirClaim } from './core/dataDirClaim';
import { DataDirError, ensureDataDir, isPidAlive, newToken, probeSidecar, readDiscovery, removeDiscovery, sidecarStatus, type Discovery } from './core/discovery';
import { dataDirFor } from '../shared/dataDir';
import { fsRoot } from './core/paths';
import { buildOpenApi } from './core/openapi';
import { addNotifyCommand } from './notify/cli';
import { PortInUseError, Sidecar } from './sidecar';
import { VERSION } from './version';

// The bundle's entry is this file: the price-file worker loads the bundle and needs this export.
export { parseLiteLLMText } from './llm/pricingConfig';
import { buildTable } from './llm/pricingConfig';
import { PRICING_TIMEOUT_MS } from './llm/pricingSource';
import { describePricingUpdate, pricingUpdateSource, readPricingUpdate, updatePricing } from './llm/pricingUpdate';

function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

function loopbackArg(value: string): string {
  if (!isLoopbackHost(value.includes(':') && !value.startsWith('[') ? `[${value}]` : value)) {
    throw new InvalidArgumentError('the sidecar binds loopback only: use 127.0.0.1 or ::1.');
  }
  return value;
}

function publicView(d: Discovery): Omit<Discovery, 'token'> {
  const { token: _token, ...rest } = d;
  return rest;
}

interface ServeOptions {
  port: number;
  host: string;
  dataDir?: string;
  interval: number;
  idleInterval: number;
  heartbeat: number;
  json?: boolean;
}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

/** `vigilo serve` exits with this when another live sidecar serves the data dir: it attached instead of starting. */
export const ATTACHED_EXIT = 4;
/** How long a sidecar that lost the claim waits for the holder to answer before it says so (exit 5). */
const HOLDER_WAIT_MS = 30_000;

function attached(existing: Discovery, dataDir: string, options: ServeOptions, io: CliIo): number {
  const line = { event: 'attached', ...publicView(existing) };
  io.out(options.json ? JSON.stringify(line) : `vigilo: a sidecar is already running for ${dataDir} at ${existing.url} (pid ${existing.pid}); attached.`);
  return ATTACHED_EXIT;
}

/** The holder of the data dir's claim, once its sidecar.json answers; null if it does not within `ms` or the claim frees. */
async function awaitHolder(dataDir: string, holderPid: number | null, ms: number): Promise<Discovery | null> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const d = readDiscovery(dataDir);
    if (d && (holderPid === null || d.pid === holderPid) && (await probeSidecar(d, 1000))) {
      return d;
    }
    if (holderPid !== null && !isPidAlive(holderPid)) {
      return null;
    }
    await new Promise(r => setTimeout(r, 50));
  }
  return null;
}

/**
 * SIGTERM, SIGINT and SIGHUP, listened to from the first moment of `serve`: one that
 * arrives while the sidecar is still starting stops it as soon as it listens (before,
 * the handlers came only after the announce line, and a signal in between killed the
 * process without its clean stop).
 */
function stopSignals(): { received: Promise<string>; dispose(): void } {
  let fire: (signal: string) => void = () => undefined;
  const received = new Promise<string>(resolve => (fire = resolve));
  const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map(signal => {
    const handler = (): void => fire(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return { received, dispose: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)) };
}

/**
 * The launcher's pipe (VIGILO_ANNOUNCE_FD, vigilo/_sidecar.py): the announce line, then
 * closed, so that it stops waiting the moment the sidecar listens instead of polling.
 */
export function announceToLauncher(env: NodeJS.ProcessEnv, line: string): void {
  const fd = Number(env.VIGILO_ANNOUNCE_FD);
  // Said once: the number means nothing to the processes this one starts.
  delete env.VIGILO_ANNOUNCE_FD;
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, `${line}\n`);
  } catch {
    // The launcher gave up waiting (its end is closed): it reads sidecar.json instead.
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Not ours after all.
    }
  }
}

/** Start, or attach to the live sidecar of this data dir. Resolves when serving stops. */
async function serve(options: ServeOptions, io: CliIo): Promise<number> {
  const signals = stopSignals();
  try {
    return await serveUntil(options, io, signals.received);
  } finally {
    signals.dispose();
  }
}

async function serveUntil(options: ServeOptions, io: CliIo, stopSignal: Promise<string>): Promise<number> {
  const dataDir = options.dataDir ?? dataDirFor(io.env, homedir());
  const existing = readDiscovery(dataDir);
  if (existing && (await probeSidecar(existing))) {
    return attached(existing, dataDir, options, io);
  }
  // One sidecar per data dir: claim it before opening anything in it; the loser attaches to the winner.
  let claim: DataDirClaim | null = null;
  try {
    ensureDataDir(dataDir);
    for (let tries = 0; claim === null; tries++) {
      const result = await claimDataDir(dataDir);
      if (result.claimed) {
        claim = result.claim;
        break;
      }
      const holder = await awaitHolder(dataDir, result.holderPid, HOLDER_WAIT_MS);
      if (holder) {
        return attached(holder, dataDir, options, io);
      }
      if (tries >= 3 || (result.holderPid !== null && isPidAlive(result.holderPid))) {
        io.err(`vigilo: another sidecar (pid ${result.holderPid ?? 'unknown'}) holds ${dataDir} but did not answer within ${HOLDER_WAIT_MS / 1000} s; stop it (kill ${result.holderPid ?? '<pid>'}) or use another --data-dir.`);
        return 5;
      }
      // The holder died before it answered: claim again.
    }
  } catch (error) {
    if (error instanceof DataDirError) {
      io.err(`vigilo: ${error.message}`);
      return 3;
    }
    throw error;
  }
  const stale = readDiscovery(dataDir);
  if (stale) {
    // Holding the claim, any sidecar.json is a dead sidecar's (its pid gone, or reused by another program).
    io.err(`vigilo: replacing a stale sidecar.json (pid ${stale.pid} ${isPidAlive(stale.pid) ? 'does not answer' : 'is gone'}).`);
    // May fail on a read-only dir; the start below then says so in one line.
    removeDiscovery(dataDir, stale.pid);
  }
  const config: SidecarConfig = {
    host: options.host,
    port: options.port,
    dataDir,
    fsRoot: fsRoot(io.env),
    intervalMs: options.interval,
    idleIntervalMs: options.idleInterval,
    heartbeatIntervalS: options.heartbeat,
    version: VERSION,
    env: io.env
  };
  const token = io.env.VIGILO_TOKEN || newToken();
  const sidecar = new Sidecar({ config, token, clock: systemClock, log: line => io.err(`vigilo: ${line}`) });
  let discovery: Discovery;
  try {
    discovery = await sidecar.start();
  } catch (error) {
    await sidecar.stop();
    await claim.release();
    if (error instanceof PortInUseError) {
      io.err(`vigilo: ${error.message}`);
      return 2;
    }
    if (error instanceof DataDirError) {
      io.err(`vigilo: ${error.message}`);
      return 3;
    }
    throw error;
  }
  const line = { event: 'listening', ...publicView(discovery) };
  io.out(options.json ? JSON.stringify(line) : `vigilo: sidecar ${VERSION} listening on ${discovery.url} (pid ${discovery.pid}); discovery file in ${dataDir}`);
  announceToLauncher(io.env, JSON.stringify(line));

  const signal = await stopSignal;
  io.err(`vigilo: ${signal} received, shutting down`);
  await sidecar.stop();
  await claim.release();
  return 0;
}

/**
 * `vigilo pricing update`: through the running sidecar when there is one (its
 * table changes at once), else directly into the data dir (used at the next start).
 */
async function pricingUpdateCommand(options: { from?: string; dataDir?: string }, io: CliIo): Promise<number> {
  const dataDir = options.dataDir ?? dataDirFor(io.env, homedir());
  const d = readDiscovery(dataDir);
  if (d && (await probeSidecar(d))) {
    const response = await fetch(`${d.url}/llm/pricing/update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(options.from ? { from: options.from } : {}),
      signal: AbortSignal.timeout(PRICING_TIMEOUT_MS + 5000)
    });
    const body = (await response.json().catch(() => ({}))) as { summary?: string; error?: { message?: string }; message?: string };
    if (!response.ok) {
      io.err(`vigilo: ${body.error?.message ?? body.message ?? `the sidecar answered HTTP ${response.status}`}`);
      return 1;
    }
    io.out(body.summary ?? 'Prices updated.');
    return 0;
  }
  const from = pricingUpdateSource(options.from, io.env);
  // The table a sidecar would start with (shipped, the kept update, pricing.json), as llmModule builds it.
  const previous = readPricingUpdate(dataDir).update;
  const current = buildTable(dataDir, previous ? { from: previous.from, models: previous.models, at: previous.fetchedAt } : null).models;
  try {
    const { result } = await updatePricing(dataDir, from, current, new Date());
    io.out(`${describePricingUpdate(result)}\nNo sidecar is running for ${dataDir}: the next one starts with these prices.`);
    return 0;
  } catch (error) {
    io.err(`vigilo: prices not updated (the previous ones are kept): ${(error as Error).message}`);
    return 1;
  }
}

export function buildCli(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('vigilo')
    .description('Vigilo sidecar: watches a notebook runtime (session clocks, GPU/VRAM, storage, quotas) and its LLM calls, and serves them on a loopback REST API.')
    .version(VERSION);

  program
    .command('serve')
    .description('Start the sidecar on 127.0.0.1, or attach to the one already running for this data dir.')
    .option('-p, --port <port>', 'port to listen on; 0 picks a free one', intArg('--port', 0, 65535), 0)
    .option('--host <host>', 'loopback address to bind (127.0.0.1 or ::1)', loopbackArg, '127.0.0.1')
    .option('--data-dir <dir>', 'state directory (default: $VIGILO_DATA_DIR, $XDG_DATA_HOME/vigilo or ~/.local/share/vigilo)')
    .option('--interval <ms>', 'sampling period of the timer collectors while someone watches (the panel, %vigilo, a GET in the last 60 s), in ms', intArg('--interval', 100, 600_000), 2000)
    .option('--idle-interval <ms>', 'their period while no one watches (countdown alerts still fire on time), in ms', intArg('--idle-interval', 100, 600_000), 10_000)
    .option('--heartbeat <s>', 'kernel heartbeat period, in s', intArg('--heartbeat', 1, 3600), 10)
    .option('--json', 'print one JSON line when listening or attached')
    .addHelpText('after', '\nThe token is random per start unless VIGILO_TOKEN is set; clients read it from <data-dir>/sidecar.json (mode 0600).\nExit codes: 0 stopped, 2 port in use, 3 data dir unusable (read-only, full disk, permission denied), 4 attached to the sidecar already serving this data dir (only one may), 5 another sidecar holds the data dir but does not answer.')
    .action(async (options: ServeOptions) => setExit(await serve(options, io)));

  program
    .command('status')
    .description("Print the running sidecar's /status.")
    .option('--data-dir <dir>', 'state directory')
    .action(async (options: { dataDir?: string }) => {
      const dataDir = options.dataDir ?? dataDirFor(io.env, homedir());
      const d = readDiscovery(dataDir);
      // The probe's own answer is the status: one request, not two.
      const status = d ? await sidecarStatus(d) : null;
      if (!status) {
        io.err(`vigilo: no sidecar is running for ${dataDir}. Start one with: vigilo serve`);
        setExit(1);
        return;
      }
      io.out(JSON.stringify(status, null, 2));
      setExit(0);
    });

  program
    .command('stop')
    .description('Stop the running sidecar (SIGTERM) and wait until it removed its discovery file.')
    .option('--data-dir <dir>', 'state directory')
    .action(async (options: { dataDir?: string }) => {
      const dataDir = options.dataDir ?? dataDirFor(io.env, homedir());
      const d = readDiscovery(dataDir);
      // Signal only a pid that answers as this sidecar: a stale file may name a reused pid.
      if (!d || !(await probeSidecar(d))) {
        if (d) {
          removeDiscovery(dataDir, d.pid);
        }
        io.out(d ? `vigilo: no sidecar was running (removed a stale sidecar.json naming pid ${d.pid}).` : 'vigilo: no sidecar was running.');
        setExit(0);
        return;
      }
      process.kill(d.pid, 'SIGTERM');
      for (let i = 0; i < 100 && isPidAlive(d.pid); i++) {
        await new Promise(r => setTimeout(r, 50));
      }
      // Asked once, so the message and the exit code cannot disagree.
      const stopped = !isPidAlive(d.pid);
      io.out(stopped ? `vigilo: stopped pid ${d.pid}.` : `vigilo: pid ${d.pid} did not stop within 5 s.`);
      setExit(stopped ? 0 : 1);
    });

  const pricing = program.command('pricing').description('LLM prices (USD per 1M tokens) the sidecar uses.');
  pricing
    .command('update')
    .description("Fetch LiteLLM's current price file, validate it, use it from now on and say what changed; on any failure the previous prices stay.")
    .option('--from <source>', 'a LiteLLM-format JSON file or http(s) URL (default: $VIGILO_PRICING_URL, else LiteLLM\'s public URL)')
    .option('--data-dir <dir>', 'state directory')
    .action(async (options: { from?: string; dataDir?: string }) => setExit(await pricingUpdateCommand(options, io)));

  addNotifyCommand(program, io, setExit);

  program
    .command('openapi')
    .description('Print the OpenAPI document of the REST API without starting a sidecar.')
    .action(() => {
      const sidecar = new Sidecar({
        config: { host: '127.0.0.1', port: 0, dataDir: dataDirFor(io.env, homedir()), fsRoot: fsRoot(io.env), intervalMs: 2000, heartbeatIntervalS: 10, version: VERSION, env: io.env },
        token: 'unused'
      });
      io.out(JSON.stringify(buildOpenApi(sidecar.modules.flatMap(m => m.routes ?? []), VERSION), null, 2));
      setExit(0);
    });
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const io: CliIo = { out: l => process.stdout.write(l + '\n'), err: l => process.stderr.write(l + '\n'), env: process.env };
  let code = 0;
  await buildCli(io, c => (code = c)).parseAsync(argv);
  process.exitCode = code;
}
