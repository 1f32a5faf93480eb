import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';
import type { Alert } from '../shared/api';
import type { IVigiloModel } from './tokens';

/** The part of JupyterLab's `Notification` API used here (injected in tests). */
export interface INotifier {
  warning(message: string, options?: { autoClose?: number | false }): string;
  error(message: string, options?: { autoClose?: number | false }): string;
  success(message: string, options?: { autoClose?: number | false }): string;
}

/** Warnings close by themselves after this long; critical alerts stay until dismissed. */
export const WARNING_AUTO_CLOSE_MS = 15_000;

/**
 * Turns the model's new alerts into JupyterLab notifications: warnings as
 * `Notification.warning`, critical ones as `Notification.error`, each alert id
 * once; `info` alerts (and "resolved" ones, which are info) stay in the panel
 * only. The `notifyAlerts` setting is read at each alert, so turning it off in
 * the Settings Editor applies at once.
 */
export class AlertNotifier implements IDisposable {
  constructor(options: AlertNotifier.IOptions) {
    this._model = options.model;
    this._notifier = options.notifier ?? Notification;
    this._model.alertRaised.connect(this._onAlert, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.alertRaised.disconnect(this._onAlert, this);
  }

  private _onAlert(_: IVigiloModel, alert: Alert): void {
    if (this._notified.has(alert.id)) {
      return;
    }
    this._notified.add(alert.id);
    if (!this._model.settings.notifyAlerts) {
      return;
    }
    const message = `Vigilo: ${alert.message}`;
    if (alert.severity === 'critical') {
      this._notifier.error(message, { autoClose: false });
    } else if (alert.severity === 'warning') {
      this._notifier.warning(message, { autoClose: WARNING_AUTO_CLOSE_MS });
    }
  }

  private _model: IVigiloModel;
  private _notifier: INotifier;
  private _notified = new Set<string>();
  private _isDisposed = false;
}

export namespace AlertNotifier {
  export interface IOptions {
    model: IVigiloModel;
    /** Defaults to JupyterLab's `Notification`. */
    notifier?: INotifier;
  }
}

/**
 * "Copy summary" on a conversation card: ask the model for the
 * context-transfer summary, put its text on the clipboard and say so.
 * Failures are notifications with the reason, never silent.
 */
export async function copyConversationSummary(
  model: Pick<IVigiloModel, 'fetchSummary'>,
  conversationId: string,
  deps: { copy?: (text: string) => Promise<void>; notifier?: INotifier } = {}
): Promise<boolean> {
  const copy = deps.copy ?? copyText;
  const notifier = deps.notifier ?? Notification;
  let text: string;
  let hasContent: boolean;
  let tokens: number;
  try {
    const summary = await model.fetchSummary(conversationId);
    text = summary.text;
    hasContent = summary.hasContent;
    tokens = summary.tokens;
  } catch (error) {
    notifier.error(
      `Vigilo could not build the summary of "${conversationId}": ${error instanceof Error ? error.message : String(error)}`,
      { autoClose: 10_000 }
    );
    return false;
  }
  try {
    await copy(text);
  } catch (error) {
    notifier.error(
      `Vigilo could not write to the clipboard (${error instanceof Error ? error.message : String(error)}). ` +
        `GET /vigilo/api/llm/conversations/${encodeURIComponent(conversationId)}/summary returns the same text.`,
      { autoClose: 10_000 }
    );
    return false;
  }
  if (hasContent) {
    notifier.success(
      `Summary of "${conversationId}" copied (about ${tokens} tokens). Paste it as the system message of a fresh conversation.`,
      { autoClose: 5000 }
    );
  } else {
    notifier.warning(
      `Copied, but "${conversationId}" has no captured message content, so the summary holds no state. ` +
        'Turn content capture on (unset VIGILO_CAPTURE_CONTENT=0) to get one next time.',
      { autoClose: 10_000 }
    );
  }
  return true;
}

/**
 * The asynchronous Clipboard API where the browser allows it, else
 * JupyterLab's `Clipboard.copyToSystem` (a `copy` event; both need the click
 * that started this to be recent, which a local request is).
 */
export async function copyText(text: string): Promise<void> {
  if (typeof navigator !== 'undefined' && navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Denied (permissions, unfocused page): try the copy event below.
    }
  }
  Clipboard.copyToSystem(text);
}
