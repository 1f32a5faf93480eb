/**
 * The `quota` section: Kaggle's weekly GPU and TPU quotas (stated by the user
 * with POST /quota or `%vigilo quota 23h` for the current session's resource,
 * counted down while a GPU session runs on the GPU quota and while a TPU
 * session runs on the TPU quota, persisted in `<dataDir>/quota.json`, reset at
 * Saturday 00:00 UTC), and internet access from a TCP probe.
 *
 * The probe target is VIGILO_INTERNET_PROBE=host:port ("off" disables). Unset,
 * it is off except on Kaggle, where it connects to www.kaggle.com:443 once a
 * minute. Tests set it to a loopback port or "off".
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { QUOTA_WARN_LEVELS } from '../../shared/alertLevels';
import { z } from 'zod';
import { QuotaBody, QuotaSection, type GpuSection } from '../../shared/api';
import { initialQuota, parseQuotaRemaining, quotaResource, quotaView, stateRemaining, tickQuota, type QuotaResource, type QuotaState } from '../../core/quota';
import type { PlatformProfile } from '../../core/profiles';
import { UnitParseError } from '../../core/units';
import { msUntilNextLevel } from '../core/cadence';
import { intervalCollector } from '../core/collector';
import type { SidecarContext } from '../core/context';
import { writePrivateFile } from '../core/discovery';
import { ApiError } from '../core/errors';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';

export const QUOTA_FILE = 'quota.json';
export const KAGGLE_PROBE_DEFAULT = 'www.kaggle.com:443';

const PersistedState = z.object({
  statedRemainingS: z.number().nullable(),
  statedAtMs: z.number().nullable(),
  gpuUsedS: z.number(),
  weekStartMs: z.number(),
  lastTickMs: z.number().nullable()
});
/** `{ gpu, tpu }`; a file from before TPU counting holds the GPU state alone. */
const Persisted = z.union([z.object({ gpu: PersistedState, tpu: PersistedState }), PersistedState.transform(gpu => ({ gpu, tpu: null }))]);

export interface QuotaModuleDeps {
  intervalMs: number;
  profile(): PlatformProfile;
  /** Internet probe period (default 60 s) and timeout (default 3 s). */
  probeEveryMs?: number;
  probeTimeoutMs?: number;
}

