/**
 * The one alert engine of the sidecar (`ctx.alerts`). Every alert is kept in a
 * bounded history (persisted to `<dataDir>/alerts.jsonl`, mode 0600), handed to
 * `onAlert` listeners and published on the bus as the SSE event `alert`.
 *
 * Two ways in:
 *
 * 1. Threshold rules — one alert per crossing, not one per sample:
 *
 *      ctx.alerts.addRule({
 *        id: 'llm.budget.day', description: 'Daily LLM spend against the budget', unit: '%',
 *        direction: 'above', severity: 'warning',
 *        thresholds: [{ value: 50, severity: 'info' }, 80, { value: 100, severity: 'critical' }],
 *        hysteresis: 5,
 *        message: (value, key, level) => `LLM spend today is ${value.toFixed(0)} % of the budget (${level.value} % mark)`
 *      });
 *      ctx.alerts.observe('llm.budget.day', '2026-01-01', spentPercent);   // call on every sample
 *
 *    A value that jumps past several marks raises one alert for the highest one. A level re-arms only
 *    when the value goes back past threshold ∓ hysteresis (`direction: 'below'` for "minutes left").
 *    Users override thresholds / hysteresis / enabled per rule id in `<dataDir>/alerts.json`
 *    (`{ "rules": { "<id>": { "thresholds": [60, 30], "hysteresis": 2, "enabled": true } } }`)
 *    or with POST /settings/alerts (same body; merged and persisted); `addRule` applies them.
 *
 * 2. One-shot events:
 *
 *      ctx.alerts.fire({ ruleId: 'kernel.restarted', key: kernelId, severity: 'warning',
 *                        message: 'Kernel restarted at … — in-memory state lost', data: { pid } });
 *
 *    `dedupeMs` suppresses the same (ruleId, key, message) repeated within that window.
 *
 * Reading: `list({ since, limit, ruleId })` (newest first), `onAlert(listener)`, GET /alerts.
 *
 * Current state: `active()` holds one entry per (rule, key) whose threshold is
 * still crossed, updated in place by every sample (latest value, message and
 * severity; `raisedAt` stays the first crossing) and removed when the level
 * clears. One-shot warning and critical events stay active for `eventActiveMs`
 * (default 30 min); info events go to the history only.
 * `dismiss(ruleId, key)` hides an entry until that key crosses a more severe
 * level (or crosses again after clearing). `onActiveChange` tells listeners
 * (the alerts module puts the list in the snapshot's `alerts` section).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Alert, AlertRuleSettings, AlertSettingsBody, type ActiveAlert, type Alert as AlertT } from '../../shared/api';
import { orderLevels, step, type AlertSeverity, type ThresholdDirection, type ThresholdLevel } from '../../core/thresholds';
import type { EventBus } from '../core/bus';
import type { Clock } from '../core/clock';
import { writePrivateFile } from '../core/discovery';
import { describeZodError } from '../core/errors';

export type { AlertSeverity } from '../../core/thresholds';

export interface ThresholdRule {
  id: string;
  /** One line for GET /settings/alerts. */
  description?: string;
  /** Unit of observed values and thresholds, e.g. '%', 'min', 's'. */
  unit?: string;
  direction: ThresholdDirection;
  /** Severity of thresholds given as plain numbers. */
  severity: AlertSeverity;
  thresholds: Array<number | ThresholdLevel>;
  /** How far back past a threshold the value must go before it can alert again (rule units, default 0). */
  hysteresis?: number;
  /**
   * An unknown value (null) clears the key's level and its current alert: for
   * predictions ("VRAM full in 2 min") that no longer hold once the predictor
   * is unsure. Default false: unknown changes nothing.
   */
  unknownClears?: boolean;
  /** Also record (and publish) an alert of kind 'resolved' when every level cleared. Default false. */
  notifyResolved?: boolean;
  enabled?: boolean;
  message(value: number, key: string, level: ThresholdLevel): string;
  /** Extra data attached to the alert. */
  data?(value: number, key: string): Record<string, unknown> | undefined;
}

