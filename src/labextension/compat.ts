import { Notification } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';
import type { IVigiloModel, IVigiloState } from './tokens';

/**
 * Tell the user, once per distinct mismatch, when the sidecar speaks another
 * API version than this frontend, and how to fix it.
 */
export function notifyApiMismatch(model: IVigiloModel): IDisposable {
  let notified: string | null = null;
  const check = (_: unknown, state: IVigiloState): void => {
    const mismatch = state.apiMismatch;
    if (!mismatch) {
      notified = null;
      return;
    }
    const key = `${mismatch.frontend}/${mismatch.sidecar}`;
    if (key === notified) {
      return;
    }
    notified = key;
    const newer = mismatch.sidecar > mismatch.frontend ? 'sidecar' : 'JupyterLab extension';
    Notification.warning(
      `Vigilo: the panel speaks API v${mismatch.frontend} but the running sidecar speaks v${mismatch.sidecar} (the ${newer} is newer). ` +
        'Stop the old sidecar (`%vigilo stop` in a notebook, or `vigilo stop`) and start it again from this install, ' +
        'or upgrade both with `pip install -U vigilo` and reload the page.',
      { autoClose: false }
    );
  };
  model.changed.connect(check);
  check(model, model.state);
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
      model.changed.disconnect(check);
    }
  };
}
