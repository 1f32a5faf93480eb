/**
 * When to checkpoint, and where: pure functions of plain inputs (no I/O, no
 * clock). The sidecar's checkpoint module feeds them the snapshot on its tick;
 * the defaults and their reasons are in docs/CHECKPOINTS.md.
 */
import type { CheckpointDestination, CheckpointSettings, CheckpointTrigger } from '../shared/checkpoint-api';

/** Defaults, each with its reason in docs/CHECKPOINTS.md. */
export const DEFAULT_CHECKPOINT_SETTINGS: CheckpointSettings = {
  auto: true,
  intervalMin: 30,
  keep: 3,
  saveFactor: 3,
  marginS: 120,
  idleLeadS: 300,
  diskPercent: 90,
  oomLeadS: 120,
  destination: null,
  run: null
};

/** Assumed duration of a first save, before any was measured (s). */
export const FIRST_SAVE_ESTIMATE_S = 60;
/** First retry after a retryable failure (s); doubles per failure up to RETRY_MAX_S. */
export const RETRY_BASE_S = 60;
export const RETRY_MAX_S = 30 * 60;

/** Conditions that trigger once per episode: they re-arm when the condition clears. */
export type ConditionTrigger = 'session-end' | 'idle-cutoff' | 'disk' | 'oom';
export type Latches = Partial<Record<ConditionTrigger, boolean>>;

export interface PolicyInput {
  nowMs: number;
  settings: CheckpointSettings;
  /** Something to save: a kernel watches objects. False → never due (mirrors copy on their own). */
  watching: boolean;
  /** When watching began (the interval counts from here before the first save). */
  watchingSinceMs: number | null;
  /** A save is in flight (ordered, saving, copying or verifying): never two at once. */
  saving: boolean;
  /** Start of the last save attempt, verified or not (ms), null when none. */
  lastAttemptAtMs: number | null;
  /** Duration of the last verified save (s), null when none was measured. */
  lastSaveS: number | null;
  /** Someone pressed "Checkpoint now" and it is not served yet. */
  manualRequested: boolean;
  /** Failure streak of automatic saves; retryable ones retry with backoff. */
  failure: { atMs: number; consecutive: number; retryable: boolean } | null;
  sessionRemainingS: number | null;
  idleRemainingS: number | null;
  /** Fill of the ephemeral disk (/content), percent. */
  diskUsedPercent: number | null;
  /** Soonest predicted OOM across GPUs (s), null when none predicted. */
  oomSecondsToLimit: number | null;
  latches: Latches;
}

export interface PolicyDecision {
  /** Save now, for this reason; null: nothing to do this tick. */
  due: { trigger: CheckpointTrigger; reason: string } | null;
  /** The next planned automatic checkpoint. */
  next: { atMs: number | null; trigger: CheckpointTrigger | null; reason: string };
  backoff: { intervalMin: number; reason: string; retryAtMs: number | null } | null;
  /** Latches to keep for the next tick. */
  latches: Latches;
}

const minutes = (s: number): string => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

/** Session time left under which a save must start: saveFactor × last save + margin. */
export function sessionEndThresholdS(settings: CheckpointSettings, lastSaveS: number | null): number {
  return settings.saveFactor * (lastSaveS ?? FIRST_SAVE_ESTIMATE_S) + settings.marginS;
}

/**
 * The interval in force: the setting, or twice the last save's duration when a
 * save takes longer than the interval (training would otherwise spend all its
 * time saving).
 */
export function effectiveIntervalS(settings: CheckpointSettings, lastSaveS: number | null): { seconds: number; reason: string | null } {
  const base = settings.intervalMin * 60;
  if (lastSaveS !== null && lastSaveS > base) {
    const seconds = 2 * lastSaveS;
    return {
      seconds,
      reason: `the last save took ${minutes(lastSaveS)}, longer than the ${minutes(base)} interval: saving every ${minutes(seconds)} instead so training keeps most of its time`
    };
  }
  return { seconds: base, reason: null };
}

export function retryDelayS(consecutive: number): number {
  return Math.min(RETRY_MAX_S, RETRY_BASE_S * 2 ** Math.max(0, consecutive - 1));
}

