/**
 * "Will it finish?", pure. Input: the raw progress facts kernels send with
 * their heartbeat (tqdm bars, `vigilo.progress(...)`, the Trainer / Lightning /
 * Keras callbacks), the receive times, and the runtime's limits. Output: which
 * bar is the run, its rate, its finish time, and a verdict in words.
 *
 * 1. Tracks: one per bar, holding (t, n) points at each heartbeat. When bars
 *    nest (an epoch bar with a batch bar inside), the outer bar is the run and
 *    the inner bar refines it: n = epochs done + the inner bar's fraction.
 * 2. Rate: warm-up is cut (the first intervals, slower than half the steady
 *    interval rate: compilation, data loading, cudnn autotune); from there the
 *    rate is progress over time, so evaluation pauses that recur count in
 *    proportion, and one pause going on now barely moves it.
 * 3. The run is stalled when it has not advanced for a quarter of its age
 *    (at least 15 min): no finish time is promised then.
 * 4. Verdict: finish time against the tightest limit (session lifetime left,
 *    Kaggle GPU quota left); the idle cut-off is named when it comes first.
 *    A margin keeps the verdict from flapping around the limit.
 */
import { median } from './llm/trend';

export interface ProgressFact {
  /** The kernel's id for the bar ("tqdm:1403…", "explicit:train"). */
  id: string;
  source: string;
  name: string;
  n: number;
  total: number | null;
  /** Seconds since the bar started, as the kernel measured it. */
  elapsedS: number;
  /** tqdm's nesting position (0 = outermost). */
  position?: number;
  closed: boolean;
  /** Explicit bars: seconds since the last call. */
  idleS?: number;
}

export interface ProgressPoint {
  tMs: number;
  n: number;
}

export interface BarTrack {
  kernelId: string;
  id: string;
  source: string;
  name: string;
  total: number | null;
  startedAtMs: number;
  position: number;
  closed: boolean;
  /** Receive time of the latest fact. */
  seenAtMs: number;
  /** In the kernel's latest heartbeat (a bar abandoned by an exception stops being sent). */
  present: boolean;
  /** Last time n moved forward. */
  advancedAtMs: number;
  /** Raw n of the bar itself. */
  n: number;
  /** Points in run units (outer n + inner fraction), oldest first, bounded. */
  points: ProgressPoint[];
}

export interface TrackOptions {
  /** Points kept per bar (default 720: 2 h at a 10 s heartbeat; older points are thinned). */
  maxPoints?: number;
  /** Bars not heard of for this long are dropped (default 1 h). */
  forgetAfterMs?: number;
}

const keyOf = (kernelId: string, id: string) => `${kernelId}\u0000${id}`;

/** Thin to at most `max` points, keeping the first (the start) and the newest half untouched. */
function bounded(points: ProgressPoint[], max: number): ProgressPoint[] {
  if (points.length <= max) return points;
  const keepNew = Math.floor(max / 2);
  const old = points.slice(0, points.length - keepNew);
  const thinned = old.filter((_, i) => i === 0 || i % 2 === 0);
  return [...thinned, ...points.slice(points.length - keepNew)].slice(-max);
}

/**
 * Fold one heartbeat's facts into the tracks (returns a new map; the old one
 * is not changed). A bar missing from a beat stays as it was (tqdm forgets a
 * bar at close; the kernel sends closed bars for a while itself).
 */
