/**
 * The `progress` section: "will it finish?". Kernels send their progress bars
 * with each heartbeat (vigilo/_progress.py); src/core/progress.ts picks the
 * run's bar, estimates its finish and sets it against the session, quota and
 * idle limits from the other sections. An alert (`progress.verdict`) when the
 * verdict turns between "finishes" and "runs out", after it held for two
 * evaluations.
 */
import type { IdleSection, PlatformSection, ProgressSection, QuotaSection, SessionSection } from '../../shared/api';

import type { z } from 'zod';
import {
  estimateProgress,
  ingestProgress,
  mainBar,
  progressVerdict,
  type BarTrack,
  type EstimateOptions,
  type RuntimeLimits,
  type VerdictKind
} from '../../core/progress';
import { intervalCollector } from '../core/collector';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';

type Of<T extends z.ZodTypeAny> = z.infer<T>;

export interface ProgressModuleOptions {
  /** Re-evaluation period between heartbeats (default ctx.config.intervalMs). */
  intervalMs?: number;
  estimate?: EstimateOptions;
}

/** The limits that bound a run, read from the other sections of the snapshot. */
export function limitsFrom(snapshot: { get(section: string): unknown }): RuntimeLimits {
  const session = snapshot.get('session') as Of<typeof SessionSection> | undefined;
  const idle = snapshot.get('idle') as Of<typeof IdleSection> | undefined;
  const quota = snapshot.get('quota') as Of<typeof QuotaSection> | undefined;
  const platform = snapshot.get('platform') as Of<typeof PlatformSection> | undefined;
  const gpuCounts = platform?.name === 'kaggle' && platform.accelerator?.kind === 'gpu';
  return {
    sessionRemainingS: session?.remainingS ?? null,
    quotaRemainingS: gpuCounts ? quota?.remainingS ?? null : null,
    idleRemainingS: idle?.remainingS ?? null,
    idleCutoffS: idle?.cutoffS ?? null
  };
}

export function progressModule(ctx: SidecarContext, options: ProgressModuleOptions = {}): SidecarModule {
  let tracks = new Map<string, BarTrack>();
  let shown: VerdictKind | null = null;
  let pending: { key: string; kind: VerdictKind; count: number } | null = null;
  let alertedKey: string | null = null;

  function evaluate(): void {
    const now = ctx.clock.now();
    const main = mainBar(tracks.values(), now);
    let section: ProgressSection['main'] = null;
    let verdict: ProgressSection['verdict'] = null;
    if (main) {
      const estimate = estimateProgress(main, now, options.estimate);
      const v = progressVerdict(main, estimate, limitsFrom(ctx.snapshot), shown);
      const key = `${main.kernelId}/${main.id}`;
      section = {
        kernelId: main.kernelId,
        id: main.id,
        name: main.name,
        source: main.source,
        n: main.n,
        total: main.total,
        fraction: estimate.fraction,
        status: estimate.status,
        ratePerS: estimate.ratePerS,
        remainingS: estimate.remainingS,
        finishesAt: estimate.remainingS === null ? null : new Date(now + estimate.remainingS * 1000).toISOString(),
        confidence: estimate.confidence,
        basis: estimate.basis
      };
      verdict = v;
      turn(key, v.kind, v.text);
    }
    ctx.snapshot.update('progress', {
      main: section,
      verdict,
      bars: [...tracks.values()].map(t => ({
        kernelId: t.kernelId,
        id: t.id,
        name: t.name,
        source: t.source,
        n: t.n,
        total: t.total,
        position: t.position,
        closed: t.closed,
        seenAt: new Date(t.seenAtMs).toISOString()
      })),
      updatedAt: new Date(now).toISOString()
    } satisfies ProgressSection);
  }

  /** Alert when the verdict for the same run turns and holds for two evaluations. */
  function turn(key: string, kind: VerdictKind, text: string): void {
    if (kind !== 'finishes' && kind !== 'runs-out') return;
    if (alertedKey !== key) {
      // A new run: its first settled verdict counts as a turn only when it runs out.
      alertedKey = key;
      shown = null;
      pending = null;
    }
    if (kind === shown) {
      pending = null;
      return;
    }
    pending = pending && pending.key === key && pending.kind === kind ? { ...pending, count: pending.count + 1 } : { key, kind, count: 1 };
    if (pending.count < 2) return;
    const from = shown;
    shown = kind;
    pending = null;
    if (from === null && kind === 'finishes') return;
    ctx.alerts.fire({
      ruleId: 'progress.verdict',
      key,
      severity: kind === 'runs-out' ? 'warning' : 'info',
      message: kind === 'runs-out' ? `The run will not finish before the runtime ends: ${text}.` : `The run now finishes in time: ${text}.`,
      data: { from, to: kind }
    });
  }

  const unsubscribe = ctx.kernels.onBeat(beat => {
    // A beat without bars still says the kernel has none open now.
    tracks = ingestProgress(tracks, beat.kernelId, beat.progress ?? [], ctx.clock.now());
    if (beat.progress || tracks.size > 0) evaluate();
  });
  // A kernel that restarted or stopped beating took its runs with it.
  const unsubscribeKernels = ctx.kernels.onEvent(event => {
    if (event.type === 'registered') return;
    const before = tracks.size;
    tracks = new Map([...tracks].filter(([, t]) => t.kernelId !== event.kernelId));
    if (tracks.size !== before) evaluate();
  });

  return {
    name: 'progress',
    collectors: [
      intervalCollector({
        name: 'progress',
        intervalMs: options.intervalMs ?? ctx.config.intervalMs,
        // Heartbeats re-evaluate too (every beat with bars): the tick only fills the gaps.
        adaptive: true,
        async sample() {
          if (tracks.size > 0) evaluate();
        }
      })
    ],
    stop() {
      unsubscribe();
      unsubscribeKernels();
    }
  };
}
