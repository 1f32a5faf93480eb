import { describe, expect, it, vi } from 'vitest';
import { ActivityReporter, isExecutionCommand } from './activity';
import { VigiloRequestError } from './request';

describe('ActivityReporter', () => {
  it('reports the first activity at once and at most once a minute after that', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const send = vi.fn(async () => undefined);
      const reporter = new ActivityReporter({ send, now: () => Date.now(), throttleMs: 60_000 });
      reporter.notify();
      expect(send).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 50; i++) {
        vi.advanceTimersByTime(1000);
        reporter.notify();
      }
      expect(send).toHaveBeenCalledTimes(1);
      // The activity inside the minute is sent once, when the minute is over.
      vi.advanceTimersByTime(10_000);
      expect(send).toHaveBeenCalledTimes(2);
      // Nothing pending: no further report.
      vi.advanceTimersByTime(200_000);
      expect(send).toHaveBeenCalledTimes(2);
      reporter.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores a sidecar without the /activity route (404) and sends nothing when switched off', async () => {
    const send = vi.fn(async () => {
      throw new VigiloRequestError(404, 'not_found', 'No endpoint POST /activity');
    });
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    const reporter = new ActivityReporter({ send, throttleMs: 0 });
    reporter.notify();
    await Promise.resolve();
    expect(send).toHaveBeenCalledTimes(1);
    expect(debug).not.toHaveBeenCalled();
    reporter.enabled = false;
    reporter.notify();
    expect(send).toHaveBeenCalledTimes(1);
    reporter.dispose();
    debug.mockRestore();
  });

  it('counts code execution commands as activity, not other commands', () => {
    expect(isExecutionCommand('notebook:run-cell-and-select-next')).toBe(true);
    expect(isExecutionCommand('notebook:run-all-cells')).toBe(true);
    expect(isExecutionCommand('console:run-forced')).toBe(true);
    expect(isExecutionCommand('docmanager:save')).toBe(false);
    expect(isExecutionCommand('vigilo:open-panel')).toBe(false);
  });
});
