/**
 * One long-lived `nvidia-smi --query-gpu=… -lms N` child per sidecar, read
 * line by line as it streams. It is restarted with capped exponential backoff
 * when it exits; a watchdog kills it when no valid line came for
 * `watchdogFactor` × interval (a hung driver); garbage lines are counted and
 * reported, never thrown. Per-process VRAM comes from a short-lived
 * `--query-compute-apps` spawn with a timeout, at a slower rate.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { APPS_QUERY_FIELDS, GPU_QUERY_FIELDS, parseComputeAppLine, parseGpuLine, type ComputeAppRow, type GpuRow } from '../../core/nvidiaSmi';
import type { Clock } from '../core/clock';

export type ReaderStatus = 'starting' | 'streaming' | 'hung' | 'restarting' | 'unavailable' | 'stopped';

export interface ReaderState {
  status: ReaderStatus;
  reason: string | null;
  command: string | null;
  pid: number | null;
  /** Times the child was (re)started. */
  starts: number;
  /** Exits and watchdog kills. */
  failures: number;
  garbageLines: number;
  lastGarbage: string | null;
  lastLineAt: string | null;
  nextRestartInMs: number | null;
}

export interface ReaderOptions {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  intervalMs: number;
  /** First restart delay; doubles per consecutive failure up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** No valid line for this many intervals → hung (default 5). */
  watchdogFactor?: number;
  /** Starts the child (default child_process.spawn); tests pass a fake to drive failures without processes. */
  spawn?: typeof spawn;
  onBatch(rows: GpuRow[], atMs: number): void;
  onState(state: ReaderState): void;
  log?(line: string): void;
}

export const NOT_FOUND_REASON = 'nvidia-smi not found on PATH (no NVIDIA driver?)';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** VIGILO_NVIDIA_SMI, else `nvidia-smi` on the PATH of `env`. */
export function resolveNvidiaSmi(env: NodeJS.ProcessEnv): { path: string } | { reason: string } {
  if (env.VIGILO_NVIDIA_SMI) {
    return isExecutable(env.VIGILO_NVIDIA_SMI) ? { path: env.VIGILO_NVIDIA_SMI } : { reason: `VIGILO_NVIDIA_SMI=${env.VIGILO_NVIDIA_SMI} is not an executable file` };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'nvidia-smi'))) {
      return { path: join(dir, 'nvidia-smi') };
    }
  }
  return { reason: NOT_FOUND_REASON };
}

function printable(line: string): string {
  return line.replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
}

export class NvidiaSmiReader {
  private child: ChildProcess | null = null;
  private state: ReaderState = { status: 'starting', reason: null, command: null, pid: null, starts: 0, failures: 0, garbageLines: 0, lastGarbage: null, lastLineAt: null, nextRestartInMs: null };
  private consecutiveFailures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private batch: GpuRow[] = [];
  private lastValidMs = 0;
  private childStartedMs = 0;
  private stopped = true;
  private path: string | null = null;
  private lastStderr = '';

  constructor(private readonly options: ReaderOptions) {}

