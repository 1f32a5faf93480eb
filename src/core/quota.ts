/**
 * Kaggle's weekly accelerator quotas, pure: one QuotaState per resource (the
 * GPU quota, ~30 h; the TPU quota, 20 h). The user states what is left
 * (`%vigilo quota 23h`, for the resource of the current session); Vigilo
 * counts session time against the quota of the accelerator attached (a TPU
 * session draws on the TPU quota, a GPU session on the GPU quota) and resets
 * both at the weekly boundary (Saturday 00:00 UTC, Kaggle docs / MISSION.md).
 */
import { utcDayStart } from '../shared/costBuckets';
import { parseDuration } from './units';

export interface QuotaState {
  /** What the user last stated was left, in seconds, and when. null: never stated. */
  statedRemainingS: number | null;
  statedAtMs: number | null;
  /** Seconds counted on this resource since the statement (or since the week started when never stated). */
  gpuUsedS: number;
  /** Start of the quota week the figures belong to. */
  weekStartMs: number;
  /** Last time GPU use was counted (to add only real elapsed time). */
  lastTickMs: number | null;
}

/** The most recent Saturday 00:00 UTC at or before `ms`. */
export function weekStartUtc(ms: number): number {
  const daysSinceSaturday = (new Date(ms).getUTCDay() + 1) % 7; // Saturday = 6 → 0
  return utcDayStart(ms) - daysSinceSaturday * 86_400_000;
}

export function initialQuota(nowMs: number): QuotaState {
  return { statedRemainingS: null, statedAtMs: null, gpuUsedS: 0, weekStartMs: weekStartUtc(nowMs), lastTickMs: null };
}

/** "23h", "22h30m", "22:30" or a number of hours → seconds; throws UnitParseError on nonsense. */
export function parseQuotaRemaining(raw: string | number): number {
  const s = parseDuration(raw, 'h');
  if (s > 7 * 86_400) {
    throw new RangeError(`"${raw}" is more than a week of quota; give the hours left this week, e.g. "23h".`);
  }
  return s;
}

export function stateRemaining(state: QuotaState, remainingS: number, nowMs: number): QuotaState {
  return { ...state, statedRemainingS: remainingS, statedAtMs: nowMs, gpuUsedS: 0, weekStartMs: weekStartUtc(nowMs) };
}

/**
 * Advance the counter to `nowMs`. A GPU session counts while `gpuActive`;
 * gaps longer than `maxGapMs` (the sidecar was not running) are not counted.
 * Crossing a weekly boundary resets to the full quota.
 */
export function tickQuota(state: QuotaState, nowMs: number, gpuActive: boolean, maxGapMs: number): QuotaState {
  let next = { ...state };
  const week = weekStartUtc(nowMs);
  if (week > next.weekStartMs) {
    next = { statedRemainingS: null, statedAtMs: null, gpuUsedS: 0, weekStartMs: week, lastTickMs: Math.max(week, next.lastTickMs ?? week) };
  }
  if (gpuActive && next.lastTickMs !== null) {
    const gap = nowMs - next.lastTickMs;
    if (gap > 0 && gap <= maxGapMs) {
      next.gpuUsedS += gap / 1000;
    }
  }
  next.lastTickMs = nowMs;
  return next;
}

export type QuotaResource = 'gpu' | 'tpu';

/** The quota a Kaggle session draws on: the TPU quota with a TPU attached, the GPU quota with a GPU, none on CPU. */
export function quotaResource(platform: string, acceleratorKind: string | undefined, gpusSeen: number): QuotaResource | null {
  if (platform !== 'kaggle') return null;
  if (acceleratorKind === 'tpu') return 'tpu';
  if (acceleratorKind === 'gpu' || gpusSeen > 0) return 'gpu';
  return null;
}

export interface QuotaView {
  weeklyQuotaS: number | null;
  remainingS: number | null;
  usedThisWeekS: number | null;
  /** 'stated': from the user's statement minus counted GPU time; 'estimated': full quota minus what this machine counted. */
  basis: 'stated' | 'estimated' | 'unknown';
  statedAt: string | null;
  statedRemainingS: number | null;
  countedGpuS: number;
  weekStartedAt: string;
  resetsAt: string;
}

export function quotaView(state: QuotaState, weeklyQuotaS: number | null): QuotaView {
  const common = {
    weeklyQuotaS,
    statedAt: state.statedAtMs === null ? null : new Date(state.statedAtMs).toISOString(),
    statedRemainingS: state.statedRemainingS,
    countedGpuS: Math.round(state.gpuUsedS),
    weekStartedAt: new Date(state.weekStartMs).toISOString(),
    resetsAt: new Date(state.weekStartMs + 7 * 86_400_000).toISOString()
  };
  if (state.statedRemainingS !== null) {
    const remainingS = Math.max(0, Math.round(state.statedRemainingS - state.gpuUsedS));
    return { ...common, remainingS, usedThisWeekS: weeklyQuotaS === null ? null : Math.max(0, Math.round(weeklyQuotaS - remainingS)), basis: 'stated' };
  }
  if (weeklyQuotaS !== null) {
    return { ...common, remainingS: Math.max(0, Math.round(weeklyQuotaS - state.gpuUsedS)), usedThisWeekS: Math.round(state.gpuUsedS), basis: 'estimated' };
  }
  return { ...common, remainingS: null, usedThisWeekS: null, basis: 'unknown' };
}