export function ingestProgress(
  tracks: ReadonlyMap<string, BarTrack>,
  kernelId: string,
  facts: readonly ProgressFact[],
  nowMs: number,
  options: TrackOptions = {}
): Map<string, BarTrack> {
  const maxPoints = options.maxPoints ?? 720;
  const forgetAfterMs = options.forgetAfterMs ?? 3_600_000;
  const next = new Map<string, BarTrack>();
  for (const [key, track] of tracks) {
    if (nowMs - track.seenAtMs <= forgetAfterMs) next.set(key, track);
  }
  const live = facts.filter(f => Number.isFinite(f.n) && f.n >= 0);
  for (const fact of live) {
    const key = keyOf(kernelId, fact.id);
    const prev = next.get(key);
    const startedAtMs = nowMs - Math.max(0, fact.elapsedS) * 1000;
    const restarted = prev !== undefined && fact.n < prev.n;
    const base: BarTrack =
      prev && !restarted
        ? prev
        : {
            kernelId,
            id: fact.id,
            source: fact.source,
            name: fact.name,
            total: fact.total,
            startedAtMs,
            position: fact.position ?? 0,
            closed: false,
            seenAtMs: nowMs,
            present: true,
            advancedAtMs: startedAtMs,
            n: 0,
            points: [{ tMs: startedAtMs, n: 0 }]
          };
    next.set(key, {
      ...base,
      name: fact.name || base.name,
      total: fact.total ?? base.total,
      position: fact.position ?? base.position,
      closed: fact.closed,
      seenAtMs: nowMs,
      present: true,
      n: fact.n,
      advancedAtMs: fact.n > base.n ? nowMs - Math.max(0, fact.idleS ?? 0) * 1000 : base.advancedAtMs
    });
  }
  const reported = new Set(live.map(f => keyOf(kernelId, f.id)));
  for (const [key, track] of next) {
    if (track.kernelId === kernelId && track.present && !reported.has(key)) next.set(key, { ...track, present: false });
  }
  // Points, in run units: an open inner bar of this kernel refines its outer bar.
  for (const fact of live) {
    const key = keyOf(kernelId, fact.id);
    const track = next.get(key)!;
    const inner = innerOf(track, [...next.values()]);
    const fraction = inner && inner.total ? Math.min(0.999, inner.n / inner.total) : 0;
    const n = track.n + (track.closed ? 0 : fraction);
    const last = track.points[track.points.length - 1];
    const points = last && last.tMs === nowMs ? track.points : bounded([...track.points, { tMs: nowMs, n }], maxPoints);
    next.set(key, { ...track, points });
  }
  return next;
}

/**
 * The open bar nested inside `outer`: same kernel and source, reported in the
 * same heartbeat (a bar left open by an interrupted epoch is not), started
 * later, deeper position, with a total; the nearest level, newest first.
 */
function innerOf(outer: BarTrack, all: readonly BarTrack[]): BarTrack | null {
  let best: BarTrack | null = null;
  for (const t of all) {
    if (t === outer || t.kernelId !== outer.kernelId || t.closed || !t.total || t.source !== outer.source) continue;
    if (!t.present || t.seenAtMs < outer.seenAtMs || t.startedAtMs < outer.startedAtMs || t.position <= outer.position) continue;
    if (!best || t.position < best.position || (t.position === best.position && t.startedAtMs > best.startedAtMs)) best = t;
  }
  return best;
}

/**
 * The bar that stands for the run: an open bar with a total that its kernel
 * still reported in its latest heartbeat (a bar abandoned by an exception
 * drops out); callbacks and explicit calls before tqdm (they are deliberate);
 * among tqdm bars the outermost (lowest position, then earliest start). Null
 * when none has a total.
 */
export function mainBar(tracks: Iterable<BarTrack>, nowMs: number, staleMs = 3_600_000): BarTrack | null {
  const candidates = [...tracks].filter(t => t.present && !t.closed && t.total !== null && t.total > 0 && nowMs - t.seenAtMs <= staleMs);
  const rank = (t: BarTrack) => (t.source === 'tqdm' ? 1 : 0);
  candidates.sort((a, b) => rank(a) - rank(b) || a.position - b.position || a.startedAtMs - b.startedAtMs);
  return candidates[0] ?? null;
}

export type ProgressStatus = 'running' | 'warming-up' | 'stalled' | 'finished' | 'unknown';

