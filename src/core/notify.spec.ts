import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../server/alerts/engine';
import { ManualClock } from '../server/core/clock';
import { DEFAULT_NOTIFY_SETTINGS, NotifyPolicy, checkpointClause, composeFact, inQuietHours, ruleOf, type NotifySettings } from './notify';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const settings = (patch: Partial<NotifySettings> = {}): NotifySettings => ({ ...DEFAULT_NOTIFY_SETTINGS, ...patch, rules: { ...DEFAULT_NOTIFY_SETTINGS.rules, ...patch.rules } });

/** The real alert engine feeding the policy, as the notify module wires them. */
function wired(s: NotifySettings, channels = ['a']) {
  const clock = new ManualClock(T0);
  const engine = new AlertEngine({ clock });
  const policy = new NotifyPolicy(s);
  const sent: Array<{ channelId: string; title: string; body: string }> = [];
  const facts = { checkpoint: null as null | { ageS: number; verified: boolean } };
  let active = new Set<string>();
  engine.onAlert(alert => {
    for (const d of policy.offerAlert(alert, facts, channels, clock.now())) if (d.outcome === 'sent') sent.push({ channelId: d.channelId, title: d.message.title, body: d.message.body });
  });
  engine.onActiveChange(() => {
    const now = new Set(engine.active().map(a => `${a.ruleId}\u0000${a.key}`));
    for (const k of active) if (!now.has(k)) policy.cleared(k, clock.now());
    active = now;
  });
  return { clock, engine, policy, sent, facts };
}

