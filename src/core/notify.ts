/**
 * What reaches the user who is not looking (issue 19): which alert becomes a
 * phone / chat / e-mail message, when, and with which words. Pure: alerts and
 * facts in, messages out, time passed in. The sidecar's notify module feeds it
 * (src/server/notify/module.ts); a Python worker delivers (vigilo/notify_worker.py).
 *
 * Guards against noise, in this order, for each message and channel:
 *  1. the rule is on (`settings.rules`),
 *  2. dedup: a condition (alert rule + key) sent once is not sent again until it
 *     clears, and a condition that re-raises within `resendAfterClearMin` of its
 *     last message stays quiet (a flapping value is one message),
 *  3. quiet hours (optional; critical messages pass unless told otherwise),
 *  4. identical text to the same channel within `mergeWindowS` is merged (counted, sent once),
 *  5. at most `capPerHour` messages per channel in any sliding hour; what the cap holds
 *     back is counted and said in the next message that goes out.
 */
import type { Alert } from '../shared/api';
import { formatApproxDuration } from '../shared/format';
import { NOTIFY_RULES } from '../shared/notify-api';
import { oomMinutesLeft } from './oom';

export type NotifyRule = (typeof NOTIFY_RULES)[number];

export const NOTIFY_RULE_TEXT: Record<NotifyRule, string> = {
  runtime: 'Runtime ending (at the marks, with the last checkpoint)',
  idle: 'Idle cut-off approaching',
  oom: 'GPU out of memory predicted (with the lead time)',
  disk: 'Disk or Kaggle output folder near its limit',
  checkpoint: 'Checkpoint failed, or saved after a warning',
  training: 'Training finished, or predicted not to finish before the runtime ends',
  cell: 'A long cell finished (over the set minutes)',
  spend: 'LLM spend at 50 / 80 / 100 % of a budget',
  kernel: 'Kernel lost (restarted or stopped answering)'
};

export type NotifySeverity = 'info' | 'warning' | 'critical';

export interface QuietHours {
  /** "22:00" */
  start: string;
  /** "07:00" (may be earlier than start: the span crosses midnight). */
  end: string;
  /** IANA zone of the user's clock, e.g. "Europe/Berlin"; default UTC. */
  timeZone: string;
  /** Critical messages still go out during quiet hours (default true). */
  allowCritical: boolean;
}

export interface NotifySettings {
  rules: Record<NotifyRule, boolean>;
  /** Minutes before the runtime's end at which to send (default 30 and 10). */
  runtimeMarksMin: number[];
  /** A cell that ran at least this long sends "cell finished". */
  longCellMin: number;
  /** A finished progress bar is "training finished" when it ran at least this long (inner per-epoch bars are shorter). */
  trainingMinMin: number;
  /** Messages per channel in any sliding hour. */
  capPerHour: number;
  /** A condition that re-raises within this time of its last message stays quiet. */
  resendAfterClearMin: number;
  /** Identical text to one channel within this window is merged. */
  mergeWindowS: number;
  quietHours: QuietHours | null;
}

export const DEFAULT_NOTIFY_SETTINGS: NotifySettings = {
  rules: { runtime: true, idle: true, oom: true, disk: true, checkpoint: true, training: true, cell: true, spend: true, kernel: true },
  runtimeMarksMin: [30, 10],
  longCellMin: 30,
  trainingMinMin: 5,
  capPerHour: 6,
  resendAfterClearMin: 15,
  mergeWindowS: 300,
  quietHours: null
};

/** A message ready to deliver. */
export interface NotifyMessage {
  rule: NotifyRule;
  severity: NotifySeverity;
  title: string;
  body: string;
  /** The alert (or fact) it came from: `${ruleId}\0${key}`. */
  condition: string;
}

/** What the sidecar knows besides the alert, for the words of a message. */
export interface NotifyFacts {
  /** The last verified checkpoint, null when none; undefined when checkpoints are not watched here. */
  checkpoint?: { ageS: number; verified: boolean; step?: number | null } | null;
}

/** Facts that are not alerts. */
export type NotifyFact =
  | { type: 'training-finished'; kernelId: string; barId: string; name: string; n: number; total: number | null; elapsedS: number | null }
  | { type: 'cell-finished'; kernelId: string; executionCount: number; durationS: number; ok: boolean }
  | { type: 'checkpoint-verified'; run: string; step: number | null; afterWarning: string };

const MIN = 60;

