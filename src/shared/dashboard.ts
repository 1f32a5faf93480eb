/**
 * What will end this session's work, and when: the verdict line and the
 * countdowns, computed once from a snapshot for the panel, the status bar and
 * the `%vigilo` report. Pure: snapshot (and the platform name) in, plain data
 * out; text uses src/shared/format.ts.
 */
import { levelColour, liveLevels, type LevelColour, type ThresholdRuleId } from './alertLevels';
import type { GpuDevice, MetricsSnapshot, PlatformName } from './api';
import { bytesOfMiB, formatApproxDuration, formatBytes, formatClock, formatPercent, ratioPercent, type IClockOptions } from './format';

/** A countdown's or a figure's colour: the severity of the alert rule behind it (src/shared/alertLevels.ts), `info` shown as 'ok'. */
export type Level = LevelColour;

export interface ICountdown {
  id: 'session' | 'idle' | 'quota';
  /** "Runtime", "Idle cut-off", "Kaggle GPU quota". */
  label: string;
  /** Seconds left; null when unknown (`unknownReason` says why). */
  remainingS: number | null;
  /** The whole span the bar depletes from (lifetime, cut-off, weekly quota). */
  totalS: number | null;
  /** When it reaches zero (ISO), when that is a fixed time. */
  endsAt: string | null;
  unknownReason: string | null;
  /** Warning marks, seconds before zero. */
  marksS: number[];
  level: Level;
  /** A short note under the bar: "running 1 h 03 min", "last activity from the kernel", "stated, resets Mon". */
  detail: string | null;
}

export interface IThreat {
  kind: 'oom' | 'vram' | 'session' | 'idle' | 'quota' | 'output' | 'progress';
  /** Seconds until it bites (0 when it already does). */
  seconds: number;
  level: Level;
  text: string;
}

export interface IVerdict {
  level: Level;
  /** One line: "VRAM full in ~3 min", "Runtime ends in 10 h 57 min (21:28 CET)", "All clear". */
  text: string;
  /** The threat behind the line; null for "All clear". */
  threat: IThreat | null;
  /** Every threat, soonest first. */
  threats: IThreat[];
}

/**
 * A countdown's marks (seconds before zero) and colour from the alert rule's
 * levels in force (the user's, from the snapshot's `alerts.levels`, else the
 * defaults): the bar turns the colour of the alert the sidecar raises at that
 * moment. The rules count minutes.
 */
function countdownLevels(snapshot: MetricsSnapshot, ruleId: ThresholdRuleId, remainingS: number | null, sentMarksMin: number[] = []): { marksS: number[]; level: Level } {
  // A sidecar without `alerts.levels` still sends the runtime's marks in `session.warnAtMin`.
  const marksMin = !snapshot.alerts?.levels?.[ruleId] && sentMarksMin.length ? sentMarksMin : liveLevels(snapshot.alerts, ruleId).map(l => l.value);
  return { marksS: marksMin.map(m => m * 60), level: levelColour(remainingS === null ? null : remainingS / 60, snapshot.alerts, ruleId) };
}