export interface ProgressEstimate {
  status: ProgressStatus;
  /** Run units per second (steps, epochs...), null when not known. */
  ratePerS: number | null;
  /** Seconds from now to the end at that rate. */
  remainingS: number | null;
  /** 0..1 of the total done. */
  fraction: number | null;
  /** 0..1: how much history the rate rests on. */
  confidence: number;
  basis: string;
}

export interface EstimateOptions {
  /** Fewest points after warm-up before a rate is given (default 3). */
  minPoints?: number;
  /** No advance for this share of the run's age → stalled (default 0.25)... */
  stallFraction?: number;
  /** ...and at least this long (default 15 min: an evaluation pass is not a stall). */
  minStallMs?: number;
}

/** Index of the first point after warm-up: intervals slower than half the steady rate at the start are cut. */
export function warmupEnd(points: readonly ProgressPoint[]): number {
  if (points.length < 3) return 0;
  const rates: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const dt = points[i].tMs - points[i - 1].tMs;
    rates.push(dt > 0 ? (points[i].n - points[i - 1].n) / dt : 0);
  }
  const later = rates.slice(Math.floor(rates.length / 2)).filter(r => r > 0);
  if (later.length === 0) return 0;
  const steady = median(later);
  let i = 0;
  // Never cut more than half the history.
  while (i < Math.floor(rates.length / 2) && rates[i] < 0.5 * steady) i++;
  return i;
}

export function estimateProgress(track: BarTrack, nowMs: number, options: EstimateOptions = {}): ProgressEstimate {
  const minPoints = options.minPoints ?? 3;
  const total = track.total;
  const last = track.points[track.points.length - 1];
  const n = last?.n ?? track.n;
  const fraction = total && total > 0 ? Math.min(1, n / total) : null;
  const out = (status: ProgressStatus, ratePerS: number | null, remainingS: number | null, confidence: number, basis: string): ProgressEstimate => ({
    status,
    ratePerS,
    remainingS: remainingS === null ? null : Math.round(remainingS),
    fraction: fraction === null ? null : Math.round(fraction * 10_000) / 10_000,
    confidence: Math.round(confidence * 100) / 100,
    basis
  });
  if (track.closed || (total !== null && track.n >= total)) return out('finished', null, 0, 1, 'the bar reached its end');
  if (!total) return out('unknown', null, null, 0, 'the bar has no total');
  const ageMs = nowMs - track.startedAtMs;
  const quietMs = nowMs - track.advancedAtMs;
  if (track.n > 0 && quietMs > Math.max(options.minStallMs ?? 900_000, (options.stallFraction ?? 0.25) * ageMs)) {
    return out('stalled', null, null, 0, `no progress for ${humanDuration(quietMs / 1000)}`);
  }
  const w = warmupEnd(track.points);
  const used = track.points.slice(w);
  const first = used[0];
  if (!first || used.length < minPoints || last.n <= first.n || last.tMs <= first.tMs) {
    return out('warming-up', null, null, 0, `not enough progress yet (${Math.max(0, used.length - 1)} of ${minPoints - 1} intervals after warm-up)`);
  }
  const rate = (last.n - first.n) / ((last.tMs - first.tMs) / 1000);
  const remainingS = Math.max(0, (total - last.n) / rate - (nowMs - last.tMs) / 1000);
  const evidence = Math.min(1, (used.length - 1) / 6) * Math.min(1, (last.n - first.n) / total / 0.05);
  const cut = w > 0 ? `, first ${humanDuration((track.points[w].tMs - track.points[0].tMs) / 1000)} of warm-up left out` : '';
  return out('running', rate, remainingS, evidence, `${formatRate(rate)} over the last ${humanDuration((last.tMs - first.tMs) / 1000)}${cut}`);
}

export interface RuntimeLimits {
  /** Session lifetime left (null: no limit). */
  sessionRemainingS: number | null;
  /** Kaggle weekly GPU quota left, when a GPU counts against it. */
  quotaRemainingS?: number | null;
  /** Idle cut-off left and its length (null: none). */
  idleRemainingS?: number | null;
  idleCutoffS?: number | null;
}