  get current(): ReaderState {
    return { ...this.state };
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  /** The hang watchdog ticks only while nvidia-smi runs: a machine without it has no timer waking every second. */
  private armWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => this.checkHung(), Math.max(10, this.options.intervalMs));
    this.watchdog.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.restartTimer = null;
    this.watchdog = null;
    this.kill();
    this.setState({ status: 'stopped', reason: 'sidecar stopping', pid: null, nextRestartInMs: null });
  }

  /** One `--query-compute-apps` run with a timeout; [] when nothing runs on the GPU. */
  computeApps(timeoutMs = 5000): Promise<{ rows: ComputeAppRow[]; garbage: number }> {
    const path = this.path;
    if (!path) {
      return Promise.resolve({ rows: [], garbage: 0 });
    }
    return new Promise((resolve, reject) => {
      execFile(
        path,
        [`--query-compute-apps=${APPS_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
        { env: this.options.env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
        (error, stdout) => {
          if (error) {
            reject(new Error((error as NodeJS.ErrnoException & { killed?: boolean }).killed ? `nvidia-smi --query-compute-apps timed out after ${timeoutMs} ms` : `nvidia-smi --query-compute-apps failed: ${error.message.split('\n')[0]}`));
            return;
          }
          const rows: ComputeAppRow[] = [];
          let garbage = 0;
          for (const line of stdout.split('\n')) {
            if (!line.trim()) continue;
            const parsed = parseComputeAppLine(line);
            if (parsed.ok) rows.push(parsed.row);
            else garbage++;
          }
          resolve({ rows, garbage });
        }
      );
    });
  }

  /** Apply a patch; listeners hear only of a real change (every field is a primitive, so `!==` is exact). */
  private setState(patch: Partial<ReaderState>): void {
    const changed = (Object.keys(patch) as Array<keyof ReaderState>).some(k => patch[k] !== this.state[k]);
    this.state = { ...this.state, ...patch };
    if (changed) {
      this.options.onState(this.current);
    }
  }

  private launch(): void {
    if (this.stopped) return;
    const resolved = resolveNvidiaSmi(this.options.env);
    if ('reason' in resolved) {
      // Look again later (a driver may appear), at the slow end of the backoff.
      this.path = null;
      this.setState({ status: 'unavailable', reason: resolved.reason, command: null, pid: null });
      this.scheduleRestart(this.options.maxBackoffMs ?? 30_000);
      return;
    }
    this.path = resolved.path;
    const args = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(Math.max(1, Math.round(this.options.intervalMs)))];
    let child: ChildProcess;
    try {
      child = (this.options.spawn ?? spawn)(resolved.path, args, { env: this.options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      this.fail(`could not start nvidia-smi: ${String(error)}`);
      return;
    }
    this.child = child;
    this.childStartedMs = this.options.clock.now();
    this.armWatchdog();
    this.lastStderr = '';
    this.setState({ status: this.state.status === 'streaming' ? 'streaming' : 'starting', command: `${resolved.path} ${args.join(' ')}`, pid: child.pid ?? null, starts: this.state.starts + 1, nextRestartInMs: null });
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    lines.on('line', line => this.onLine(line));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.lastStderr = (this.lastStderr + chunk.toString('utf8')).slice(-400);
    });
    child.on('error', error => {
      if (this.child === child) {
        this.child = null;
        this.fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? NOT_FOUND_REASON : `nvidia-smi failed: ${error.message}`);
      }
    });
    child.on('exit', (code, signal) => {
      lines.close();
      if (this.child !== child) return; // killed on purpose (watchdog/stop): already handled
      this.child = null;
      const said = printable(this.lastStderr.trim().split('\n').pop() ?? '');
      this.fail(`nvidia-smi exited (${signal ? `signal ${signal}` : `code ${code}`})${said ? `: ${said}` : ''}`);
    });
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    const parsed = parseGpuLine(line);
    if (!parsed.ok) {
      this.setState({ garbageLines: this.state.garbageLines + 1, lastGarbage: printable(line) });
      return;
    }
    // A row whose index is already in the batch starts the next batch.
    if (this.batch.some(r => r.index === parsed.row.index)) {
      this.flush();
    }
    this.batch.push(parsed.row);
    this.lastValidMs = this.options.clock.now();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // The rows of one batch arrive in one chunk; flush when the chunk has been read.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const rows = this.batch;
    this.batch = [];
    const now = this.options.clock.now();
    this.consecutiveFailures = 0;
    this.setState({ status: 'streaming', reason: null, lastLineAt: new Date(now).toISOString() });
    this.options.onBatch(rows, now);
  }

  private checkHung(): void {
    if (this.stopped || !this.child) {
      if (this.watchdog) clearInterval(this.watchdog);
      this.watchdog = null;
      return;
    }
    const now = this.options.clock.now();
    const limit = this.options.intervalMs * (this.options.watchdogFactor ?? 5);
    const since = Math.max(this.lastValidMs, this.childStartedMs);
    if (now - since > limit) {
      const child = this.child;
      this.child = null;
      child.kill('SIGKILL');
      const garbage = this.state.lastGarbage && this.state.garbageLines > 0 ? ` (it printed only lines Vigilo cannot read, e.g. "${this.state.lastGarbage}")` : '';
      this.fail(`nvidia-smi printed no GPU line for ${Math.round((now - since) / 1000)} s${garbage || ' (hung driver?)'}; restarting it`, 'hung');
    }
  }

  private fail(reason: string, status: ReaderStatus = 'restarting'): void {
    this.state.failures++;
    this.consecutiveFailures++;
    const initial = this.options.initialBackoffMs ?? 1000;
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, initial * 2 ** (this.consecutiveFailures - 1));
    const unavailable = reason === NOT_FOUND_REASON;
    this.setState({ status: unavailable ? 'unavailable' : status, reason: unavailable ? reason : `${reason}; retry in ${Math.round(delay / 100) / 10} s`, pid: null, failures: this.state.failures });
    this.scheduleRestart(delay);
  }

  private scheduleRestart(delay: number): void {
    if (this.stopped) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.setState({ nextRestartInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.launch();
    }, delay);
    this.restartTimer.unref();
  }

  private kill(): void {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
    }
  }
}