/** The countdowns that apply on this platform (a local runtime has none of them). */
export function countdowns(snapshot: MetricsSnapshot, platform: PlatformName, clock: IClockOptions = {}): ICountdown[] {
  const out: ICountdown[] = [];
  const session = snapshot.session;
  if (session && session.lifetimeS !== null) {
    const { marksS, level } = countdownLevels(snapshot, 'session.remaining', session.remainingS, session.warnAtMin);
    out.push({
      id: 'session',
      label: 'Runtime',
      remainingS: session.remainingS,
      totalS: session.lifetimeS,
      endsAt: session.endsAt,
      unknownReason: session.remainingS === null ? 'the runtime start time could not be read' : null,
      marksS,
      level,
      detail: `running ${formatApproxDuration(session.elapsedS)} of ${formatApproxDuration(session.lifetimeS)}`
    });
  } else if (platform !== 'local') {
    out.push(unknown('session', 'Runtime', session ? 'no lifetime known for this runtime; set one in the settings' : 'the session collector has not reported yet'));
  }
  const idle = snapshot.idle;
  if (idle && idle.cutoffS !== null) {
    out.push({
      id: 'idle',
      label: 'Idle cut-off',
      remainingS: idle.remainingS,
      totalS: idle.cutoffS,
      endsAt: idle.remainingS === null ? null : new Date(Date.parse(snapshot.takenAt) + idle.remainingS * 1000).toISOString(),
      unknownReason: idle.remainingS === null ? 'no activity seen yet' : null,
      ...countdownLevels(snapshot, 'idle.remaining', idle.remainingS),
      detail:
        idle.source === 'sidecar-start'
          ? `no activity seen since ${formatClock(idle.lastActivityAt, clock)}`
          : `last activity ${formatClock(idle.lastActivityAt, clock)} (${idle.source === 'panel' ? 'typing or running cells' : 'the kernel'})`
    });
  } else if (platform !== 'local' && !idle) {
    out.push(unknown('idle', 'Idle cut-off', 'the idle collector has not reported yet'));
  }
  const quota = snapshot.quota;
  if (platform === 'kaggle') {
    const unit = quota?.resource === 'tpu' ? 'TPU' : 'GPU';
    if (quota && quota.remainingS !== null) {
      out.push({
        id: 'quota',
        label: `Kaggle ${unit} quota`,
        remainingS: quota.remainingS,
        totalS: quota.weeklyQuotaS,
        endsAt: null,
        unknownReason: null,
        ...countdownLevels(snapshot, 'quota.remaining', quota.remainingS),
        detail: `${quota.basis === 'stated' ? 'as you stated it' : 'estimated'}${quota.counting ? `, counting down while the ${unit} is on` : ''}; resets ${formatClock(quota.resetsAt, clock)}`
      });
    } else {
      out.push(
        unknown(
          'quota',
          `Kaggle ${unit} quota`,
          quota ? 'not stated: run %vigilo quota 30h (what kaggle.com shows) or set it in the settings' : 'the quota collector has not reported yet'
        )
      );
    }
  }
  return out;
}

/** How much of a countdown is left, as a bar: percent filled and the warning marks (0–100); null when its span is unknown. */
export function countdownBar(c: ICountdown): { percent: number; marks: number[] } | null {
  const total = c.totalS;
  if (!total || c.remainingS === null) {
    return null;
  }
  return { percent: (100 * c.remainingS) / total, marks: c.marksS.filter(m => m < total).map(m => (100 * m) / total) };
}

export interface IDisk {
  path: string;
  usedBytes: number;
  totalBytes: number;
  usedPercent: number | null;
}

/** The disks to show: the storage section's (the platform's paths), else the first three the system section reports. */
export function disks(snapshot: Pick<MetricsSnapshot, 'storage' | 'system'>): IDisk[] {
  if (snapshot.storage) {
    return snapshot.storage.disks.map(d => ({ path: d.path, usedBytes: d.usedBytes, totalBytes: d.totalBytes, usedPercent: d.usedPercent }));
  }
  return (snapshot.system?.disks ?? [])
    .slice(0, 3)
    .map(d => ({ path: d.mount, usedBytes: d.usedBytes, totalBytes: d.totalBytes, usedPercent: ratioPercent(d.usedBytes, d.totalBytes) }));
}

/** The output folder against its limit: "at least 18.6 GB of the 20 GB limit (93%)". */
export function outputText(output: NonNullable<NonNullable<MetricsSnapshot['storage']>['output']>): string {
  return `${output.truncated ? 'at least ' : ''}${formatBytes(output.bytes, 'decimal')} of the ${formatBytes(output.limitBytes, 'decimal')} limit (${formatPercent(output.usedPercent)})`;
}

function unknown(id: ICountdown['id'], label: string, reason: string): ICountdown {
  return { id, label, remainingS: null, totalS: null, endsAt: null, unknownReason: reason, marksS: [], level: 'ok', detail: null };
}

/** The OOM ETA of one GPU in words, or null when VRAM is not heading to full. */
export function oomText(device: GpuDevice): string | null {
  const s = device.oom?.secondsToLimit;
  if (s === null || s === undefined) {
    return null;
  }
  return s <= 0 ? 'VRAM full now' : `VRAM full in ~${formatApproxDuration(s)}`;
}

/**
 * What the GPU card and the report say about OOM, one rule for both: a time
 * only when the predictor gives one (`secondsToLimit` when it warns,
 * `estimateS` while it is still learning), never for a series whose peaks are
 * flat. `shownS` is the time the user reads, null when none is shown.
 */
