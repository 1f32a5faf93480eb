/**
 * The evaluation of Vigilo's predictions, pure and deterministic (seeded
 * noise): a library of VRAM traces and training-progress traces, replayed
 * sample by sample through the same functions the sidecar runs, and scored.
 * `bench/predictions.mjs` prints the figures (docs/BENCHMARKS.md);
 * predictionEval.spec.ts holds each figure to a threshold.
 *
 * No published VRAM time series was found (the `search` tool's public code
 * and pages hold single nvidia-smi readings, not logs), so every VRAM trace
 * here is synthetic, shaped after what nvidia-smi shows for the patterns the
 * issue names: leaks (ramps), staircases (growth per epoch), allocator
 * sawtooths, PyTorch's caching allocator reserving segments then holding.
 */
import type { GpuDevice } from '../shared/api';
import { oomSummary } from '../shared/dashboard';
import { contextForecast, type HealthCall } from './llm/health';
import { OOM_ALERT_LEVELS, oomAlertValue, predictOom, type OomOptions, type VramSample } from './oom';
import { estimateProgress, ingestProgress, mainBar, progressVerdict, type BarTrack, type ProgressFact } from './progress';
import { runtimeStart, sessionClock } from './session';
import { orderLevels, step } from './thresholds';

/** Park–Miller: the same noise on every run. */
export function seeded(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

// ---------------------------------------------------------------------------
// VRAM

export interface VramTrace {
  name: string;
  totalMiB: number;
  /** Used MiB at each second from 0. */
  used: number[];
  /** When the trace reaches the card (s), null for traces that never fill. */
  fillAtS: number | null;
  /** Where the ramp that fills starts (s): "10 % of the way" is measured from here. */
  rampStartS: number;
  /** A sawtooth's period (s): its first two teeth end at 1× and 2× this. */
  periodS?: number;
}

const T4 = 15360;

function trace(name: string, seconds: number, f: (t: number) => number, noiseMiB = 0, seed = 1, totalMiB = T4, rampStartS = 0): VramTrace {
  const rand = seeded(seed);
  const used: number[] = [];
  let fillAtS: number | null = null;
  for (let t = 0; t <= seconds; t++) {
    const v = Math.max(0, Math.min(totalMiB, Math.round(f(t) + (noiseMiB ? (rand() - 0.5) * 2 * noiseMiB : 0))));
    used.push(v);
    if (fillAtS === null && f(t) >= totalMiB) fillAtS = t;
    if (fillAtS !== null) break;
  }
  return { name, totalMiB, used, fillAtS, rampStartS };
}

/** Traces that reach the limit: the warning lead and the estimate error are scored on them. */
export function fillingTraces(): VramTrace[] {
  const ramp = (fillS: number, noise: number, seed: number) => {
    const slope = (T4 - 1000) / fillS;
    return trace(`ramp filling in ${fillS} s${noise ? ` ± ${noise} MiB` : ''}`, fillS + 10, t => 1000 + slope * t, noise, seed);
  };
  return [
    ramp(90, 0, 1),
    ramp(180, 0, 2),
    ramp(600, 0, 3),
    ramp(1800, 0, 4),
    ramp(180, 150, 5),
    ramp(600, 150, 6),
    ramp(1800, 150, 7),
    trace('leak 8 MiB/s under a 13 s allocator sawtooth of 800 MiB ± 150', 2000, t => 2000 + 8 * t + 800 * ((t % 13) / 13), 150, 8),
    trace('staircase: +900 MiB each 60 s epoch', 1000, t => 3000 + 900 * Math.floor(t / 60), 0, 9),
    trace('PyTorch allocator leak: a 2 GiB segment reserved every 120 s', 1000, t => 1500 + 2048 * Math.floor(t / 120), 30, 10),
    trace('freed at 360 s, then a new 60 MiB/s ramp', 1000, t => (t < 360 ? 1200 + 30 * t : 2000 + 60 * (t - 360)), 40, 11, T4, 360),
    // Sawtooths whose peaks grow: the envelope of the peaks fills the card.
    saw('growing sawtooth 10 s, 6 → 12 GiB ± 100 MiB, peaks +60 MiB a tooth', 10, t => 6 * GiB + 6 * GiB * ((t % 10) / 10) + 60 * Math.floor(t / 10), 100, 12, 2000),
    saw('growing sawtooth 30 s, 4 → 10 GiB ± 100 MiB, peaks +150 MiB a tooth', 30, t => 4 * GiB + 6 * GiB * ((t % 30) / 30) + 150 * Math.floor(t / 30), 100, 13, 2000)
  ];
}

const GiB = 1024;

/** A periodic trace (sawtooth): its period is kept so its scares can be counted tooth by tooth. */
function saw(name: string, periodS: number, f: (t: number) => number, noiseMiB: number, seed: number, seconds = 3600): VramTrace {
  return { ...trace(name, seconds, f, noiseMiB, seed), periodS };
}

/** A training sawtooth: `lo` → `hi` GiB over `climbS` of every `periodS`, freed at once (or over `freeS` samples). */
function tooth(t: number, periodS: number, lo: number, hi: number, climbS = periodS, freeS = 0): number {
  const p = t % periodS;
  if (p < climbS) return (lo + ((hi - lo) * p) / climbS) * GiB;
  if (p >= periodS - freeS) return (hi - ((hi - lo) * (p - (periodS - freeS) + 1)) / (freeS + 1)) * GiB;
  return hi * GiB;
}

/** Traces that never fill in their hour: every alert on them is a false alarm. */
export function quietTraces(): VramTrace[] {
  const hour = 3600;
  return [
    trace('flat at 9 GiB with ± 50 MiB jitter', hour, () => 9000, 50, 21),
    saw('sawtooth 7 s, 6 GB deep', 7, t => 4000 + 6000 * ((t % 7) / 7), 0, 22),
    saw('sawtooth 20 s, 6 GB deep', 20, t => 4000 + 6000 * ((t % 20) / 20), 0, 23),
    saw('sawtooth 45 s, 6 GB deep', 45, t => 4000 + 6000 * ((t % 45) / 45), 0, 24),
    saw('training epochs: 5 s climb, 60 s hold, empty_cache()', 65, t => 3000 + 7000 * Math.min(1, (t % 65) / 5), 80, 25),
    // The issue's case: 6 → 12 GiB and back every 10 s on a 15 GiB card, with and without jitter.
    saw('sawtooth 10 s, 6 → 12 GiB', 10, t => tooth(t, 10, 6, 12), 0, 41),
    saw('sawtooth 10 s, 6 → 12 GiB ± 100 MiB', 10, t => tooth(t, 10, 6, 12), 100, 42),
    saw('sawtooth 5 s, 10 → 12 GiB ± 50 MiB (shallow, fast)', 5, t => tooth(t, 5, 10, 12), 50, 43),
    saw('sawtooth 30 s, 2 → 13 GiB ± 100 MiB (deep)', 30, t => tooth(t, 30, 2, 13), 100, 44),
    saw('sawtooth 60 s, 8 → 11 GiB ± 100 MiB (shallow, slow)', 60, t => tooth(t, 60, 8, 11), 100, 45),
    saw('sawtooth 20 s: 8 s climb 6 → 12 GiB, hold, freed over 3 s ± 100 MiB', 20, t => tooth(t, 20, 6, 12, 8, 3), 100, 46),
    saw('sawtooth 90 s, 5 → 11 GiB ± 100 MiB (slow)', 90, t => tooth(t, 90, 5, 11), 100, 47),
    trace('model loaded at 120 s, then a plateau', hour, t => (t < 120 ? 800 : 11800), 20, 26),
    trace('PyTorch caching allocator: blocks reserved, then held', hour, t => 1500 + 2048 * (Math.min(4, Math.floor(t / 2)) + (t >= 300 ? 1 : 0) + (t >= 900 ? 1 : 0)), 10, 27),
    trace('slow drift, 0.3 MiB/s (10 h from the limit)', hour, t => 4000 + 0.3 * t, 20, 28)
  ];
}

export interface VramScore {
  name: string;
  /** Relative error of the estimate at 10 / 25 / 50 % of the way to the limit (null: no estimate then). */
  errorAt: Record<'10' | '25' | '50', number | null>;
  /** Seconds between the first warning and the limit (null: never warned). */
  leadS: number | null;
  /** Seconds the ramp took to fill. */
  fillS: number | null;
  alerts: number;
  /** Alerts raised after a sawtooth's first tooth (its first tooth alone looks like a ramp). */
  alertsAfterFirstTooth: number;
  hours: number;
  /**
   * Scare texts: times the GPU card starts showing an OOM time (oomSummary's
   * shownS, tentative or not) on a trace that never fills, counted in the
   * first tooth, the second tooth, and after the second tooth (a trace
   * without a period counts all of them after). Null on traces that fill.
   */
  scares: { firstTooth: number; secondTooth: number; after: number; afterSeconds: number } | null;
}

/** Replay one trace at 1 Hz through predictOom and the gpu.oom alert levels. */
export function scoreVram(tr: VramTrace, options: OomOptions = {}): VramScore {
  const levels = orderLevels(OOM_ALERT_LEVELS.levels, 'below');
  const samples: VramSample[] = [];
  let level = -1;
  let alerts = 0;
  let alertsAfterFirstTooth = 0;
  let firstAlertS: number | null = null;
  const estimates: Array<number | null> = [];
  const scares = tr.fillAtS === null ? { firstTooth: 0, secondTooth: 0, after: 0, afterSeconds: 0 } : null;
  let shownBefore = false;
  for (let t = 0; t < tr.used.length; t++) {
    samples.push({ tMs: t * 1000, usedMiB: tr.used[t] });
    // The sidecar keeps a ring; a window's worth of samples is all the predictor reads.
    const p = predictOom(samples.length > 400 ? samples.slice(-400) : samples, tr.totalMiB, options);
    estimates.push(p.estimateS);
    const shown = oomSummary({ oom: p } as GpuDevice).shownS !== null;
    if (scares && shown) {
      const phase = tr.periodS === undefined ? 'after' : t < tr.periodS ? 'firstTooth' : t < 2 * tr.periodS ? 'secondTooth' : 'after';
      if (!shownBefore) scares[phase]++;
      if (phase === 'after') scares.afterSeconds++;
    }
    shownBefore = shown;
    const value = oomAlertValue(p);
    if (value !== null) {
      const s = step(level, value, levels, 'below', OOM_ALERT_LEVELS.hysteresis);
      if (s.entered !== null) {
        alerts++;
        if (tr.periodS !== undefined && t >= tr.periodS) alertsAfterFirstTooth++;
      }
      level = s.level;
    }
    // Warned: an alert level is active while the prediction points at the limit (after the ramp began).
    if (firstAlertS === null && t >= tr.rampStartS && level >= 0 && p.trend === 'rising') firstAlertS = t;
  }
  const errorAt = { '10': null, '25': null, '50': null } as VramScore['errorAt'];
  if (tr.fillAtS !== null) {
    for (const share of ['10', '25', '50'] as const) {
      const t = Math.round(tr.rampStartS + (Number(share) / 100) * (tr.fillAtS - tr.rampStartS));
      const truth = tr.fillAtS - t;
      const est = estimates[t];
      errorAt[share] = est === null || est === undefined ? null : Math.abs(est - truth) / truth;
    }
  }
  return {
    name: tr.name,
    errorAt,
    leadS: tr.fillAtS !== null && firstAlertS !== null ? tr.fillAtS - firstAlertS : null,
    fillS: tr.fillAtS === null ? null : tr.fillAtS - tr.rampStartS,
    alerts,
    alertsAfterFirstTooth,
    hours: tr.used.length / 3600,
    scares
  };
}

// ---------------------------------------------------------------------------
// Progress

export interface ProgressTrace {
  name: string;
  total: number;
  /** Steps done at each second, until the end. */
  stepsAt: number[];
  /** Inner bar (per epoch) facts, for nested traces. */
  inner?: { per: number };
}

function run(name: string, total: number, stepSeconds: (i: number, rand: () => number) => number, seed: number, inner?: { per: number }): ProgressTrace {
  const rand = seeded(seed);
  const stepsAt: number[] = [0];
  let t = 0;
  let done = 0;
  for (let i = 0; i < total; i++) {
    t += stepSeconds(i, rand);
    while (stepsAt.length <= Math.floor(t)) stepsAt.push(done);
    done++;
  }
  stepsAt.push(total);
  return { name, total, stepsAt, inner };
}

export function progressTraces(): ProgressTrace[] {
  return [
    run('steady: 10,000 steps at 2 steps/s', 10_000, () => 0.5, 31),
    run('warm-up: first 50 steps at 3 s each (compile, loaders)', 10_000, i => (i < 50 ? 3 : 0.5), 32),
    run('evaluation: 120 s pause every 1,000 steps', 10_000, i => 0.5 + (i % 1000 === 999 ? 120 : 0), 33),
    run('jitter: step time 0.2–0.8 s', 10_000, (_i, r) => 0.2 + 0.6 * r(), 34),
    run('data stalls: 1 step in 50 waits 5 s for the loader', 10_000, (_i, r) => 0.4 + (r() < 0.02 ? 5 : 0), 35),
    run('nested: 10 epochs × 500 batches, epoch bar outer', 5000, () => 0.5, 36, { per: 500 }),
    run('slowing down 30 % over the run (longer sequences)', 10_000, i => 0.4 * (1 + 0.3 * (i / 10_000)), 37)
  ];
}

export interface ProgressScore {
  name: string;
  durationS: number;
  /** |predicted − true remaining| / true remaining, 10 % into the run. */
  errorAt10: number | null;
  errorAt25: number | null;
  /** The verdict 10 % in, against a runtime with 0.8× and 1.25× the run's time left: right or wrong. */
  verdictRight: number;
  verdictCases: number;
}

/** Replay one run through 10 s heartbeats; score the estimate at 10 % and 25 % of its duration. */
export function scoreProgress(tr: ProgressTrace, beatS = 10): ProgressScore {
  const durationS = tr.stepsAt.length - 1;
  let tracks = new Map<string, BarTrack>();
  const at10 = Math.round(durationS * 0.1);
  const at25 = Math.round(durationS * 0.25);
  const score: ProgressScore = { name: tr.name, durationS, errorAt10: null, errorAt25: null, verdictRight: 0, verdictCases: 0 };
  for (let t = beatS; t <= at25; t += beatS) {
    const n = tr.stepsAt[t];
    const facts: ProgressFact[] = [];
    if (tr.inner) {
      facts.push({ id: 'tqdm:outer', source: 'tqdm', name: 'epochs', n: Math.floor(n / tr.inner.per), total: tr.total / tr.inner.per, elapsedS: t, position: 0, closed: false });
      const epoch = Math.floor(n / tr.inner.per);
      const epochStartS = tr.stepsAt.findIndex(steps => steps >= epoch * tr.inner!.per);
      facts.push({ id: `tqdm:inner${epoch}`, source: 'tqdm', name: 'batches', n: n % tr.inner.per, total: tr.inner.per, elapsedS: t - epochStartS, position: 1, closed: false });
    } else {
      facts.push({ id: 'tqdm:run', source: 'tqdm', name: 'train', n, total: tr.total, elapsedS: t, position: 0, closed: false });
    }
    tracks = ingestProgress(tracks, 'k', facts, t * 1000);
    const main = mainBar(tracks.values(), t * 1000);
    if (!main) continue;
    const e = estimateProgress(main, t * 1000);
    const truth = durationS - t;
    const err = e.remainingS === null ? null : Math.abs(e.remainingS - truth) / truth;
    if (t + beatS > at10 && score.errorAt10 === null && t <= at10) score.errorAt10 = err;
    if (t + beatS > at25 && t <= at25) score.errorAt25 = err;
    if (t + beatS > at10 && t <= at10) {
      for (const factor of [0.8, 1.25]) {
        const v = progressVerdict(main, e, { sessionRemainingS: truth * factor });
        score.verdictCases++;
        if ((factor < 1 && v.kind === 'runs-out') || (factor > 1 && v.kind === 'finishes')) score.verdictRight++;
      }
    }
  }
  return score;
}

// ---------------------------------------------------------------------------
// Session countdown

export interface CountdownScore {
  name: string;
  basis: string;
  /** |predicted end − true end| in seconds. */
  errorS: number;
}

/**
 * The session countdown from the machine's files, for a sidecar started
 * `lateS` into a session whose container started `containerAfterBootS` after
 * the VM booted. The true end is the container start + the lifetime.
 */
export function scoreCountdown(lateS: number, containerAfterBootS: number, readable: 'pid1' | 'uptime' | 'none', lifetimeS = 12 * 3600): CountdownScore {
  const bootS = 1_790_000_000;
  const containerStartS = bootS + containerAfterBootS;
  const nowMs = (containerStartS + lateS) * 1000;
  const ticks = containerAfterBootS * 100;
  const pid1Stat = `1 (init) S 0 1 1 0 -1 4194560 ${'0 '.repeat(12)}${ticks} 1 0`;
  const start = runtimeStart({
    pid1Stat: readable === 'pid1' ? pid1Stat : null,
    procStat: readable === 'pid1' ? `cpu 1 2 3\nbtime ${bootS}\n` : null,
    procUptime: readable === 'none' ? null : `${nowMs / 1000 - bootS} 0`,
    readAtMs: nowMs,
    sidecarStartedAtMs: nowMs
  });
  const clock = sessionClock(start.startedAtMs, nowMs, lifetimeS);
  const trueEndMs = (containerStartS + lifetimeS) * 1000;
  return {
    name: `sidecar ${Math.round(lateS / 3600)} h into the session, container ${Math.round(containerAfterBootS / 60)} min after boot, ${readable} readable`,
    basis: start.basis,
    errorS: Math.abs(Date.parse(clock.endsAt!) - trueEndMs) / 1000
  };
}

// ---------------------------------------------------------------------------
// Context window: "messages left"

export interface ConversationReplay {
  id: string;
  messages: Array<{ role: string; content: string }>;
}

export interface MessagesLeftScore {
  id: string;
  calls: number;
  /** |predicted − true| messages left, at each call from the second on. */
  errors: number[];
}

/**
 * Replay a conversation as calls (one per assistant answer; tokens ≈ chars/4)
 * against a window the whole conversation just fills: the true number of
 * messages left after call k is the calls still to come.
 */
export function scoreMessagesLeft(c: ConversationReplay): MessagesLeftScore {
  const tokens = (s: string) => Math.ceil(s.length / 4);
  const calls: HealthCall[] = [];
  let prompt = 0;
  for (const m of c.messages) {
    if (m.role === 'assistant') {
      const out = tokens(m.content);
      calls.push({ startedAtMs: calls.length * 1000, latencyMs: 1000, ttftMs: null, status: 'ok', tokens: { inputTokens: prompt, outputTokens: out, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, costUsd: null, model: 'm' });
      prompt += out;
    } else {
      prompt += tokens(m.content);
    }
  }
  const lastCall = calls[calls.length - 1];
  const window = lastCall.tokens!.inputTokens + lastCall.tokens!.outputTokens;
  const errors: number[] = [];
  for (let k = 2; k < calls.length; k++) {
    const f = contextForecast(calls.slice(0, k), window);
    const truth = calls.length - k;
    if (f.messagesLeft !== null) errors.push(Math.abs(f.messagesLeft - truth));
  }
  return { id: c.id, calls: calls.length, errors };
}
