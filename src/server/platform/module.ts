import { ProfileBody, ProfileResponse, type GpuSection, type PlatformInfo } from '../../shared/api';
import { UnitParseError } from '../../core/units';
import { acceleratorChange, acceleratorWords, limitReasons, type PlatformProfile } from '../../core/profiles';
import { intervalCollector } from '../core/collector';
import type { SidecarContext } from '../core/context';
import { ApiError } from '../core/errors';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import type { PlatformDetector } from './detector';
import type { ProfileStore } from './profileStore';

export interface PlatformModuleDeps {
  detector: PlatformDetector;
  profiles: ProfileStore;
  /** Refresh of markers and devices (default 30 s). */
  intervalMs?: number;
}

function profileFor(deps: PlatformModuleDeps, info: PlatformInfo): PlatformProfile {
  const tier = info.tier?.value ?? null;
  const tierBasis = info.tier?.basis === 'inferred' ? info.tier.evidence[0]?.replace(/^tier: \S+, /, '') ?? null : info.tier?.basis === 'stated' ? 'stated with %vigilo profile' : null;
  return deps.profiles.effective(info.name, info.accelerator?.kind ?? 'unknown', { runType: info.runType ?? null, tier, tierBasis });
}

/** The effective profile for the platform and accelerator detected now. */
export function currentProfile(deps: PlatformModuleDeps): PlatformProfile {
  return profileFor(deps, deps.detector.info());
}

/** nvidia-smi has answered (with GPUs or without): the accelerator is no longer a guess. */
function gpuSettled(gpu: GpuSection | undefined): boolean {
  return gpu !== undefined && gpu.status !== 'pending';
}

/**
 * The `platform` section, GET/POST /profile; accelerator changes raise
 * `accelerator.changed`. The section (and the profile variant in it) is
 * re-read as soon as the GPUs nvidia-smi lists change, the first sample
 * included, so a Kaggle P100 session turns from kaggle/cpu to kaggle/gpu
 * at once. Before nvidia-smi's first answer the accelerator is a guess and
 * a later answer only settles it: no "changed" alert for that.
 */
export function platformModule(ctx: SidecarContext, deps: PlatformModuleDeps): SidecarModule {
  let lastAccel: NonNullable<PlatformInfo['accelerator']> | null = null;
  let lastGpuKey = '';
  deps.detector.statedTier = () => deps.profiles.tier;
  const view = () => ({ ...currentProfile(deps), overridesFile: deps.profiles.path });
  const collector = intervalCollector({
    name: 'platform',
    intervalMs: deps.intervalMs ?? 30_000,
    async sample() {
      deps.detector.refresh();
      const info = deps.detector.info();
      const profile = profileFor(deps, info);
      if (gpuSettled(ctx.snapshot.get('gpu') as GpuSection | undefined) && info.accelerator) {
        const change = acceleratorChange(lastAccel, info.accelerator);
        if (change) {
          ctx.alerts.fire({ ruleId: 'accelerator.changed', severity: 'warning', message: `The accelerator changed: ${change.from} → ${change.to}.`, data: { ...change } });
        }
        lastAccel = info.accelerator;
      }
      ctx.snapshot.update('platform', {
        ...info,
        profile: {
          variant: profile.variant,
          sessionLifetimeS: profile.fields.sessionLifetime.value,
          idleCutoffS: profile.fields.idleCutoff.value,
          basis: `${profile.variant} for ${info.name} with accelerator ${acceleratorWords(info.accelerator ?? { kind: 'unknown', model: null })}: ${(info.accelerator?.evidence ?? []).join('; ') || 'no evidence yet'}`,
          reasons: limitReasons(profile)
        },
        checkedAt: new Date(ctx.clock.now()).toISOString()
      });
    }
  });
  // nvidia-smi's driver / CUDA versions arrive after a separate run: publish them when they do.
  deps.detector.onLateFact = () => void collector.runOnce();
  // Follow the accelerator actually seen: re-read when nvidia-smi's answer (status, GPU names) changes.
  const unsubscribe = ctx.snapshot.onUpdate(() => {
    const gpu = ctx.snapshot.get('gpu') as GpuSection | undefined;
    const key = gpu ? `${gpu.status}|${gpu.devices.map(d => d.name).join(',')}` : '';
    if (key === lastGpuKey) return;
    lastGpuKey = key;
    queueMicrotask(() => void collector.runOnce());
  });
  // A kernel that reports platform facts (google.colab, kaggle_secrets, its jax TPU devices) can change the verdict.
  let lastKernelFacts = '';
  const unsubscribeBeats = ctx.kernels.onBeat(beat => {
    const key = JSON.stringify([beat.modules ?? null, beat.tpu ?? null]);
    if (key === lastKernelFacts) return;
    lastKernelFacts = key;
    queueMicrotask(() => void collector.runOnce());
  });
  return {
    name: 'platform',
    collectors: [collector],
    stop() {
      unsubscribe();
      unsubscribeBeats();
    },
    routes: [
      jsonRoute({
        method: 'get',
        path: '/profile',
        summary: "The effective platform profile: session lifetime, idle cut-off, quotas, output limit — each number with its source, date and whether it was verified.",
        tags: ['runtime'],
        response: ProfileResponse,
        handler: view
      }),
      jsonRoute({
        method: 'post',
        path: '/profile',
        summary: 'Override profile numbers with raw values ("24h", "90m", "20GB", "none"); persisted in profile.json in the data dir.',
        tags: ['runtime'],
        body: ProfileBody,
        response: ProfileResponse,
        handler: async ({ body }) => {
          try {
            deps.profiles.set(body.overrides, 'POST /profile');
          } catch (error) {
            if (error instanceof UnitParseError) throw new ApiError('invalid_request', error.message);
            throw error;
          }
          await collector.runOnce();
          return view();
        }
      })
    ]
  };
}