export function probeTarget(env: NodeJS.ProcessEnv, platform: string): { host: string; port: number } | null {
  const raw = env.VIGILO_INTERNET_PROBE ?? (platform === 'kaggle' ? KAGGLE_PROBE_DEFAULT : 'off');
  if (!raw || raw === 'off') return null;
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(raw.trim());
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error: string | null }> {
  return new Promise(resolve => {
    const socket = connect({ host, port });
    const done = (ok: boolean, error: string | null) => {
      socket.destroy();
      resolve({ ok, error });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true, null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
  });
}

export function quotaModule(ctx: SidecarContext, deps: QuotaModuleDeps): SidecarModule {
  const file = join(ctx.config.dataDir, QUOTA_FILE);
  const states: Record<QuotaResource, QuotaState> = { gpu: initialQuota(ctx.clock.now()), tpu: initialQuota(ctx.clock.now()) };
  try {
    const parsed = Persisted.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success) {
      states.gpu = parsed.data.gpu;
      if (parsed.data.tpu) states.tpu = parsed.data.tpu;
    }
  } catch {
    // First session on this machine.
  }
  /** The quota this session draws on (null off Kaggle or on a CPU session, where the GPU quota is shown). */
  let resource: QuotaResource | null = null;
  const shown = (): QuotaResource => resource ?? 'gpu';
  let counting = false;
  let lastSavedMs = 0;
  let lastProbeMs = -Infinity;
  let internet: z.infer<typeof QuotaSection>['internet'] = { enabled: false, target: null, reachable: null, checkedAt: null, error: null };

  ctx.alerts.addRule({
    id: 'quota.remaining',
    description: 'Weekly Kaggle GPU or TPU quota left (the one the session draws on)',
    unit: 'min',
    direction: 'below',
    severity: 'warning',
    thresholds: [...QUOTA_WARN_LEVELS],
    hysteresis: 5,
    message: value => `Weekly ${shown().toUpperCase()} quota: about ${Math.round(value)} min left. The ${shown().toUpperCase()} session stops when it runs out.`
  });

  const save = (value = states) => writePrivateFile(file, JSON.stringify(value) + '\n');
  const weekly = (r: QuotaResource) => (r === 'tpu' ? deps.profile().fields.weeklyTpuQuota.value : deps.profile().fields.weeklyGpuQuota.value);
  const view = () => {
    const r = shown();
    const q = quotaView(states[r], weekly(r));
    return { ...q, countedGpuS: Math.round(states.gpu.gpuUsedS), countedTpuS: Math.round(states.tpu.gpuUsedS), resource: r, counting, internet };
  };

  async function probe(now: number): Promise<void> {
    const platform = ctx.platform().name;
    const target = probeTarget(ctx.config.env, platform);
    if (!target) {
      internet = { enabled: false, target: null, reachable: null, checkedAt: null, error: null };
      return;
    }
    if (now - lastProbeMs < (deps.probeEveryMs ?? 60_000)) return;
    lastProbeMs = now;
    const result = await tcpProbe(target.host, target.port, deps.probeTimeoutMs ?? 3000);
    const before = internet.reachable;
    internet = { enabled: true, target: `${target.host}:${target.port}`, reachable: result.ok, checkedAt: new Date(ctx.clock.now()).toISOString(), error: result.error };
    if (!result.ok && before !== false) {
      ctx.alerts.fire({
        ruleId: 'internet.off',
        severity: 'warning',
        message: `Internet looks off: ${target.host}:${target.port} is unreachable (${result.error}). pip install, dataset and model downloads will fail${platform === 'kaggle' ? ' — turn Internet on in the notebook settings' : ''}.`
      });
    } else if (result.ok && before === false) {
      ctx.alerts.fire({ ruleId: 'internet.off', severity: 'info', message: `Internet is back: ${target.host}:${target.port} answers.` });
    }
  }

  /** Seconds of quota left at the last sample while it was being counted down, else null. */
  let countingDown: number | null = null;

  const collector = intervalCollector({
    name: 'quota',
    intervalMs: deps.intervalMs,
    adaptive: true,
    // While a session draws on the quota it is a countdown: wake at its next alert level, whatever the cadence.
    dueInMs: () => msUntilNextLevel(countingDown, (ctx.alerts.levels()['quota.remaining'] ?? []).map(l => l.value)),
    async sample() {
      const now = ctx.clock.now();
      const platform = ctx.platform();
      const gpu = ctx.snapshot.get('gpu') as GpuSection | undefined;
      // A Kaggle GPU (TPU) session draws on the GPU (TPU) quota from its start, used or not.
      resource = quotaResource(platform.name, platform.accelerator?.kind, gpu?.devices.length ?? 0);
      counting = resource !== null;
      // A gap longer than three periods means the sidecar was not running (not counted); the slow cadence is a period too.
      const maxGap = Math.max(Math.max(deps.intervalMs, ctx.cadence.slowMs) * 3, 10_000);
      for (const r of ['gpu', 'tpu'] as const) states[r] = tickQuota(states[r], now, resource === r, maxGap);
      if (counting && now - lastSavedMs >= 30_000) {
        lastSavedMs = now;
        save();
      }
      await probe(now);
      const v = view();
      ctx.snapshot.update('quota', v);
      if (platform.name === 'kaggle' && v.remainingS !== null) {
        ctx.alerts.observe('quota.remaining', '', v.remainingS / 60);
      }
      countingDown = platform.name === 'kaggle' && counting ? v.remainingS : null;
    }
  });

  return {
    name: 'quota',
    collectors: [collector],
    stop() {
      try {
        save();
      } catch {
        // Data dir gone (tests clean up): nothing to keep.
      }
    },
    routes: [
      jsonRoute({
        method: 'get',
        path: '/quota',
        summary: "Weekly Kaggle quota of the session's accelerator (GPU or TPU): what the user stated, time counted since, time left, next reset; internet probe state.",
        tags: ['runtime'],
        response: QuotaSection,
        handler: view
      }),
      jsonRoute({
        method: 'post',
        path: '/quota',
        summary: 'State the weekly quota left for the current session\'s accelerator (TPU on a TPU session, else GPU): "23h", "22h30m", "22:30" or a number of hours (what `%vigilo quota 23h` sends).',
        tags: ['runtime'],
        body: QuotaBody,
        response: QuotaSection,
        handler: async ({ body }) => {
          let seconds: number;
          try {
            seconds = parseQuotaRemaining(body.remaining);
          } catch (error) {
            if (error instanceof UnitParseError || error instanceof RangeError) {
              throw new ApiError('invalid_request', `remaining: ${error.message}`);
            }
            throw error;
          }
          const r = shown();
          const next = { ...states, [r]: { ...stateRemaining(states[r], seconds, ctx.clock.now()), lastTickMs: ctx.clock.now() } };
          // Persist first: a failed write (full or read-only disk) answers 507 with the old state kept.
          save(next);
          states[r] = next[r];
          ctx.alerts.clear('quota.remaining', '');
          await collector.runOnce();
          return view();
        }
      })
    ]
  };
}
