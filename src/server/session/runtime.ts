/**
 * The runtime-monitoring modules of issue 3, built together because they
 * share state: the platform profile (platform → session, storage, quota), the
 * session record (session ↔ GPU identity across sessions). modules.ts adds
 * them with one line: `...runtimeModules(ctx)`.
 */
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import type { OomOptions } from '../../core/oom';
import { gpuModule } from '../gpu/module';
import { currentProfile, platformModule } from '../platform/module';
import { ProfileStore } from '../platform/profileStore';
import { quotaModule } from '../quota/module';
import { storageModule } from '../storage/module';
import { readRuntimeStart, sessionModule } from './module';
import { SessionRecorder } from './record';

export interface RuntimeOptions {
  /** nvidia-smi -lms period (default 1000 ms; env VIGILO_GPU_INTERVAL_MS). */
  gpuIntervalMs?: number;
  gpuAppsIntervalMs?: number;
  gpuInitialBackoffMs?: number;
  gpuMaxBackoffMs?: number;
  gpuWatchdogFactor?: number;
  oom?: OomOptions;
  /** Session / idle / quota / storage tick (default ctx.config.intervalMs). */
  tickMs?: number;
  /** Re-read of markers and devices (default 30 s; env VIGILO_PLATFORM_REFRESH_MS). */
  platformRefreshMs?: number;
  outputEveryMs?: number;
  probeEveryMs?: number;
  recordEveryMs?: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const n = Number(env[name]);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function runtimeModules(ctx: SidecarContext, options: RuntimeOptions = {}): SidecarModule[] {
  const { detector } = ctx;
  const profiles = new ProfileStore(ctx.config.dataDir, () => ctx.clock.now(), ctx.log);
  const platformDeps = { detector, profiles, intervalMs: options.platformRefreshMs ?? envInt(ctx.config.env, 'VIGILO_PLATFORM_REFRESH_MS') };
  const profile = () => currentProfile(platformDeps);
  const now = ctx.clock.now();
  const runtime = readRuntimeStart(ctx.config.fsRoot, now, ctx.startedAtMs);
  const info = detector.info();
  const recorder = new SessionRecorder(ctx.config.dataDir, {
    sidecarPid: process.pid,
    startedAt: new Date(ctx.startedAtMs).toISOString(),
    runtimeStartedAt: new Date(runtime.startedAtMs).toISOString(),
    platform: info.name,
    accelerator: null
  });
  const tickMs = options.tickMs ?? ctx.config.intervalMs;
  return [
    platformModule(ctx, platformDeps),
    gpuModule(ctx, {
      intervalMs: options.gpuIntervalMs ?? envInt(ctx.config.env, 'VIGILO_GPU_INTERVAL_MS') ?? 1000,
      appsIntervalMs: options.gpuAppsIntervalMs,
      initialBackoffMs: options.gpuInitialBackoffMs,
      maxBackoffMs: options.gpuMaxBackoffMs,
      watchdogFactor: options.gpuWatchdogFactor,
      oom: options.oom,
      previousGpus: recorder.previous?.gpus ?? null,
      onIdentity: gpus => recorder.update({ gpus, accelerator: gpus.length ? gpus.map(g => g.name).join(' + ') : null })
    }),
    sessionModule(ctx, { recorder, runtime, profile, intervalMs: tickMs, recordEveryMs: options.recordEveryMs }),
    storageModule(ctx, { intervalMs: tickMs, profile, outputEveryMs: options.outputEveryMs }),
    quotaModule(ctx, { intervalMs: tickMs, profile, probeEveryMs: options.probeEveryMs })
  ];
}