/** The notify rule an alert belongs to; null for alerts that are never sent (including notify's own). */
export function ruleOf(alert: Pick<Alert, 'ruleId' | 'kind' | 'data'>): NotifyRule | null {
  if (alert.kind === 'resolved') return null;
  const id = alert.ruleId;
  if (id === 'session.remaining') return 'runtime';
  if (id === 'idle.remaining') return 'idle';
  if (id === 'gpu.oom') return 'oom';
  if (id === 'storage.disk' || id === 'storage.output') return 'disk';
  if (id === 'checkpoint.failed') return 'checkpoint';
  if (id === 'progress.verdict') return alert.data?.to === 'runs-out' ? 'training' : null;
  if (id.startsWith('llm.budget.')) return 'spend';
  if (id === 'kernel.restarted') return 'kernel';
  return null;
}

/** The one action for the runtime's end, from the last checkpoint. */
export function checkpointClause(facts: NotifyFacts, minutesLeft: number): string {
  const c = facts.checkpoint;
  if (c === undefined || c === null) {
    return 'no checkpoint: run `vigilo.checkpoint.now()` (or copy your files to Drive) now';
  }
  const age = `last checkpoint ${formatApproxDuration(c.ageS)} ago${c.verified ? ', verified' : ', not verified'}`;
  // Fresh enough: newer than the time left (what would be lost is less than what remains to run).
  return c.verified && c.ageS <= Math.max(10 * MIN, minutesLeft * MIN) ? `${age}; nothing to do` : `${age}: run \`vigilo.checkpoint.now()\``;
}

/** Words of an alert's message: the figure and the one action. */
export function composeAlert(alert: Pick<Alert, 'ruleId' | 'key' | 'severity' | 'kind' | 'message' | 'value' | 'threshold' | 'data'>, facts: NotifyFacts): NotifyMessage | null {
  const rule = ruleOf(alert);
  if (!rule) return null;
  const condition = `${alert.ruleId}\u0000${alert.key}`;
  if (rule === 'runtime') {
    const left = Math.max(0, Math.round(alert.value ?? alert.threshold ?? 0));
    return { rule, severity: alert.severity === 'info' ? 'warning' : alert.severity, condition, title: `Runtime ends in ${left} min`, body: `Runtime ends in ${left} min; ${checkpointClause(facts, left)}.` };
  }
  const titles: Record<NotifyRule, string> = {
    runtime: '',
    idle: `Idle cut-off in ${Math.max(0, Math.round(alert.value ?? 0))} min`,
    oom: `GPU out of memory in about ${oomMinutesLeft(alert.value ?? 60)} min`,
    disk: `${alert.ruleId === 'storage.output' ? 'Output folder' : 'Disk'} ${Math.round(alert.value ?? 0)} % full`,
    checkpoint: 'Checkpoint failed',
    training: 'Training will not finish in time',
    cell: '',
    spend: `LLM spend at ${Math.round(alert.value ?? 0)} % of the ${alert.ruleId.slice('llm.budget.'.length)} budget`,
    kernel: 'Kernel lost'
  };
  return { rule, severity: alert.severity, condition, title: titles[rule], body: alert.message + (rule === 'spend' ? spendAction(alert.threshold ?? alert.value ?? 0) : '') };
}

/** The budget messages carry the figure; this adds the one action. */
function spendAction(mark: number): string {
  return mark >= 100
    ? '. The budget is spent: stop or cheapen the calls, or raise it (Settings Editor, or PUT /llm/budgets).'
    : '. See which conversation costs most in the %vigilo report before it reaches the budget.';
}

