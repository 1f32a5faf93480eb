/**
 * Threshold crossing with hysteresis, as a pure state machine: the alert
 * engine keeps one `level` per (rule, key) and asks `step()` what a new value
 * does to it. One alert per crossing, not one per sample: a level is entered
 * once, and only re-armed when the value has gone back past the threshold by
 * more than the hysteresis.
 */

export type AlertSeverity = 'info' | 'warning' | 'critical';

/** 'above': crossed when value >= threshold (VRAM %, spend %). 'below': crossed when value <= threshold (minutes left). */
export type ThresholdDirection = 'above' | 'below';

export interface ThresholdLevel {
  value: number;
  severity: AlertSeverity;
}

/** Levels ordered from least to most severe crossing: ascending for 'above', descending for 'below'. */
export function orderLevels(levels: readonly ThresholdLevel[], direction: ThresholdDirection): ThresholdLevel[] {
  const sorted = [...levels].filter(l => Number.isFinite(l.value));
  sorted.sort((a, b) => (direction === 'above' ? a.value - b.value : b.value - a.value));
  return sorted;
}

function crosses(value: number, threshold: number, direction: ThresholdDirection): boolean {
  return direction === 'above' ? value >= threshold : value <= threshold;
}

export interface ThresholdStep {
  /** New level: -1 = no threshold crossed, else the index in the ordered levels. */
  level: number;
  /** The level entered on the way up (an alert is due), or null. */
  entered: number | null;
  /** True when the value went back past the lowest level by more than the hysteresis (all clear). */
  cleared: boolean;
}

/**
 * Where `value` puts a (rule, key) that was at `current`. Escalation is
 * immediate; de-escalation needs the value back beyond threshold ∓ hysteresis.
 */
export function step(
  current: number,
  value: number,
  levels: readonly ThresholdLevel[],
  direction: ThresholdDirection,
  hysteresis: number
): ThresholdStep {
  let raw = -1;
  for (let i = 0; i < levels.length; i++) {
    if (crosses(value, levels[i].value, direction)) {
      raw = i;
    }
  }
  if (raw > current) {
    return { level: raw, entered: raw, cleared: false };
  }
  // Stay at the highest level (<= current) that the value still holds within the hysteresis band.
  const h = Math.max(0, hysteresis);
  let sticky = -1;
  for (let i = 0; i <= Math.min(current, levels.length - 1); i++) {
    const shifted = direction === 'above' ? levels[i].value - h : levels[i].value + h;
    if (crosses(value, shifted, direction)) {
      sticky = i;
    }
  }
  const level = Math.max(raw, sticky);
  return { level, entered: null, cleared: current >= 0 && level === -1 };
}
