// Messages per notify rule in an 8-hour simulated session (issue 19): are the defaults noisy?
//
//   npx tsc -p tsconfig.node.json && node bench/notify-session.mjs [--seed 1]
//
// Replays, on an injected clock sampled every 5 s, what the sidecar's collectors observe,
// through the sidecar's real alert engine (dist/server/alerts/engine.js, with the same rule
// levels the modules register), the real OOM predictor (dist/core/oom.js) and the real notify
// rules (dist/core/notify.js) with their defaults, to one channel:
//   - a Colab runtime that started 4 h before (12 h lifetime): it ends at 8 h;
//   - VRAM: a 2-hour ramp from 4 to 15.8 GiB of 16 (then the user restarts), then a training
//     sawtooth for 6 h (12 → 14.7 GiB and back every 40 s, with noise);
//   - LLM spend: $0.025 a minute against a $10 day budget and a $5 session budget;
//   - disk: 55 % → 90 % over the session; the user is active every 20 min for 5 h, then away.
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, cliArgs } from './lib.mjs';

const require = createRequire(import.meta.url);
const { AlertEngine } = require(join(ROOT, 'dist/server/alerts/engine.js'));
const { predictOom, oomAlertValue, OOM_ALERT_LEVELS } = require(join(ROOT, 'dist/core/oom.js'));
const { NotifyPolicy, DEFAULT_NOTIFY_SETTINGS, NOTIFY_RULES } = require(join(ROOT, 'dist/core/notify.js'));

const args = cliArgs();
let seed = Number(args.seed ?? 1);
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

const T0 = Date.parse('2026-03-02T09:00:00Z');
let now = T0;
const clock = { now: () => now };
const engine = new AlertEngine({ clock });
const policy = new NotifyPolicy(DEFAULT_NOTIFY_SETTINGS);
const sent = [];
const raised = Object.fromEntries(NOTIFY_RULES.map(r => [r, 0]));
let active = new Set();
engine.onAlert(alert => {
  const decisions = policy.offerAlert(alert, { checkpoint: null }, ['phone'], now);
  if (decisions.length) raised[decisions[0].message.rule]++;
  for (const d of decisions) if (d.outcome === 'sent') sent.push({ at: now, rule: d.message.rule, title: d.message.title });
});
engine.onActiveChange(() => {
  const current = new Set(engine.active().map(a => `${a.ruleId}\u0000${a.key}`));
  for (const k of active) if (!current.has(k)) policy.cleared(k, now);
  active = current;
});

// The levels the sidecar's modules register (session, idle, gpu, storage, llm budget).
engine.addRule({ id: 'session.remaining', direction: 'below', severity: 'info', thresholds: [60, 30, { value: 10, severity: 'warning' }, { value: 5, severity: 'critical' }], hysteresis: 2, message: v => `${Math.round(v)} min` });
engine.addRule({ id: 'idle.remaining', direction: 'below', severity: 'warning', thresholds: [15, { value: 5, severity: 'critical' }], hysteresis: 2, message: v => `idle cut-off in ${Math.round(v)} min` });
engine.addRule({ id: 'gpu.vram', direction: 'above', severity: 'warning', thresholds: [{ value: 90, severity: 'warning' }, { value: 95, severity: 'critical' }], hysteresis: 3, message: v => `VRAM ${v.toFixed(1)} %` });
engine.addRule({ id: 'gpu.oom', direction: 'below', severity: 'warning', thresholds: OOM_ALERT_LEVELS.levels, hysteresis: OOM_ALERT_LEVELS.hysteresis, unknownClears: true, message: v => `OOM in ${Math.round(v / 60)} min` });
engine.addRule({ id: 'storage.disk', direction: 'above', severity: 'warning', thresholds: [{ value: 85, severity: 'warning' }, { value: 95, severity: 'critical' }], hysteresis: 2, message: v => `disk ${v.toFixed(1)} %` });
const budget = [{ value: 50, severity: 'info' }, { value: 80, severity: 'warning' }, { value: 100, severity: 'critical' }];
engine.addRule({ id: 'llm.budget.day', direction: 'above', severity: 'warning', thresholds: budget, message: v => `day ${v.toFixed(0)} %` });
engine.addRule({ id: 'llm.budget.session', direction: 'above', severity: 'warning', thresholds: budget, message: v => `session ${v.toFixed(0)} %` });