export function oomSummary(device: GpuDevice): { text: string; shownS: number | null; tentative: boolean } {
  const oom = device.oom;
  const eta = oomText(device);
  if (eta) return { text: eta, shownS: oom!.secondsToLimit!, tentative: false };
  if (!oom) return { text: 'learning the trend…', shownS: null, tentative: false };
  const stable = oom.trend === 'flat' || oom.trend === 'plateau';
  if (!stable && oom.estimateS !== null && oom.estimateS !== undefined) {
    return { text: `maybe in ~${formatApproxDuration(oom.estimateS)} (still learning the trend)`, shownS: oom.estimateS, tentative: true };
  }
  const cycle = oom.cycle;
  if (cycle) {
    // "~10 s" and "11.5 GiB" kept on one line each in the narrow sidebar.
    const every = cycle.periodS ? ` every ~${formatApproxDuration(cycle.periodS).replace(/ /g, '\u00a0')}` : '';
    const peak = formatBytes(bytesOfMiB(cycle.peakMiB)).replace(/ /g, '\u00a0');
    return { text: stable ? `not heading there (rises and falls${every}; peaks steady at ${peak})` : `rises and falls${every}; watching the peaks (highest ${peak})`, shownS: null, tentative: false };
  }
  return { text: stable ? 'not heading there (stable)' : 'learning the trend…', shownS: null, tentative: false };
}

/** How urgent one GPU's OOM ETA is: critical within 10 min; null when VRAM is not heading to full. */
export function oomLevel(device: GpuDevice): Exclude<Level, 'ok'> | null {
  const s = device.oom?.secondsToLimit;
  if (s === null || s === undefined) {
    return null;
  }
  return s <= 10 * 60 ? 'critical' : 'warning';
}

/** The soonest threat in one line. */
export function verdict(snapshot: MetricsSnapshot, platform: PlatformName, clock: IClockOptions = {}): IVerdict {
  const threats: IThreat[] = [];
  const gpu = snapshot.gpu;
  if (gpu && gpu.status === 'ok') {
    for (const d of gpu.devices) {
      const name = gpu.devices.length > 1 ? ` on GPU ${d.index}` : '';
      const oom = oomLevel(d);
      const used = ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB);
      const full = levelColour(used, snapshot.alerts, 'gpu.vram');
      if (oom) {
        threats.push({ kind: 'oom', seconds: Math.max(0, d.oom!.secondsToLimit!), level: oom, text: `${oomText(d)}${name}` });
      } else if (used !== null && full !== 'ok') {
        threats.push({ kind: 'vram', seconds: 0, level: full, text: `VRAM ${used.toFixed(0)}% full${name}` });
      }
    }
  }
  for (const c of countdowns(snapshot, platform, clock)) {
    if (c.remainingS === null) {
      continue;
    }
    const when = c.endsAt && c.id === 'session' ? ` (${formatClock(c.endsAt, clock)})` : '';
    const text =
      c.id === 'session'
        ? `Runtime ends in ${formatApproxDuration(c.remainingS)}${when}`
        : c.id === 'idle'
          ? `Idle cut-off in ${formatApproxDuration(c.remainingS)}`
          : `Kaggle GPU quota runs out in ${formatApproxDuration(c.remainingS)} of GPU time`;
    threats.push({ kind: c.id, seconds: c.remainingS, level: c.level, text });
  }
  const output = snapshot.storage?.output;
  const outputLevel = levelColour(output?.usedPercent, snapshot.alerts, 'storage.output');
  if (output && output.usedPercent !== null && outputLevel !== 'ok') {
    threats.push({ kind: 'output', seconds: 0, level: outputLevel, text: `Output folder ${output.usedPercent.toFixed(0)}% of its limit` });
  }
  const progress = snapshot.progress?.verdict;
  if (progress && progress.kind === 'runs-out') {
    // "Will it finish?" says no: the run ends (session or quota) before the training does.
    threats.push({ kind: 'progress', seconds: progress.limitS ?? 0, level: 'critical', text: progress.text.charAt(0).toUpperCase() + progress.text.slice(1) });
  }
  const rank: Record<Level, number> = { critical: 0, warning: 1, ok: 2 };
  // A critical threat outranks a sooner calm one (the runtime ending in 11 h is not news beside VRAM at 97 %).
  threats.sort((a, b) => rank[a.level] - rank[b.level] || a.seconds - b.seconds);
  const top = threats[0] ?? null;
  return { level: top?.level ?? 'ok', text: top ? top.text : 'All clear', threat: top, threats };
}
