import type { IDisposable } from '@lumino/disposable';
import { requestAPI, VigiloRequestError } from './request';

/** At most one report per this many ms (the sidecar's idle countdown needs no finer grain). */
const ACTIVITY_THROTTLE_MS = 60_000;

/**
 * Tells the sidecar that the user is active (keyboard, cell execution), so
 * its idle countdown (Colab's idle cut-off) starts over. Throttled: the first
 * activity is sent at once, further activity inside the minute is sent once
 * when the minute is over. A 404 (a sidecar without the route) is ignored,
 * as is a sidecar that is not running: activity is a hint, never an error.
 */
export class ActivityReporter implements IDisposable {
  constructor(options: ActivityReporter.IOptions = {}) {
    this._send = options.send ?? (() => requestAPI('api/activity', { method: 'POST', body: JSON.stringify({ source: 'panel' }) }).then(() => undefined));
    this._now = options.now ?? Date.now;
    this._throttleMs = options.throttleMs ?? ACTIVITY_THROTTLE_MS;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether reports are sent; switching it off drops a pending one. */
  set enabled(value: boolean) {
    this._enabled = value;
    if (!value) {
      this._clearTimer();
      this._pending = false;
    }
  }

  get enabled(): boolean {
    return this._enabled;
  }

  /** Record one piece of user activity. */
  notify(): void {
    if (!this._enabled || this._isDisposed) {
      return;
    }
    const wait = this._lastSentAt + this._throttleMs - this._now();
    if (wait <= 0 && this._timer === null) {
      this._flush();
      return;
    }
    this._pending = true;
    if (this._timer === null) {
      this._timer = setTimeout(() => {
        this._timer = null;
        if (this._pending) {
          this._flush();
        }
      }, Math.max(0, wait));
    }
  }

  dispose(): void {
    this._isDisposed = true;
    this._clearTimer();
  }

  private _flush(): void {
    this._pending = false;
    this._lastSentAt = this._now();
    this._send().catch((error: unknown) => {
      // 404: the sidecar has no /activity route yet; 503: no sidecar. Both are fine.
      if (!(error instanceof VigiloRequestError)) {
        console.debug('vigilo: activity report failed', error);
      }
    });
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _send: () => Promise<void>;
  private _now: () => number;
  private _throttleMs: number;
  private _enabled = true;
  private _pending = false;
  private _lastSentAt = -Infinity;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;
}

export namespace ActivityReporter {
  export interface IOptions {
    send?: () => Promise<void>;
    now?: () => number;
    throttleMs?: number;
  }
}

/** Commands that run code: their execution counts as activity. */
export function isExecutionCommand(id: string): boolean {
  return /^(notebook|console|runmenu|editor|fileeditor):run/.test(id) || id === 'notebook:restart-run-all';
}