export interface FireOptions {
  ruleId: string;
  key?: string;
  severity: AlertSeverity;
  message: string;
  data?: Record<string, unknown>;
  value?: number | null;
  /** Drop a repeat of the same ruleId + key + message within this many ms. */
  dedupeMs?: number;
}

export interface ListOptions {
  /** Only alerts at or after this time (ISO string or ms). */
  since?: string | number;
  limit?: number;
  ruleId?: string;
}

export interface AlertEngineOptions {
  clock: Clock;
  bus?: EventBus;
  /** Where alerts.jsonl and alerts.json live; null keeps everything in memory. */
  dataDir?: string | null;
  /** History size (default 500). */
  capacity?: number;
  /** How long a one-shot event stays in `active()` (default 30 min). */
  eventActiveMs?: number;
  log?(line: string): void;
}

interface RuleState {
  rule: ThresholdRule;
  levels: ThresholdLevel[];
  hysteresis: number;
  enabled: boolean;
  /** Current level per key. */
  keys: Map<string, number>;
}

export const ALERT_HISTORY_FILE = 'alerts.jsonl';
export const ALERT_SETTINGS_FILE = 'alerts.json';

function toLevels(list: Array<number | ThresholdLevel>, severity: AlertSeverity, direction: ThresholdDirection): ThresholdLevel[] {
  return orderLevels(
    list.map(t => (typeof t === 'number' ? { value: t, severity } : t)),
    direction
  );
}

function activeKey(ruleId: string, key: string): string {
  return `${ruleId}\u0000${key}`;
}

export class AlertEngine {
  private readonly rules = new Map<string, RuleState>();
  private readonly history: AlertT[] = [];
  private readonly listeners = new Set<(alert: AlertT) => void>();
  private readonly lastFired = new Map<string, number>();
  private settings: Record<string, AlertRuleSettings> = {};
  private readonly capacity: number;
  private seq = 0;
  private appendedSinceCompact = 0;
  private readonly idPrefix: string;
  private readonly activeMap = new Map<string, ActiveAlert>();
  private readonly activeListeners = new Set<() => void>();
  private readonly levelListeners = new Set<() => void>();