/** Words of a fact that is not an alert. */
export function composeFact(fact: NotifyFact, settings: NotifySettings): NotifyMessage | null {
  if (fact.type === 'training-finished') {
    if (fact.elapsedS !== null && fact.elapsedS < settings.trainingMinMin * MIN) return null;
    const steps = fact.total ? `${fact.n.toLocaleString('en-US')} of ${fact.total.toLocaleString('en-US')} steps` : `${fact.n.toLocaleString('en-US')} steps`;
    const took = fact.elapsedS !== null ? ` in ${formatApproxDuration(fact.elapsedS)}` : '';
    return {
      rule: 'training',
      severity: 'info',
      condition: `training.finished\u0000${fact.kernelId}/${fact.barId}`,
      title: 'Training finished',
      body: `Training finished: ${fact.name || 'the loop'} ran ${steps}${took}. Save the model somewhere durable before the runtime ends.`
    };
  }
  if (fact.type === 'cell-finished') {
    if (fact.durationS < settings.longCellMin * MIN) return null;
    return {
      rule: 'cell',
      severity: fact.ok ? 'info' : 'warning',
      condition: `cell.finished\u0000${fact.kernelId}/${fact.executionCount}`,
      title: fact.ok ? 'Cell finished' : 'Cell failed',
      body: `Cell [${fact.executionCount}] ${fact.ok ? 'finished' : 'stopped with an error'} after ${formatApproxDuration(fact.durationS)}.${fact.ok ? ' The notebook is waiting for you.' : ' Look at its output.'}`
    };
  }
  return {
    rule: 'checkpoint',
    severity: 'info',
    condition: `checkpoint.verified\u0000${fact.run}`,
    title: 'Checkpoint saved',
    body: `Checkpoint saved and verified${fact.step !== null ? ` (step ${fact.step})` : ''} after the warning "${fact.afterWarning}". Nothing to do.`
  };
}