export function decideCheckpoint(input: PolicyInput): PolicyDecision {
  const { settings, nowMs } = input;
  const interval = effectiveIntervalS(settings, input.lastSaveS);
  const retryAtMs = input.failure?.retryable ? input.failure.atMs + retryDelayS(input.failure.consecutive) * 1000 : null;
  /** A retry is planned and not yet due. */
  const waiting = retryAtMs !== null && retryAtMs > nowMs;
  const backoff =
    interval.reason || waiting
      ? {
          intervalMin: interval.seconds / 60,
          reason: [interval.reason, waiting ? `the last save failed ${input.failure!.consecutive} time(s) in a row: next try in ${minutes((retryAtMs - nowMs) / 1000)}` : null]
            .filter(Boolean)
            .join('; '),
          retryAtMs: waiting ? retryAtMs : null
        }
      : null;

  // Conditions, each latched once per episode (cleared when the condition clears).
  const threshold = sessionEndThresholdS(settings, input.lastSaveS);
  const conditions: Record<ConditionTrigger, { on: boolean; reason: string }> = {
    'session-end': {
      on: input.sessionRemainingS !== null && input.sessionRemainingS < threshold,
      reason: `the session ends in ${minutes(input.sessionRemainingS ?? 0)}, under ${settings.saveFactor} × the last save (${minutes(input.lastSaveS ?? FIRST_SAVE_ESTIMATE_S)}) + ${minutes(settings.marginS)}`
    },
    'idle-cutoff': {
      on: input.idleRemainingS !== null && input.idleRemainingS < settings.idleLeadS,
      reason: `the idle cut-off is ${minutes(input.idleRemainingS ?? 0)} away`
    },
    disk: {
      on: input.diskUsedPercent !== null && input.diskUsedPercent >= settings.diskPercent,
      reason: `the runtime disk is ${input.diskUsedPercent ?? 0} % full (threshold ${settings.diskPercent} %)`
    },
    oom: {
      on: input.oomSecondsToLimit !== null && input.oomSecondsToLimit <= settings.oomLeadS,
      reason: `GPU memory is predicted to run out in ${minutes(input.oomSecondsToLimit ?? 0)}`
    }
  };
  const latches: Latches = {};
  for (const key of Object.keys(conditions) as ConditionTrigger[]) {
    // A latch survives while its condition holds; it re-arms once the condition clears.
    if (conditions[key].on && input.latches[key]) latches[key] = true;
  }

  const nextFrom = input.lastAttemptAtMs ?? input.watchingSinceMs;
  let next: PolicyDecision['next'];
  if (!input.watching) {
    next = { atMs: null, trigger: null, reason: 'nothing is watched: call vigilo.checkpoint.watch(...) in the kernel' };
  } else if (!settings.auto) {
    next = { atMs: null, trigger: null, reason: 'automatic checkpoints are off ("Checkpoint now" still works)' };
  } else {
    // After a retryable failure the retry time replaces the interval (sooner at first, later as it doubles).
    const atMs = retryAtMs ?? (nextFrom !== null ? nextFrom + interval.seconds * 1000 : nowMs);
    next = {
      atMs,
      trigger: 'interval',
      reason: retryAtMs !== null ? `a retry after ${input.failure!.consecutive} failure(s)` : `every ${minutes(interval.seconds)}${interval.reason ? ' (backed off)' : ''}`
    };
  }

  const result = (due: PolicyDecision['due']): PolicyDecision => ({ due, next, backoff, latches });
  if (!input.watching || input.saving) {
    // Never two at once; conditions stay un-latched so they fire once the save in flight ends.
    return result(null);
  }
  if (input.manualRequested) {
    return result({ trigger: 'manual', reason: 'requested ("Checkpoint now")' });
  }
  if (!settings.auto || waiting) {
    return result(null);
  }
  // Most urgent first: OOM and session end lose the state, idle and disk lose the runtime soon after.
  for (const key of ['oom', 'session-end', 'idle-cutoff', 'disk'] as ConditionTrigger[]) {
    if (conditions[key].on && !latches[key]) {
      latches[key] = true;
      return result({ trigger: key, reason: conditions[key].reason });
    }
  }
  if (next.atMs !== null && nowMs >= next.atMs) {
    return result({ trigger: 'interval', reason: next.reason });
  }
  return result(null);
}

