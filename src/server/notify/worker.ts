/**
 * The delivery worker's process: `python -m vigilo.notify_worker` (Apprise),
 * started on the first message, spoken to in JSON lines over its stdin/stdout
 * (vigilo/notify_worker.py says the protocol). It lives beside the sidecar, so
 * neither a busy kernel nor a slow service touches the event loop: the sidecar
 * only writes a line and later reads one. A worker that exits is started again
 * with backoff; what it had in flight is answered as failed (the delivery
 * queue retries).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SendRequest {
  url: string;
  title: string;
  body: string;
  severity: string;
  timeoutS: number;
}

export interface SendResult {
  ok: boolean;
  ms: number;
  error: string | null;
}

export interface WorkerState {
  state: 'idle' | 'starting' | 'running' | 'unavailable' | 'restarting';
  pid: number | null;
  python: string | null;
  apprise: string | null;
  reason: string | null;
  fix: string | null;
}

export interface WorkerOptions {
  /** The interpreter (VIGILO_PYTHON, or the one `%vigilo notify add` recorded, else python3). */
  python: () => string;
  env: NodeJS.ProcessEnv;
  log(line: string): void;
  /** Text from the worker is scrubbed of secrets before it is kept or logged. */
  scrub(text: string): string;
  /** Extra time past a request's own timeout before it is called lost (ms). */
  graceMs?: number;
}

export const INSTALL_FIX = "pip install 'vigilo[notify]'   (in the notebook: %pip install 'vigilo[notify]')";

interface InFlight {
  resolve(result: SendResult): void;
  timer: NodeJS.Timeout;
  startedAt: number;
}