describe('notify policy', () => {
  it('a storm of 1,000 flaps of one condition in a minute sends at most the cap (one, with the flap damping; the cap without it)', () => {
    for (const resendAfterClearMin of [15, 0]) {
      const w = wired(settings({ resendAfterClearMin, capPerHour: 6, mergeWindowS: 0 }));
      w.engine.addRule({ id: 'storage.disk', direction: 'above', severity: 'warning', thresholds: [{ value: 85, severity: 'warning' }], hysteresis: 0, message: v => `Disk / is ${v.toFixed(1)} % full. Delete files.` });
      for (let i = 0; i < 1000; i++) {
        w.clock.advance(60);
        w.engine.observe('storage.disk', '/', i % 2 === 0 ? 86 + (i % 7) / 10 : 80);
      }
      expect(w.engine.list({ ruleId: 'storage.disk' }).length).toBeGreaterThanOrEqual(500);
      if (resendAfterClearMin) {
        expect(w.sent).toHaveLength(1);
        expect(w.policy.counts.disk.flapping).toBe(499);
      } else {
        expect(w.sent).toHaveLength(6);
        expect(w.policy.counts.disk.capped).toBe(494);
      }
    }
  });

  it('sends the runtime marks 30 and 10 once each, with the checkpoint age and the action; a late start sends one', () => {
    const w = wired(settings());
    w.engine.addRule({ id: 'session.remaining', direction: 'below', severity: 'info', thresholds: [60, 30, { value: 10, severity: 'warning' }, { value: 5, severity: 'critical' }], hysteresis: 2, message: v => `${v} min` });
    for (const left of [65, 59, 45, 29, 20]) w.engine.observe('session.remaining', 's', left);
    expect(w.sent.map(s => s.body)).toEqual(['Runtime ends in 29 min; no checkpoint: run `vigilo.checkpoint.now()` (or copy your files to Drive) now.']);
    w.facts.checkpoint = { ageS: 240, verified: true };
    for (const left of [9.6, 8, 4, 1]) w.engine.observe('session.remaining', 's', left);
    expect(w.sent.slice(1).map(s => s.body)).toEqual(['Runtime ends in 10 min; last checkpoint 4 min ago, verified; nothing to do.']);

    const late = wired(settings());
    late.engine.addRule({ id: 'session.remaining', direction: 'below', severity: 'info', thresholds: [60, 30, 10, 5], message: v => `${v}` });
    for (const left of [8, 7, 4, 1]) late.engine.observe('session.remaining', 's', left);
    expect(late.sent.map(s => s.title)).toEqual(['Runtime ends in 8 min']);
  });

  it('an old checkpoint asks for a new one; an unverified one says so', () => {
    expect(checkpointClause({ checkpoint: { ageS: 3 * 3600, verified: true } }, 10)).toBe('last checkpoint 3 h ago, verified: run `vigilo.checkpoint.now()`');
    expect(checkpointClause({ checkpoint: { ageS: 60, verified: false } }, 10)).toBe('last checkpoint 1 min ago, not verified: run `vigilo.checkpoint.now()`');
    // Ages read like every other rounded duration (formatApproxDuration): 75 min is "1 h 15 min".
    expect(checkpointClause({ checkpoint: { ageS: 75 * 60, verified: true } }, 10)).toBe('last checkpoint 1 h 15 min ago, verified: run `vigilo.checkpoint.now()`');
  });

  it('merges identical text within the window, counts what the cap held back and says it in the next message', () => {
    const p = new NotifyPolicy(settings({ capPerHour: 2, mergeWindowS: 300 }));
    const fact = (n: number) => ({ type: 'cell-finished' as const, kernelId: 'k', executionCount: n, durationS: 3600, ok: true });
    const out = (ds: ReturnType<NotifyPolicy['offerFact']>) => ds.map(d => d.outcome);
    p.settings = settings({ capPerHour: 2, mergeWindowS: 300, rules: { ...DEFAULT_NOTIFY_SETTINGS.rules, cell: false } });
    expect(out(p.offerFact(fact(1), ['a'], T0))).toEqual(['off']);
    p.settings = settings({ capPerHour: 2, mergeWindowS: 300 });
    expect(out(p.offerFact(fact(1), ['a', 'b'], T0))).toEqual(['sent', 'sent']);
    expect(out(p.offerFact(fact(2), ['a'], T0 + 1000))).toEqual(['sent']);
    expect(out(p.offerFact(fact(3), ['a'], T0 + 2000))).toEqual(['capped']);
    expect(out(p.offerFact(fact(4), ['a'], T0 + 3000))).toEqual(['capped']);
    const later = p.offerFact(fact(5), ['a'], T0 + 3_600_000);
    expect(later[0].outcome).toBe('sent');
    expect(later[0].message.body).toMatch(/\(2 more held back by the limit of 2 messages an hour\.\)$/);
    // The same text twice (two kernels restarting with one message) is one message.
    const q = new NotifyPolicy(settings());
    const alert = (key: string) => ({ ruleId: 'kernel.restarted', key, severity: 'warning' as const, kind: 'event' as const, message: 'Kernel restarted: in-memory state lost.', value: null, threshold: null });
    expect(q.offerAlert(alert('k1'), {}, ['a'], T0).map(d => d.outcome)).toEqual(['sent']);
    expect(q.offerAlert(alert('k2'), {}, ['a'], T0 + 5000).map(d => d.outcome)).toEqual(['merged']);
  });

  it('the cell that ran a finished training loop does not say it again', () => {
    const p = new NotifyPolicy(settings());
    const trained = p.offerFact({ type: 'training-finished', kernelId: 'k', barId: 'tqdm:1', name: 'epochs', n: 10, total: 10, elapsedS: 3600 }, ['a'], T0);
    expect(trained.map(d => d.outcome)).toEqual(['sent']);
    const cell = (kernelId: string, at: number, ok = true) => p.offerFact({ type: 'cell-finished', kernelId, executionCount: 4, durationS: 3700, ok }, ['a'], at)[0].outcome;
    expect(cell('k', T0 + 2000)).toBe('merged');
    expect(cell('other', T0 + 2000)).toBe('sent');
    expect(p.offerFact({ type: 'cell-finished', kernelId: 'k', executionCount: 9, durationS: 3700, ok: false }, ['a'], T0 + 3000)[0].outcome).toBe('sent');
    expect(p.offerFact({ type: 'cell-finished', kernelId: 'k', executionCount: 12, durationS: 3700, ok: true }, ['a'], T0 + 10 * 60_000)[0].outcome).toBe('sent');
  });

  it('quiet hours follow the user zone, cross midnight, and let critical messages through', () => {
    const q = { start: '22:00', end: '07:00', timeZone: 'Asia/Tokyo', allowCritical: true };
    // 09:00 UTC is 18:00 in Tokyo; 23:59 UTC is 08:59 the next morning; 14:00 UTC is 23:00.
    expect(inQuietHours(q, T0)).toBe(false);
    expect(inQuietHours(q, Date.parse('2026-03-02T23:59:00Z'))).toBe(false);
    expect(inQuietHours(q, Date.parse('2026-03-02T14:00:00Z'))).toBe(true);
    const p = new NotifyPolicy(settings({ quietHours: q }));
    const at = Date.parse('2026-03-02T14:00:00Z');
    const oom = (severity: 'warning' | 'critical') => ({ ruleId: 'gpu.oom', key: severity, severity, kind: 'threshold' as const, message: 'VRAM runs out', value: 300, threshold: 600 });
    expect(p.offerAlert(oom('warning'), {}, ['a'], at)[0].outcome).toBe('quiet');
    expect(p.offerAlert(oom('critical'), {}, ['a'], at)[0].outcome).toBe('sent');
  });

  it('maps the engine rules to notify rules; notify failures and resolved alerts never send', () => {
    expect(ruleOf({ ruleId: 'llm.budget.day', kind: 'threshold' })).toBe('spend');
    const spend = (threshold: number) =>
      new NotifyPolicy(settings()).offerAlert({ ruleId: 'llm.budget.day', key: '2026-03-02', severity: 'warning', kind: 'threshold', message: `LLM spend for today (2026-03-02, UTC) reached ${threshold} % of the day budget ($${threshold / 10} of $10; ${threshold} % mark)`, value: threshold, threshold }, {}, ['a'], T0)[0].message;
    expect(spend(80)).toMatchObject({ title: 'LLM spend at 80 % of the day budget', body: expect.stringMatching(/\(\$8 of \$10; 80 % mark\)\. See which conversation costs most in the %vigilo report before it reaches the budget\.$/) });
    expect(spend(100).body).toMatch(/The budget is spent: stop or cheapen the calls, or raise it \(Settings Editor, or PUT \/llm\/budgets\)\.$/);
    expect(ruleOf({ ruleId: 'progress.verdict', kind: 'event', data: { to: 'runs-out' } })).toBe('training');
    expect(ruleOf({ ruleId: 'progress.verdict', kind: 'event', data: { to: 'finishes' } })).toBeNull();
    expect(ruleOf({ ruleId: 'notify.failed', kind: 'event' })).toBeNull();
    expect(ruleOf({ ruleId: 'storage.disk', kind: 'resolved' })).toBeNull();
    expect(composeFact({ type: 'training-finished', kernelId: 'k', barId: 'tqdm:1', name: 'epochs', n: 100, total: 100, elapsedS: 5400 }, DEFAULT_NOTIFY_SETTINGS)?.body).toBe(
      'Training finished: epochs ran 100 of 100 steps in 1 h 30 min. Save the model somewhere durable before the runtime ends.'
    );
    expect(composeFact({ type: 'cell-finished', kernelId: 'k', executionCount: 3, durationS: 60, ok: true }, DEFAULT_NOTIFY_SETTINGS)).toBeNull();
  });
});