// ---------------------------------------------------------------------------
// Destination

export interface DestinationInput {
  platform: 'colab' | 'kaggle' | 'local' | 'unknown';
  driveMounted: boolean;
  /** Where Drive is mounted (the platform path, e.g. /content/drive). */
  driveMountPoint: string;
  /** User setting; wins over Drive and Kaggle. */
  configured: string | null;
  run: string;
  /** Paths that vanish with the runtime (profile), and paths that outlive it. */
  ephemeralPaths: string[];
  durablePaths: string[];
  /** Kaggle: bytes already in /kaggle/working and its limit. */
  kaggleOutputBytes: number | null;
  kaggleLimitBytes: number | null;
  /** Local machine: the Vigilo data folder (survives restarts of the sidecar and the kernel). */
  localDataDir: string;
}

export const DRIVE_FOLDER = 'MyDrive/vigilo-checkpoints';
export const KAGGLE_WORKING = '/kaggle/working';
export const MOUNT_DRIVE_FIX =
  "Mount Google Drive: run `from google.colab import drive; drive.mount('/content/drive')` in a cell, then checkpoints go to /content/drive/MyDrive/vigilo-checkpoints/. Or set a destination: `%vigilo checkpoint dest /path`.";

const under = (path: string, root: string): boolean => path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
const join = (a: string, b: string): string => `${a.replace(/\/+$/, '')}/${b}`;

/**
 * Where checkpoints go and whether that place outlives the runtime. The paths
 * are platform paths (the caller maps them under its filesystem root).
 */
export function chooseDestination(input: DestinationInput): CheckpointDestination {
  const base = { freeBytes: null, limitBytes: null };
  if (input.configured) {
    const ephemeral = input.ephemeralPaths.some(p => under(input.configured!, p)) && !input.durablePaths.some(p => under(input.configured!, p));
    return {
      ...base,
      path: join(input.configured, input.run),
      kind: 'configured',
      durable: !ephemeral,
      reason: ephemeral
        ? `${input.configured} is on the runtime's own disk: it disappears with the runtime, so these checkpoints are NOT safe`
        : `configured destination ${input.configured}`,
      fix: ephemeral ? MOUNT_DRIVE_FIX : null
    };
  }
  if (input.driveMounted) {
    return {
      ...base,
      path: join(join(input.driveMountPoint, DRIVE_FOLDER), input.run),
      kind: 'drive',
      durable: true,
      reason: `Google Drive is mounted at ${input.driveMountPoint}`,
      fix: null
    };
  }
  if (input.platform === 'kaggle') {
    const free = input.kaggleLimitBytes !== null ? Math.max(0, input.kaggleLimitBytes - (input.kaggleOutputBytes ?? 0)) : null;
    return {
      path: join(join(KAGGLE_WORKING, 'vigilo-checkpoints'), input.run),
      kind: 'kaggle',
      durable: true,
      reason: `${KAGGLE_WORKING} is kept as the notebook's output (within its ${input.kaggleLimitBytes !== null ? `${Math.round(input.kaggleLimitBytes / 1e9)} GB` : ''} limit) when the version is saved`,
      fix: 'In an interactive Kaggle session, /kaggle/working is kept only when you Save Version; commit the notebook to keep the checkpoints.',
      freeBytes: free,
      limitBytes: input.kaggleLimitBytes
    };
  }
  if (input.platform === 'colab') {
    return {
      ...base,
      path: null,
      kind: 'none',
      durable: false,
      reason: 'Google Drive is not mounted and no destination is set: /content is deleted with the runtime, so Vigilo will not save there and call it safe',
      fix: MOUNT_DRIVE_FIX
    };
  }
  return {
    ...base,
    path: join(join(input.localDataDir, 'checkpoints'), input.run),
    kind: 'configured',
    durable: true,
    reason: `local machine: the Vigilo data folder ${input.localDataDir} (kept across restarts); set a destination to change it`,
    fix: null
  };
}
