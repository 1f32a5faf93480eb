import { describe, expect, it } from 'vitest';
import type { ActiveAlert } from '../shared/api';
import { bannerAlerts, renderBanner } from './notifyReport';

const alert = (ruleId: string, severity: ActiveAlert['severity'], message: string, updatedAt = '2026-03-02T09:00:00.000Z'): ActiveAlert => ({
  id: `${ruleId}-${updatedAt}`,
  ruleId,
  key: '',
  severity,
  kind: 'event',
  message,
  at: updatedAt,
  value: null,
  threshold: null,
  raisedAt: updatedAt,
  updatedAt
});

describe('the top of the live report', () => {
  it('puts critical alerts and failed notifications first, never plain warnings, at most three', () => {
    const active = [
      alert('storage.disk', 'warning', 'Disk 86 % full'),
      alert('notify.failed', 'warning', 'Notification to ntfy://ntfy.sh/••• failed'),
      alert('gpu.oom', 'critical', 'VRAM runs out in 1 min', '2026-03-02T09:01:00.000Z'),
      alert('kernel.restarted', 'critical', 'Kernel restarted', '2026-03-02T09:02:00.000Z'),
      alert('session.remaining', 'critical', 'Runtime ends in 4 min', '2026-03-02T08:00:00.000Z')
    ];
    expect(bannerAlerts(active).map(a => a.ruleId)).toEqual(['kernel.restarted', 'gpu.oom', 'session.remaining']);
    const banner = renderBanner(active.slice(0, 2));
    expect(banner.text).toBe(' ! Notification to ntfy://ntfy.sh/••• failed\n\n');
    expect(banner.html).toContain('role="alert"');
  });

  it('with nothing critical: no text, only the opt-in button; an alert text cannot break out of the script', () => {
    const quiet = renderBanner([alert('storage.disk', 'warning', 'Disk 86 % full')]);
    expect(quiet.text).toBe('');
    expect(quiet.html).toContain('Sound on critical alerts: off');
    expect(quiet.html).toContain('var s=document.currentScript');
    const hostile = renderBanner([alert('kernel.restarted', 'critical', '</script><img src=x onerror=alert(1)>')]);
    expect(hostile.html).not.toContain('</script><img');
    expect(hostile.html).toContain('&lt;/script&gt;&lt;img');
    expect(hostile.html).toContain('\\u003c/script>\\u003cimg');
  });
});