export type VerdictKind = 'finishes' | 'runs-out' | 'finished' | 'stalled' | 'unknown';

export interface ProgressVerdict {
  kind: VerdictKind;
  text: string;
  /** Seconds to the finish at the current rate. */
  needsS: number | null;
  /** The tightest limit and its name. */
  limitS: number | null;
  limit: 'session' | 'quota' | null;
  /** Where the run gets to when the limit ends it ('runs-out' only). */
  reachesN: number | null;
}

/** "2 h 10 min", "45 min", "50 s". */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h === 0) return `${m} min`;
  return `${h} h ${String(m).padStart(2, '0')} min`;
}

function formatCount(n: number): string {
  return Math.floor(n).toLocaleString('en-US');
}

function formatRate(rate: number): string {
  if (rate >= 1) return `${Math.round(rate * 10) / 10} steps/s`;
  if (rate * 60 >= 1) return `${Math.round(rate * 600) / 10} steps/min`;
  return `${Math.round(rate * 36000) / 10} steps/h`;
}

/**
 * Words for the estimate against the limits. `previous` keeps the verdict from
 * flapping: leaving 'runs-out' needs the finish 10 % inside the limit.
 */
export function progressVerdict(track: BarTrack, estimate: ProgressEstimate, limits: RuntimeLimits, previous: VerdictKind | null = null): ProgressVerdict {
  const none = (kind: VerdictKind, text: string): ProgressVerdict => ({ kind, text, needsS: estimate.remainingS, limitS: null, limit: null, reachesN: null });
  const name = track.name ? `“${track.name}”` : 'the run';
  if (estimate.status === 'finished') return none('finished', `${name} finished`);
  if (estimate.status === 'stalled') return none('stalled', `${name} is stalled: ${estimate.basis}`);
  if (estimate.remainingS === null || estimate.ratePerS === null || track.total === null) return none('unknown', `${name}: ${estimate.basis}`);
  const needs = estimate.remainingS;
  const options: Array<{ s: number; limit: 'session' | 'quota'; words: string }> = [];
  if (limits.sessionRemainingS !== null && limits.sessionRemainingS !== undefined) options.push({ s: Math.max(0, limits.sessionRemainingS), limit: 'session', words: 'the runtime has' });
  if (limits.quotaRemainingS !== null && limits.quotaRemainingS !== undefined) options.push({ s: Math.max(0, limits.quotaRemainingS), limit: 'quota', words: 'the GPU quota has' });
  options.sort((a, b) => a.s - b.s);
  const tight = options[0];
  const idle =
    limits.idleRemainingS !== null && limits.idleRemainingS !== undefined && limits.idleCutoffS && limits.idleRemainingS < needs
      ? ` (the ${humanDuration(limits.idleCutoffS)} idle cut-off can stop it earlier if the platform counts a running cell as idle: keep the tab active)`
      : '';
  if (!tight) {
    return { kind: 'finishes', text: `finishes in ${humanDuration(needs)}; no runtime limit here${idle}`, needsS: needs, limitS: null, limit: null, reachesN: null };
  }
  const margin = previous === 'runs-out' ? 0.9 : 1;
  if (needs <= tight.s * margin) {
    return { kind: 'finishes', text: `finishes in ${humanDuration(needs)}; ${tight.words} ${humanDuration(tight.s)}${idle}`, needsS: needs, limitS: tight.s, limit: tight.limit, reachesN: null };
  }
  const last = track.points[track.points.length - 1];
  const reaches = Math.min(track.total, (last?.n ?? track.n) + estimate.ratePerS * tight.s);
  return {
    kind: 'runs-out',
    text: `needs ${humanDuration(needs)}, ${tight.words} ${humanDuration(tight.s)}: at this rate it reaches step ${formatCount(reaches)} of ${formatCount(track.total)} — checkpoints keep the work${idle}`,
    needsS: needs,
    limitS: tight.s,
    limit: tight.limit,
    reachesN: Math.floor(reaches)
  };
}