/** Minutes since local midnight in a time zone (Intl, so no host time zone is involved). */
export function localMinutes(nowMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(nowMs));
  const get = (t: string) => Number(parts.find(p => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

function hhmm(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`expected HH:MM, got "${text}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function inQuietHours(q: QuietHours | null, nowMs: number): boolean {
  if (!q) return false;
  const now = localMinutes(nowMs, q.timeZone);
  const start = hhmm(q.start);
  const end = hhmm(q.end);
  return start <= end ? now >= start && now < end : now >= start || now < end;
}

export type Outcome = 'sent' | 'off' | 'deduped' | 'flapping' | 'quiet' | 'merged' | 'capped';

export interface Decision {
  channelId: string;
  message: NotifyMessage;
  outcome: Outcome;
}

export type RuleCounts = Record<NotifyRule, Partial<Record<Outcome, number>>>;

interface Held {
  sentAtMs: number;
  severity: NotifySeverity;
  cleared: boolean;
}

/** A cell ending this soon after "training finished" of its kernel is that same news. */
const TRAINING_COVERS_CELL_MS = 5 * 60_000;

const RANK: Record<NotifySeverity, number> = { info: 0, warning: 1, critical: 2 };

/**
 * The state of the guards above. `offer` decides one message for every
 * channel; `cleared` re-arms a condition. Bounded: conditions are forgotten
 * once cleared and older than the resend window; channel windows hold one hour.
 */
export class NotifyPolicy {
  private readonly held = new Map<string, Held>();
  private readonly runtimeMarks = new Map<string, Set<number>>();
  private readonly sentTimes = new Map<string, number[]>();
  private readonly lastText = new Map<string, Map<string, number>>();
  private readonly heldBack = new Map<string, number>();
  /** When "training finished" was last sent per kernel. */
  private readonly trainingSaid = new Map<string, number>();
  readonly counts: RuleCounts = Object.fromEntries(NOTIFY_RULES.map(r => [r, {}])) as RuleCounts;

  constructor(public settings: NotifySettings = DEFAULT_NOTIFY_SETTINGS) {}

  /** An alert from the engine: the messages to send now (outcome 'sent') and why the others were not. */
  offerAlert(alert: Parameters<typeof composeAlert>[0], facts: NotifyFacts, channels: string[], nowMs: number): Decision[] {
    const message = composeAlert(alert, facts);
    if (!message) return [];
    if (message.rule === 'runtime' && this.settings.rules.runtime) {
      // Send at each mark once per key, whatever level the engine reports (it reports only the highest one crossed).
      const at = alert.threshold ?? alert.value ?? Infinity;
      const done = this.runtimeMarks.get(message.condition) ?? new Set<number>();
      const due = this.settings.runtimeMarksMin.filter(m => m >= at && !done.has(m));
      if (due.length === 0) return this.tally(message, channels, 'deduped');
      for (const m of this.settings.runtimeMarksMin) if (m >= at) done.add(m);
      this.runtimeMarks.set(message.condition, done);
      return this.deliver(message, channels, nowMs);
    }
    return this.offer(message, channels, nowMs);
  }

  offerFact(fact: NotifyFact, channels: string[], nowMs: number): Decision[] {
    const message = composeFact(fact, this.settings);
    if (!message) return [];
    if (fact.type === 'cell-finished') {
      // The cell that ran the training loop ends just after it: "training finished" already said it.
      const said = this.trainingSaid.get(fact.kernelId);
      if (said !== undefined && nowMs - said < TRAINING_COVERS_CELL_MS && fact.ok) return this.tally(message, channels, 'merged');
    }
    const decisions = this.offer(message, channels, nowMs);
    if (fact.type === 'training-finished' && decisions.some(d => d.outcome === 'sent')) {
      this.trainingSaid.set(fact.kernelId, nowMs);
      if (this.trainingSaid.size > 100) this.trainingSaid.delete(this.trainingSaid.keys().next().value as string);
    }
    return decisions;
  }

  /** A test message: only the cap applies (a user pressing "test" twice gets two). */
  offerTest(message: NotifyMessage, channels: string[], nowMs: number): Decision[] {
    return channels.map(channelId => this.toChannel(channelId, message, nowMs, false, false));
  }

  /** The condition cleared (its alert left the current alerts): it may send again. */
  cleared(condition: string, nowMs: number): void {
    const h = this.held.get(condition);
    if (h) h.cleared = true;
    this.runtimeMarks.delete(condition);
    this.forget(nowMs);
  }

  private offer(message: NotifyMessage, channels: string[], nowMs: number): Decision[] {
    if (!this.settings.rules[message.rule]) return this.tally(message, channels, 'off');
    const h = this.held.get(message.condition);
    if (h && !h.cleared && RANK[message.severity] <= RANK[h.severity]) return this.tally(message, channels, 'deduped');
    if (h && h.cleared && nowMs - h.sentAtMs < this.settings.resendAfterClearMin * 60_000) return this.tally(message, channels, 'flapping');
    return this.deliver(message, channels, nowMs);
  }

  private deliver(message: NotifyMessage, channels: string[], nowMs: number): Decision[] {
    if (!this.settings.rules[message.rule]) return this.tally(message, channels, 'off');
    if (inQuietHours(this.settings.quietHours, nowMs) && !(message.severity === 'critical' && this.settings.quietHours?.allowCritical !== false)) {
      return this.tally(message, channels, 'quiet');
    }
    this.held.delete(message.condition);
    this.held.set(message.condition, { sentAtMs: nowMs, severity: message.severity, cleared: false });
    if (this.held.size > 2000) this.held.delete(this.held.keys().next().value as string);
    return channels.map(channelId => this.toChannel(channelId, message, nowMs, true));
  }

  /** `count`: false for test messages, which belong to no rule's figures. */
  private toChannel(channelId: string, message: NotifyMessage, nowMs: number, merge: boolean, count = true): Decision {
    const done = (d: Decision): Decision => (count ? this.count(d) : d);
    const texts = this.lastText.get(channelId) ?? new Map<string, number>();
    this.lastText.set(channelId, texts);
    const text = `${message.title}\n${message.body}`;
    const last = texts.get(text);
    if (merge && last !== undefined && nowMs - last < this.settings.mergeWindowS * 1000) {
      return done({ channelId, message, outcome: 'merged' });
    }
    const times = (this.sentTimes.get(channelId) ?? []).filter(t => nowMs - t < 3_600_000);
    this.sentTimes.set(channelId, times);
    if (times.length >= this.settings.capPerHour) {
      this.heldBack.set(channelId, (this.heldBack.get(channelId) ?? 0) + 1);
      return done({ channelId, message, outcome: 'capped' });
    }
    times.push(nowMs);
    texts.set(text, nowMs);
    for (const [t, at] of texts) if (nowMs - at >= this.settings.mergeWindowS * 1000) texts.delete(t);
    const back = this.heldBack.get(channelId) ?? 0;
    this.heldBack.delete(channelId);
    const out = back ? { ...message, body: `${message.body}\n(${back} more held back by the limit of ${this.settings.capPerHour} messages an hour.)` } : message;
    return done({ channelId, message: out, outcome: 'sent' });
  }

  private tally(message: NotifyMessage, channels: string[], outcome: Outcome): Decision[] {
    return channels.map(channelId => this.count({ channelId, message, outcome }));
  }

  private count(d: Decision): Decision {
    const c = this.counts[d.message.rule];
    c[d.outcome] = (c[d.outcome] ?? 0) + 1;
    return d;
  }

  /** Drop what can no longer matter, so state stays bounded over a long session. */
  private forget(nowMs: number): void {
    const window = this.settings.resendAfterClearMin * 60_000;
    for (const [k, h] of this.held) if (h.cleared && nowMs - h.sentAtMs >= window) this.held.delete(k);
  }
}
