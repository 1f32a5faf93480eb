import { Signal } from '@lumino/signaling';
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../shared/api';

// JupyterLab's Notification and Clipboard need a browser; the fakes are injected below.
vi.mock('@jupyterlab/apputils', () => ({ Notification: {}, Clipboard: {} }));

import { AlertNotifier, copyConversationSummary, WARNING_AUTO_CLOSE_MS, type INotifier } from './notifications';
import { VigiloRequestError } from './request';
import { DEFAULT_SETTINGS, type IVigiloModel, type IVigiloSettings } from './tokens';

function fakeNotifier() {
  return { warning: vi.fn(() => 'w'), error: vi.fn(() => 'e'), success: vi.fn(() => 's') } satisfies INotifier;
}

/** The two members of the model the notifier reads. */
function fakeModel(settings: Partial<IVigiloSettings> = {}) {
  const model = { settings: { ...DEFAULT_SETTINGS, ...settings } } as unknown as IVigiloModel & { settings: IVigiloSettings };
  const alertRaised = new Signal<IVigiloModel, Alert>(model);
  Object.defineProperty(model, 'alertRaised', { value: alertRaised });
  return { model, raise: (alert: Alert) => alertRaised.emit(alert) };
}

const alert = (id: string, severity: Alert['severity'], kind: Alert['kind'] = 'threshold'): Alert => ({
  id,
  ruleId: 'gpu.vram',
  key: '',
  severity,
  kind,
  message: `VRAM at 92 % (${id})`,
  at: '2026-01-01T00:00:00Z',
  value: 92,
  threshold: 90
});

describe('AlertNotifier', () => {
  it('shows a warning alert as a warning notification and a critical one as an error that stays', () => {
    const { model, raise } = fakeModel();
    const notifier = fakeNotifier();
    new AlertNotifier({ model, notifier });
    raise(alert('a', 'warning'));
    raise(alert('b', 'critical'));
    expect(notifier.warning).toHaveBeenCalledWith('Vigilo: VRAM at 92 % (a)', { autoClose: WARNING_AUTO_CLOSE_MS });
    expect(notifier.error).toHaveBeenCalledWith('Vigilo: VRAM at 92 % (b)', { autoClose: false });
  });

  it('notifies each alert id once and leaves info alerts (and resolved ones) to the panel', () => {
    const { model, raise } = fakeModel();
    const notifier = fakeNotifier();
    new AlertNotifier({ model, notifier });
    raise(alert('a', 'warning'));
    raise(alert('a', 'warning'));
    raise(alert('i', 'info'));
    raise(alert('r', 'info', 'resolved'));
    expect(notifier.warning).toHaveBeenCalledTimes(1);
    expect(notifier.error).not.toHaveBeenCalled();
  });

  it('stays quiet while the notifyAlerts setting is off, and speaks again once it is back on', () => {
    const { model, raise } = fakeModel({ notifyAlerts: false });
    const notifier = fakeNotifier();
    new AlertNotifier({ model, notifier });
    raise(alert('a', 'critical'));
    expect(notifier.error).not.toHaveBeenCalled();
    model.settings.notifyAlerts = true;
    raise(alert('b', 'critical'));
    // The alert raised while off is not replayed.
    raise(alert('a', 'critical'));
    expect(notifier.error).toHaveBeenCalledTimes(1);
    expect(notifier.error.mock.calls[0][0]).toContain('(b)');
  });

  it('stops listening when disposed', () => {
    const { model, raise } = fakeModel();
    const notifier = fakeNotifier();
    const subject = new AlertNotifier({ model, notifier });
    subject.dispose();
    raise(alert('a', 'warning'));
    expect(notifier.warning).not.toHaveBeenCalled();
  });
});

describe('copyConversationSummary', () => {
  const summary = (hasContent: boolean) =>
    ({ conversationId: 'c1', text: 'Task: ship it.', hasContent, tokens: 12 }) as any;

  it('copies the summary text and confirms it', async () => {
    const copy = vi.fn(async () => undefined);
    const notifier = fakeNotifier();
    const fetchSummary = vi.fn(async () => summary(true));
    await expect(copyConversationSummary({ fetchSummary }, 'c1', { copy, notifier })).resolves.toBe(true);
    expect(fetchSummary).toHaveBeenCalledWith('c1');
    expect(copy).toHaveBeenCalledWith('Task: ship it.');
    expect(notifier.success.mock.calls[0][0]).toMatch(/Summary of "c1" copied .*system message/);
  });

  it('warns when the conversation had no captured content', async () => {
    const notifier = fakeNotifier();
    await copyConversationSummary({ fetchSummary: async () => summary(false) }, 'c1', { copy: async () => undefined, notifier });
    expect(notifier.success).not.toHaveBeenCalled();
    expect(notifier.warning.mock.calls[0][0]).toMatch(/no captured message content/);
  });

  it('says why when the summary cannot be fetched, and copies nothing', async () => {
    const copy = vi.fn(async () => undefined);
    const notifier = fakeNotifier();
    const fetchSummary = async () => {
      throw new VigiloRequestError(404, 'not_found', 'Unknown conversation c1.');
    };
    await expect(copyConversationSummary({ fetchSummary }, 'c1', { copy, notifier })).resolves.toBe(false);
    expect(copy).not.toHaveBeenCalled();
    expect(notifier.error.mock.calls[0][0]).toMatch(/Unknown conversation c1/);
  });

  it('says so when the clipboard refuses', async () => {
    const notifier = fakeNotifier();
    const copy = async () => {
      throw new Error('Write permission denied.');
    };
    await expect(copyConversationSummary({ fetchSummary: async () => summary(true) }, 'c1', { copy, notifier })).resolves.toBe(false);
    expect(notifier.error.mock.calls[0][0]).toMatch(/clipboard.*Write permission denied/);
  });
});