const STEP = 5_000;
const HOURS = 8;
const totalMiB = 16_384;
const vram = [];
let lastActivity = T0;
const started = performance.now();
for (let t = 0; t <= HOURS * 3_600_000; t += STEP) {
  now = T0 + t;
  const h = t / 3_600_000;
  // VRAM
  let used;
  if (h < 2) used = 4096 + (16_180 - 4096) * (h / 2) + (rand() - 0.5) * 60;
  else {
    const phase = ((t - 2 * 3_600_000) % 40_000) / 40_000;
    used = 12_288 + (15_053 - 12_288) * phase + (rand() - 0.5) * 80;
  }
  if (h >= 2 && vram.length && vram[vram.length - 1].tMs < T0 + 2 * 3_600_000) vram.length = 0; // the restart frees everything
  vram.push({ tMs: now, usedMiB: Math.min(totalMiB, used) });
  while (vram.length && vram[0].tMs < now - 300_000) vram.shift();
  engine.observe('gpu.vram', 'GPU-0', (used / totalMiB) * 100);
  engine.observe('gpu.oom', 'GPU-0', oomAlertValue(predictOom(vram, totalMiB)));
  // Runtime: 12 h lifetime, started 4 h before the session.
  engine.observe('session.remaining', 'session', Math.max(0, (12 * 3600 - 4 * 3600 - t / 1000) / 60));
  // Idle: activity every 20 min until 5 h, then away (90 min cut-off).
  if (h < 5 && t % 1_200_000 === 0) lastActivity = now;
  engine.observe('idle.remaining', 'idle', Math.max(0, 90 - (now - lastActivity) / 60_000));
  // Disk and spend.
  engine.observe('storage.disk', '/', 55 + (90 - 55) * (h / HOURS));
  const spend = 0.025 * (t / 60_000);
  engine.observe('llm.budget.day', '2026-03-02', (spend / 10) * 100);
  engine.observe('llm.budget.session', 'run', (spend / 5) * 100);
  if (t % 60_000 === 0) engine.expireEvents();
}
const wallMs = performance.now() - started;

const rows = NOTIFY_RULES.map(rule => {
  const c = policy.counts[rule];
  const held = Object.entries(c).filter(([k]) => k !== 'sent').map(([k, v]) => `${k} ${v}`).join(', ');
  return { rule, alerts: raised[rule], sent: c.sent ?? 0, held: held || '-' };
});
console.log(`notify-session: 8 h simulated (${(HOURS * 3600) / (STEP / 1000)} samples of every rule), defaults, one channel; ${wallMs.toFixed(0)} ms wall; loadavg ${loadavg().map(l => l.toFixed(2)).join(' ')}`);
console.log('| rule | alerts offered | messages sent | held back (why) |');
console.log('|---|---:|---:|---|');
for (const r of rows) console.log(`| ${r.rule} | ${r.alerts} | ${r.sent} | ${r.held} |`);
console.log(`| **all** | ${rows.reduce((a, r) => a + r.alerts, 0)} | ${sent.length} | |`);
console.log(`\nAlert engine history: gpu.vram crossings ${engine.list({ ruleId: 'gpu.vram' }).length} (not a notify rule), gpu.oom ${engine.list({ ruleId: 'gpu.oom' }).length}.`);
console.log('Messages:');
for (const s of sent) console.log(`  ${((s.at - T0) / 3_600_000).toFixed(2).padStart(5)} h  ${s.rule.padEnd(8)} ${s.title}`);