  constructor(private readonly options: AlertEngineOptions) {
    this.capacity = Math.max(10, options.capacity ?? 500);
    // Random part: two engines of the same process and clock instant (a restart in tests) never share ids.
    this.idPrefix = `${options.clock.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    this.loadHistory();
    this.loadSettings();
  }

  /** Register (or replace) a threshold rule; user settings for its id apply. */
  addRule(rule: ThresholdRule): void {
    const previous = this.rules.get(rule.id);
    const state: RuleState = { rule, levels: [], hysteresis: 0, enabled: true, keys: previous?.keys ?? new Map() };
    this.rules.set(rule.id, state);
    this.applySettings(state);
    this.emitLevels();
  }

  hasRule(ruleId: string): boolean {
    return this.rules.has(ruleId);
  }

  /**
   * Feed one sample. Returns the alert raised, if the value entered a new
   * (more severe) level, else null. A null value (unknown) changes nothing.
   */
  observe(ruleId: string, key: string, value: number | null | undefined): AlertT | null {
    const state = this.rules.get(ruleId);
    if (!state) {
      throw new Error(`alert rule ${ruleId} is not registered; call addRule first`);
    }
    if (value === null || value === undefined || !Number.isFinite(value) || !state.enabled || state.levels.length === 0) {
      if (state.rule.unknownClears && (value === null || value === undefined) && (state.keys.get(key) ?? -1) >= 0) {
        state.keys.set(key, -1);
        this.dropActive(ruleId, key);
      }
      return null;
    }
    const current = state.keys.get(key) ?? -1;
    const next = step(current, value, state.levels, state.rule.direction, state.hysteresis);
    state.keys.set(key, next.level);
    if (next.entered !== null) {
      const level = state.levels[next.entered];
      return this.record({
        ruleId,
        key,
        severity: level.severity,
        kind: 'threshold',
        message: state.rule.message(value, key, level),
        value,
        threshold: level.value,
        data: state.rule.data?.(value, key)
      });
    }
    this.refreshActive(state, key, value, next.level);
    if (next.cleared && state.rule.notifyResolved) {
      return this.record({
        ruleId,
        key,
        severity: 'info',
        kind: 'resolved',
        message: `Resolved: ${state.rule.description ?? ruleId} back to ${Math.round(value * 100) / 100}${state.rule.unit ? ` ${state.rule.unit}` : ''}.`,
        value,
        threshold: null
      });
    }
    return null;
  }

  /** Forget the state of one key (e.g. a GPU that went away), so its next crossing alerts again. */
  clear(ruleId: string, key: string): void {
    this.rules.get(ruleId)?.keys.delete(key);
    this.dropActive(ruleId, key);
  }

  /** The alerts that hold now, one per (rule, key), most severe first, then newest. */
  active(): ActiveAlert[] {
    this.expireEvents();
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    return [...this.activeMap.values()].sort((a, b) => rank[a.severity] - rank[b.severity] || (a.raisedAt < b.raisedAt ? 1 : a.raisedAt > b.raisedAt ? -1 : 0));
  }

  /** Hide one current alert (until its key crosses a more severe level). False when nothing held there. */
  dismiss(ruleId: string, key: string): boolean {
    return this.dropActive(ruleId, key);
  }

  onActiveChange(listener: () => void): () => void {
    this.activeListeners.add(listener);
    return () => this.activeListeners.delete(listener);
  }

  /** Called when a rule registers or the user's settings change its levels (the snapshot's `alerts.levels`). */
  onLevelsChange(listener: () => void): () => void {
    this.levelListeners.add(listener);
    return () => this.levelListeners.delete(listener);
  }

  /** Effective levels per rule id, for the panel and the report: [] for a rule turned off. */
  levels(): Record<string, ThresholdLevel[]> {
    const out: Record<string, ThresholdLevel[]> = {};
    for (const [id, s] of this.rules) out[id] = s.enabled ? s.levels.map(l => ({ value: l.value, severity: l.severity })) : [];
    return out;
  }

  /** A sample that entered no new level: update the current entry in place, or drop it once cleared. */
  private refreshActive(state: RuleState, key: string, value: number, level: number): void {
    const id = activeKey(state.rule.id, key);
    const entry = this.activeMap.get(id);
    if (!entry) {
      return;
    }
    if (level < 0) {
      this.dropActive(state.rule.id, key);
      return;
    }
    const l = state.levels[level];
    const message = state.rule.message(value, key, l);
    if (entry.value === value && entry.severity === l.severity && entry.message === message) {
      return;
    }
    this.activeMap.set(id, { ...entry, value, severity: l.severity, threshold: l.value, message, updatedAt: new Date(this.options.clock.now()).toISOString() });
    this.emitActive();
  }

  /** Remove one current alert and tell the listeners; false when nothing held there. */
  private dropActive(ruleId: string, key: string): boolean {
    const removed = this.activeMap.delete(activeKey(ruleId, key));
    if (removed) {
      this.emitActive();
    }
    return removed;
  }

  /**
   * Drop one-shot events older than their time in `active()` and tell the listeners
   * when any left. Run on a timer by the alerts module, so the snapshot's `alerts`
   * section loses them on time even when nothing else changes.
   */
  expireEvents(): void {
    const cutoff = this.options.clock.now() - (this.options.eventActiveMs ?? 30 * 60_000);
    let expired = false;
    for (const [id, entry] of this.activeMap) {
      if (entry.kind === 'event' && Date.parse(entry.raisedAt) < cutoff) {
        expired = this.activeMap.delete(id) || expired;
      }
    }
    if (expired) {
      this.emitActive();
    }
  }

  private emitLevels(): void {
    this.notify(this.levelListeners);
  }

  private emitActive(): void {
    this.notify(this.activeListeners);
  }

  private notify(listeners: Set<() => void>): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.options.log?.(`${listeners === this.activeListeners ? 'active-alert' : 'alert-levels'} listener failed: ${String(error)}`);
      }
    }
  }

  /** Current level of a key: null when no threshold is crossed. */
  levelOf(ruleId: string, key: string): ThresholdLevel | null {
    const state = this.rules.get(ruleId);
    const i = state?.keys.get(key) ?? -1;
    return state && i >= 0 ? state.levels[i] : null;
  }

  /** A one-shot event alert. Returns null when de-duplicated. */
  fire(options: FireOptions): AlertT | null {
    const key = options.key ?? '';
    if (options.dedupeMs && options.dedupeMs > 0) {
      const id = `${options.ruleId}\u0000${key}\u0000${options.message}`;
      const last = this.lastFired.get(id);
      const now = this.options.clock.now();
      if (last !== undefined && now - last < options.dedupeMs) {
        return null;
      }
      this.lastFired.set(id, now);
      if (this.lastFired.size > 1000) {
        this.lastFired.delete(this.lastFired.keys().next().value as string);
      }
    }
    return this.record({
      ruleId: options.ruleId,
      key,
      severity: options.severity,
      kind: 'event',
      message: options.message,
      value: options.value ?? null,
      threshold: null,
      data: options.data
    });
  }

  /** History, newest first. */
  list(options: ListOptions = {}): AlertT[] {
    const sinceMs = options.since === undefined ? null : typeof options.since === 'number' ? options.since : Date.parse(options.since);
    const out: AlertT[] = [];
    const limit = options.limit ?? this.capacity;
    for (let i = this.history.length - 1; i >= 0 && out.length < limit; i--) {
      const alert = this.history[i];
      if (sinceMs !== null && !Number.isNaN(sinceMs) && Date.parse(alert.at) < sinceMs) {
        break;
      }
      if (options.ruleId && alert.ruleId !== options.ruleId) {
        continue;
      }
      out.push(alert);
    }
    return out;
  }

  onAlert(listener: (alert: AlertT) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Effective rules with their thresholds, for GET /settings/alerts. */
  ruleViews(): Array<{
    id: string;
    description: string;
    unit: string;
    direction: ThresholdDirection;
    enabled: boolean;
    severity: AlertSeverity;
    thresholds: ThresholdLevel[];
    hysteresis: number;
  }> {
    return [...this.rules.values()].map(s => ({
      id: s.rule.id,
      description: s.rule.description ?? '',
      unit: s.rule.unit ?? '',
      direction: s.rule.direction,
      enabled: s.enabled,
      severity: s.rule.severity,
      thresholds: s.levels,
      hysteresis: s.hysteresis
    }));
  }

  get settingsFile(): string | null {
    return this.options.dataDir ? join(this.options.dataDir, ALERT_SETTINGS_FILE) : null;
  }

  /**
   * Merge user settings (per rule id; unknown ids are kept for rules that
   * register later), persist them, and apply them now. Levels of changed rules re-arm.
   */
  updateSettings(body: AlertSettingsBody): void {
    const next = { ...this.settings };
    for (const [id, patch] of Object.entries(body.rules)) {
      next[id] = { ...(next[id] ?? {}), ...patch };
    }
    // Persist first: a failed write (full or read-only disk) throws with nothing applied.
    const file = this.settingsFile;
    if (file) {
      writePrivateFile(file, JSON.stringify({ rules: next }, null, 2) + '\n');
    }
    this.settings = next;
    for (const id of Object.keys(body.rules)) {
      const state = this.rules.get(id);
      if (state) {
        this.applySettings(state);
        state.keys.clear();
      }
    }
    this.emitLevels();
  }

  private applySettings(state: RuleState): void {
    const s = this.settings[state.rule.id] ?? {};
    state.levels = toLevels(s.thresholds ?? state.rule.thresholds, state.rule.severity, state.rule.direction);
    state.hysteresis = s.hysteresis ?? state.rule.hysteresis ?? 0;
    state.enabled = s.enabled ?? state.rule.enabled ?? true;
  }

  private record(fields: Omit<AlertT, 'id' | 'at'>): AlertT {
    const alert: AlertT = {
      id: `${this.idPrefix}-${(++this.seq).toString(36)}`,
      at: new Date(this.options.clock.now()).toISOString(),
      ...fields
    };
    if (alert.data === undefined) {
      delete alert.data;
    }
    this.history.push(alert);
    if (this.history.length > this.capacity) {
      this.history.splice(0, this.history.length - this.capacity);
    }
    this.persist(alert);
    if (alert.kind === 'resolved') {
      this.dropActive(alert.ruleId, alert.key);
      // An info event is news, not a state to act on ("the previous session ended cleanly"): history and notifications only.
    } else if (alert.kind !== 'event' || alert.severity !== 'info') {
      const id = activeKey(alert.ruleId, alert.key);
      const previous = this.activeMap.get(id);
      // A threshold key keeps its first crossing time while it stays crossed.
      const raisedAt = previous && previous.kind === 'threshold' && alert.kind === 'threshold' ? previous.raisedAt : alert.at;
      this.activeMap.set(id, { ...alert, raisedAt, updatedAt: alert.at });
      this.emitActive();
    }
    this.options.bus?.publish('alert', alert);
    for (const listener of this.listeners) {
      try {
        listener(alert);
      } catch (error) {
        this.options.log?.(`alert listener failed: ${String(error)}`);
      }
    }
    return alert;
  }

  private get historyFile(): string | null {
    return this.options.dataDir ? join(this.options.dataDir, ALERT_HISTORY_FILE) : null;
  }

  private persist(alert: AlertT): void {
    const file = this.historyFile;
    if (!file) {
      return;
    }
    try {
      appendFileSync(file, JSON.stringify(alert) + '\n', { mode: 0o600 });
      this.appendedSinceCompact++;
      if (this.appendedSinceCompact >= this.capacity) {
        // Keep the file bounded: rewrite it with the in-memory history.
        writePrivateFile(file, this.history.map(a => JSON.stringify(a)).join('\n') + '\n');
        this.appendedSinceCompact = 0;
      }
    } catch (error) {
      this.options.log?.(`could not persist alert: ${String(error)}`);
    }
  }

  private loadHistory(): void {
    const file = this.historyFile;
    if (!file || !existsSync(file)) {
      return;
    }
    try {
      chmodSync(file, 0o600);
      const lines = readFileSync(file, 'utf8').split('\n');
      for (const line of lines.slice(-this.capacity - 1)) {
        if (!line.trim()) {
          continue;
        }
        try {
          const parsed = Alert.safeParse(JSON.parse(line));
          if (parsed.success) {
            this.history.push(parsed.data);
          }
        } catch {
          // A torn last line after a crash: skip it.
        }
      }
      this.history.splice(0, Math.max(0, this.history.length - this.capacity));
      this.appendedSinceCompact = lines.length > this.capacity ? this.capacity : 0;
    } catch (error) {
      this.options.log?.(`could not read ${file}: ${String(error)}`);
    }
  }

  private loadSettings(): void {
    const file = this.settingsFile;
    if (!file || !existsSync(file)) {
      return;
    }
    try {
      const parsed = AlertSettingsBody.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) {
        this.settings = parsed.data.rules;
      } else {
        this.options.log?.(`ignoring ${file}: ${describeZodError(parsed.error)}`);
      }
    } catch (error) {
      this.options.log?.(`ignoring ${file}: ${String(error)}`);
    }
  }
}