export class NotifyWorker {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly inFlight = new Map<string, InFlight>();
  private seq = 0;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Resolves when the restart delay is over (a send during it waits instead of failing at once). */
  private restartWait: Promise<void> | null = null;
  private restartResolve: (() => void) | null = null;
  private stopped = false;
  private info: WorkerState = { state: 'idle', pid: null, python: null, apprise: null, reason: null, fix: null };
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: WorkerOptions) {}

  state(): WorkerState {
    return { ...this.info };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One delivery attempt. Never rejects: a failure is a result. */
  async send(request: SendRequest): Promise<SendResult> {
    if (this.restartWait) await this.restartWait;
    return this.sendNow(request);
  }

  private sendNow(request: SendRequest): Promise<SendResult> {
    if (this.info.state === 'unavailable' && this.info.apprise === null && this.info.reason) {
      return Promise.resolve({ ok: false, ms: 0, error: `${this.info.reason} Fix: ${this.info.fix ?? ''}`.trim() });
    }
    const child = this.ensure();
    if (!child) {
      return Promise.resolve({ ok: false, ms: 0, error: this.info.reason ?? 'the delivery worker is not running' });
    }
    const id = `n${++this.seq}`;
    return new Promise<SendResult>(resolve => {
      const timer = setTimeout(() => this.finish(id, { ok: false, ms: request.timeoutS * 1000, error: `no answer from the delivery worker within ${request.timeoutS} s` }), request.timeoutS * 1000 + (this.options.graceMs ?? 10_000));
      timer.unref();
      this.inFlight.set(id, { resolve, timer, startedAt: Date.now() });
      child.stdin.write(JSON.stringify({ op: 'send', id, ...request }) + '\n');
    });
  }

  /** Start it now (a channel exists: the first message should not wait for Apprise's import). */
  warm(): void {
    this.ensure();
  }

  /** After a fix (Apprise installed, another interpreter recorded): forget the verdict and start afresh. */
  retry(): void {
    if (this.info.state !== 'unavailable' && this.info.state !== 'restarting') return;
    this.clearRestart();
    const child = this.child;
    this.child = null;
    child?.kill('SIGTERM');
    this.set({ state: 'idle', pid: null, python: null, apprise: null, reason: null, fix: null });
    this.ensure();
  }

  /** Start the process if it is not running; null when it cannot be started now. */
  private ensure(): ChildProcessWithoutNullStreams | null {
    if (this.child || this.stopped) return this.child;
    if (this.restartTimer) return null;
    const python = this.options.python();
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(python, ['-u', '-m', 'vigilo.notify_worker'], { env: { ...this.options.env, PYTHONUNBUFFERED: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      this.set({ state: 'unavailable', pid: null, python, apprise: null, reason: `cannot start ${python}: ${String(error)}`, fix: 'set VIGILO_PYTHON to a Python with vigilo installed' });
      return null;
    }
    this.child = child;
    this.set({ state: 'starting', pid: child.pid ?? null, python, apprise: null, reason: null, fix: null });
    child.stdin.on('error', () => undefined);
    createInterface({ input: child.stdout }).on('line', line => this.onLine(line));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', error => {
      this.set({ ...this.info, state: 'unavailable', reason: `cannot start ${python}: ${error.message}`, fix: 'set VIGILO_PYTHON to a Python with vigilo installed' });
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      const why = this.options.scrub(stderr.trim().split('\n').slice(-1)[0] ?? '');
      for (const id of [...this.inFlight.keys()]) this.finish(id, { ok: false, ms: 0, error: `the delivery worker exited (${signal ?? `code ${code}`})` });
      if (this.stopped) {
        this.set({ ...this.info, state: 'idle', pid: null });
        return;
      }
      const noModule = /No module named '?vigilo/.test(stderr);
      this.options.log(`notify: delivery worker ${python} exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
      if (noModule) {
        this.set({ ...this.info, state: 'unavailable', pid: null, reason: `${python} has no vigilo package`, fix: 'set VIGILO_PYTHON to the Python that has vigilo (the kernel\'s), or run %vigilo notify add in the notebook' });
      }
      // Start again with backoff (1 s, 2 s, 4 s … 60 s); the next send after that starts it.
      const delay = Math.min(60_000, 1000 * 2 ** Math.min(this.restarts++, 6));
      if (!noModule) this.set({ ...this.info, state: 'restarting', pid: null });
      this.restartWait = new Promise<void>(resolve => {
        this.restartResolve = resolve;
        this.restartTimer = setTimeout(() => this.clearRestart(), delay);
        this.restartTimer.unref();
      });
    });
    return child;
  }

  /** Cancel a pending restart delay; whoever waits on it goes on at once. */
  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.restartWait = null;
    this.restartResolve?.();
    this.restartResolve = null;
  }

  private onLine(line: string): void {
    let message: { op?: string; id?: string; ok?: boolean; ms?: number; error?: string | null; apprise?: string | null; python?: string };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.op === 'hello') {
      if (message.apprise) {
        this.restarts = 0;
        this.set({ ...this.info, state: 'running', apprise: message.apprise, reason: null, fix: null });
      } else {
        this.set({ ...this.info, state: 'unavailable', apprise: null, reason: `Apprise is not installed for ${this.info.python}: notifications cannot be delivered.`, fix: INSTALL_FIX });
      }
    } else if (message.op === 'result' && message.id) {
      this.finish(message.id, { ok: Boolean(message.ok), ms: Number(message.ms ?? 0), error: message.ok ? null : this.options.scrub(String(message.error ?? 'failed')) });
    }
  }

  private finish(id: string, result: SendResult): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.inFlight.delete(id);
    entry.resolve(result);
  }

  private set(next: WorkerState): void {
    this.info = next;
    for (const l of this.listeners) l();
  }

  /** Close stdin (the worker finishes what it holds and exits), kill it after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    this.clearRestart();
    const child = this.child;
    if (!child) return;
    await new Promise<void>(resolve => {
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.stdin.end();
    });
    for (const id of [...this.inFlight.keys()]) this.finish(id, { ok: false, ms: 0, error: 'the sidecar stopped' });
  }
}
