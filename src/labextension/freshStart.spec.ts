import { describe, expect, it, vi } from 'vitest';
import type { ChainLink } from '../shared/transfer-api';

// JupyterLab's Notification needs a browser; the fakes are injected below.
vi.mock('@jupyterlab/apputils', () => ({ Notification: {}, Clipboard: {} }));

import { copyFreshStart, savingText } from './freshStart';

const link: ChainLink = {
  conversationId: 'plan',
  successorId: 'plan~1',
  createdAt: '2026-03-02T12:00:00.000Z',
  previousTokens: 90_300,
  freshTokens: 1_300,
  savedTokensPerMessage: 89_000,
  savedUsdPerMessage: 0.01335,
  summaryMethod: 'extractive'
};
const notifier = () => ({ warning: vi.fn(() => 'w'), error: vi.fn(() => 'e'), success: vi.fn(() => 's') });

describe('Fresh start from the panel', () => {
  it('copies the opening messages as JSON and names the successor and the saving per message', async () => {
    const messages = [
      { role: 'system', content: 'Current task: ...' },
      { role: 'user', content: 'Please continue.' }
    ];
    const copy = vi.fn(async () => undefined);
    const n = notifier();
    const freshStart = vi.fn(async () => ({ link, messages, summary: null }));
    await expect(copyFreshStart({ freshStart }, 'plan', { copy, notifier: n })).resolves.toEqual(link);
    expect(freshStart).toHaveBeenCalledWith('plan');
    expect(JSON.parse((copy.mock.calls[0] as unknown as [string])[0])).toEqual(messages);
    expect(n.success.mock.calls[0][0]).toMatch(/Track the new conversation as "plan~1".*saves 89,000 prompt tokens \(\$0\.013\) per message/);
  });

  it('says why when the sidecar refuses (content not captured), and copies nothing', async () => {
    const copy = vi.fn(async () => undefined);
    const n = notifier();
    const freshStart = vi.fn(async () => {
      throw new Error('Conversation "quiet" was recorded without its content');
    });
    await expect(copyFreshStart({ freshStart }, 'quiet', { copy, notifier: n })).resolves.toBeNull();
    expect(copy).not.toHaveBeenCalled();
    expect(n.error.mock.calls[0][0]).toMatch(/could not prepare a fresh start of "quiet": .*without its content/);
  });

  it('words an unknown saving plainly', () => {
    expect(savingText({ ...link, savedTokensPerMessage: null, savedUsdPerMessage: null })).toMatch(/unknown/);
    expect(savingText({ ...link, savedUsdPerMessage: null })).toBe('saves 89,000 prompt tokens (price unknown) per message');
  });
});
