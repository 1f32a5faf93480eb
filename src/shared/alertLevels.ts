/**
 * The default alert levels of every threshold the user sees, read by both the
 * sidecar (its alert rules, src/server/*\/module.ts) and the panel and the
 * `%vigilo` report (src/shared/dashboard.ts, src/core/report.ts), so that the
 * colour of a bar and the alert cannot drift apart. The user changes them live
 * through POST /settings/alerts (Settings Editor); the sidecar then publishes
 * the effective levels in the snapshot's `alerts.levels`, and `liveLevels()`
 * prefers those to these defaults. Why each value: docs/ARCHITECTURE.md,
 * "One threshold rule".
 */
import type { z } from 'zod';
import type { AlertSeverity, AlertsSection } from './api';

export interface IAlertLevel {
  value: number;
  severity: z.infer<typeof AlertSeverity>;
}

/** The panel's colour for a level: an `info` mark draws a tick but keeps the colour calm. */
export type LevelColour = 'ok' | 'warning' | 'critical';

/** `session.remaining`, minutes before the runtime reaches its lifetime: a note at 60 and 30, warning at 10, critical at 5. */
export const SESSION_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 60, severity: 'info' },
  { value: 30, severity: 'info' },
  { value: 10, severity: 'warning' },
  { value: 5, severity: 'critical' }
];

/** `idle.remaining`, minutes before the idle cut-off stops the runtime: warning at 10, critical at 5. */
export const IDLE_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 10, severity: 'warning' },
  { value: 5, severity: 'critical' }
];

/** `quota.remaining`, minutes of Kaggle GPU / TPU quota left this week: warning at 2 h, critical at 30 min. */
export const QUOTA_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 120, severity: 'warning' },
  { value: 30, severity: 'critical' }
];

/** `storage.output`, percent of the output folder's limit (Kaggle's /kaggle/working, 20 GB): warning at 80, critical at 95. */
export const OUTPUT_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 80, severity: 'warning' },
  { value: 95, severity: 'critical' }
];

/** `storage.disk`, percent of a disk used: warning at 85, critical at 95. */
export const DISK_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 85, severity: 'warning' },
  { value: 95, severity: 'critical' }
];

/** `gpu.vram`, percent of a GPU's memory used: warning at 90, critical at 95. */
export const VRAM_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 90, severity: 'warning' },
  { value: 95, severity: 'critical' }
];

/** The machine's memory (RAM) used, percent: warning at 85, critical at 95. Colour only: no alert rule watches RAM yet. */
export const MEMORY_LEVELS: readonly IAlertLevel[] = [
  { value: 85, severity: 'warning' },
  { value: 95, severity: 'critical' }
];

/** The rules whose levels the panel and the report draw, with their defaults and direction. */
export const THRESHOLD_RULES = {
  'session.remaining': { levels: SESSION_WARN_LEVELS, direction: 'below', unit: 'min' },
  'idle.remaining': { levels: IDLE_WARN_LEVELS, direction: 'below', unit: 'min' },
  'quota.remaining': { levels: QUOTA_WARN_LEVELS, direction: 'below', unit: 'min' },
  'storage.output': { levels: OUTPUT_WARN_LEVELS, direction: 'above', unit: '%' },
  'storage.disk': { levels: DISK_WARN_LEVELS, direction: 'above', unit: '%' },
  'gpu.vram': { levels: VRAM_WARN_LEVELS, direction: 'above', unit: '%' },
  'system.memory': { levels: MEMORY_LEVELS, direction: 'above', unit: '%' }
} as const satisfies Record<string, { levels: readonly IAlertLevel[]; direction: 'above' | 'below'; unit: string }>;

export type ThresholdRuleId = keyof typeof THRESHOLD_RULES;

/**
 * The levels in force for one rule: the sidecar's effective ones from the
 * snapshot (the user's settings applied; an empty list when the user turned
 * the rule off), else the defaults (an older sidecar, or no snapshot yet).
 */
export function liveLevels(alerts: Pick<z.infer<typeof AlertsSection>, 'levels'> | undefined | null, ruleId: ThresholdRuleId): readonly IAlertLevel[] {
  return alerts?.levels?.[ruleId] ?? THRESHOLD_RULES[ruleId].levels;
}

/** The threshold of one severity among a rule's levels (the VRAM warning %, for the chart's line); null when none has it. */
export function levelValue(levels: readonly IAlertLevel[], severity: IAlertLevel['severity']): number | null {
  return levels.find(l => l.severity === severity)?.value ?? null;
}

/**
 * The Settings Editor's runtime-end marks (minutes) as `session.remaining`
 * levels of the same shape as the defaults: the smallest mark critical, the
 * next warning, the rest notes ([60, 30, 10, 5] gives SESSION_WARN_LEVELS).
 */
export function sessionLevelsFromMarks(marks: readonly number[]): IAlertLevel[] {
  const sorted = [...new Set(marks)].filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.map((value, i) => ({ value, severity: i === 0 ? 'critical' : i === 1 ? 'warning' : 'info' }));
}

/**
 * The severity the alert engine holds for `value` from a calm start: the
 * furthest level crossed, where 'above' crosses at value >= threshold and
 * 'below' at value <= threshold (src/core/thresholds.ts `orderLevels` + `step`,
 * no hysteresis; alertLevels.spec.ts checks the two agree). null: none crossed.
 */
export function severityAt(value: number | null | undefined, levels: readonly IAlertLevel[], direction: 'above' | 'below'): IAlertLevel['severity'] | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const ordered = levels.filter(l => Number.isFinite(l.value)).sort((a, b) => (direction === 'above' ? a.value - b.value : b.value - a.value));
  let severity: IAlertLevel['severity'] | null = null;
  for (const l of ordered) {
    if (direction === 'above' ? value >= l.value : value <= l.value) severity = l.severity;
  }
  return severity;
}

/** The panel's and the report's colour for a value under one rule's live levels: the alert's severity, `info` shown calm. */
export function levelColour(value: number | null | undefined, alerts: Pick<z.infer<typeof AlertsSection>, 'levels'> | undefined | null, ruleId: ThresholdRuleId): LevelColour {
  const s = severityAt(value, liveLevels(alerts, ruleId), THRESHOLD_RULES[ruleId].direction);
  return s === 'critical' || s === 'warning' ? s : 'ok';
}
