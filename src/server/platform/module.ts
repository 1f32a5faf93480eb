import { ProfileBody, ProfileResponse, type PlatformInfo } from '../../shared/api';
import { UnitParseError } from '../../core/units';
import type { PlatformProfile } from '../../core/profiles';
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
  return deps.profiles.effective(info.name, info.accelerator?.kind ?? 'unknown');
}

/** The effective profile for the platform and accelerator detected now. */
export function currentProfile(deps: PlatformModuleDeps): PlatformProfile {
  return profileFor(deps, deps.detector.info());
}

/** The `platform` section, GET/POST /profile; accelerator changes raise `accelerator.changed`. */
export function platformModule(ctx: SidecarContext, deps: PlatformModuleDeps): SidecarModule {
  let lastAccel: string | null = null;
  const view = () => ({ ...currentProfile(deps), overridesFile: deps.profiles.path });
  const collector = intervalCollector({
    name: 'platform',
    intervalMs: deps.intervalMs ?? 30_000,
    async sample() {
      deps.detector.refresh();
      const info = deps.detector.info();
      const profile = profileFor(deps, info);
      const accel = info.accelerator ? `${info.accelerator.kind}${info.accelerator.model ? ` (${info.accelerator.model})` : ''}` : null;
      if (lastAccel !== null && accel !== null && accel !== lastAccel && info.accelerator?.kind !== 'unknown') {
        ctx.alerts.fire({ ruleId: 'accelerator.changed', severity: 'warning', message: `The accelerator changed: ${lastAccel} → ${accel}.`, data: { from: lastAccel, to: accel } });
      }
      lastAccel = accel;
      ctx.snapshot.update('platform', {
        ...info,
        profile: { variant: profile.variant, sessionLifetimeS: profile.fields.sessionLifetime.value, idleCutoffS: profile.fields.idleCutoff.value },
        checkedAt: new Date(ctx.clock.now()).toISOString()
      });
    }
  });
  return {
    name: 'platform',
    collectors: [collector],
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
