/**
 * The `session` and `idle` sections: time left before the runtime's lifetime
 * ends (counted from PID 1's start under VIGILO_FS_ROOT, else /proc/uptime,
 * else the sidecar start) and before the idle cut-off (from the latest kernel
 * or panel activity); POST /activity; kernel restart / loss alerts; the
 * session record and how the previous session ended.
 */
import { readFileSync } from 'node:fs';
import { IDLE_WARN_LEVELS, SESSION_WARN_LEVELS } from '../../shared/alertLevels';
import { ActivityBody } from '../../shared/api';
import { idleClock, runtimeStart, sessionClock, type RuntimeStart } from '../../core/session';
import { formatDuration } from '../../shared/format';
import type { PlatformProfile } from '../../core/profiles';
import { msUntilNextLevel } from '../core/cadence';
import { intervalCollector } from '../core/collector';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { underRoot } from '../core/paths';
import { jsonRoute } from '../core/route';
import { z } from 'zod';
import { describePrevious, type PreviousSession, type SessionRecorder } from './record';
import { lastVerifiedCheckpointBefore } from '../checkpoint/store';

export interface SessionModuleDeps {
  recorder: SessionRecorder;
  runtime: RuntimeStart;
  profile(): PlatformProfile;
  intervalMs: number;
  /** Write lastSeenAt to the record at most this often (default 30 s). */
  recordEveryMs?: number;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Read the runtime's start from the files under the FS root (once, at start). */
export function readRuntimeStart(fsRoot: string, nowMs: number, sidecarStartedAtMs: number): RuntimeStart {
  return runtimeStart({
    pid1Stat: readOrNull(underRoot(fsRoot, '/proc/1/stat')),
    procStat: readOrNull(underRoot(fsRoot, '/proc/stat')),
    procUptime: readOrNull(underRoot(fsRoot, '/proc/uptime')),
    readAtMs: nowMs,
    sidecarStartedAtMs
  });
}

export function sessionModule(ctx: SidecarContext, deps: SessionModuleDeps): SidecarModule {
  let panelActivityMs: number | null = null;
  let kernelReportedMs: number | null = null;
  let lastRecordMs = 0;
  const prev = deps.recorder.previous;
  const previous: PreviousSession | null = prev
    ? describePrevious(prev, deps.runtime.startedAtMs, lastVerifiedCheckpointBefore(ctx.config.dataDir, Date.parse(prev.endedAt ?? prev.lastSeenAt)))
    : null;

  ctx.alerts.addRule({
    id: 'session.remaining',
    description: 'Time left before the runtime reaches its maximum lifetime',
    unit: 'min',
    direction: 'below',
    severity: 'info',
    thresholds: [...SESSION_WARN_LEVELS],
    hysteresis: 1,
    message: value => `The runtime reaches its maximum lifetime in ${Math.max(0, Math.round(value))} min (${deps.profile().fields.sessionLifetime.display} from ${new Date(deps.runtime.startedAtMs).toISOString()}). Save checkpoints to durable storage now.`
  });
  ctx.alerts.addRule({
    id: 'idle.remaining',
    description: 'Time left before the idle cut-off stops the runtime',
    unit: 'min',
    direction: 'below',
    severity: 'warning',
    thresholds: [...IDLE_WARN_LEVELS],
    hysteresis: 1,
    message: value => `No activity for a while: the runtime may be stopped for idleness in ${Math.max(0, Math.round(value))} min. Run a cell or interact with the notebook.`
  });

  const unsubscribe = ctx.kernels.onEvent(event => {
    if (event.type === 'restarted') {
      ctx.alerts.fire({
        ruleId: 'kernel.restarted',
        key: event.kernelId,
        severity: 'warning',
        message: `Kernel restarted at ${event.at} — in-memory state lost (pid ${event.previousPid} → ${event.pid}). Re-run the cells that build your variables, or load the last checkpoint.`,
        data: { kernelId: event.kernelId, previousPid: event.previousPid, pid: event.pid, cause: 'new pid' }
      });
    } else if (event.type === 'lost') {
      ctx.alerts.fire({
        ruleId: 'kernel.restarted',
        key: event.kernelId,
        severity: 'warning',
        message: `Kernel ${event.kernelId} stopped answering at ${event.lastHeartbeat} (heartbeat lost): if it restarted or died, its in-memory state is lost.`,
        data: { kernelId: event.kernelId, pid: event.pid, cause: 'heartbeat lost', lastHeartbeat: event.lastHeartbeat }
      });
    }
    deps.recorder.update({ kernels: ctx.kernels.tasks().filter(t => t.alive).map(t => ({ kernelId: t.kernelId, pid: t.pid })) });
  });

  const warnMarks = () => ctx.alerts.ruleViews().find(r => r.id === 'session.remaining')?.thresholds.map(t => t.value) ?? [];
  /** What the last sample left, for the next wake: seconds left on each countdown. */
  let left: { session: number | null; idle: number | null } = { session: null, idle: null };

  const collector = intervalCollector({
    name: 'session',
    intervalMs: deps.intervalMs,
    adaptive: true,
    // The countdowns' alerts fire on time whatever the cadence: wake at the next level either one reaches.
    dueInMs() {
      const levels = ctx.alerts.levels();
      const due = [
        msUntilNextLevel(left.session, (levels['session.remaining'] ?? []).map(l => l.value)),
        msUntilNextLevel(left.idle, (levels['idle.remaining'] ?? []).map(l => l.value))
      ].filter((ms): ms is number => ms !== null);
      return due.length ? Math.min(...due) : null;
    },
    async sample() {
      const now = ctx.clock.now();
      const profile = deps.profile();
      const clock = sessionClock(deps.runtime.startedAtMs, now, profile.fields.sessionLifetime.value);
      ctx.snapshot.update('session', {
        startedAt: clock.startedAt,
        startBasis: `${deps.runtime.basis}: ${deps.runtime.detail}`,
        elapsedS: clock.elapsedS,
        lifetimeS: clock.lifetimeS,
        remainingS: clock.remainingS,
        endsAt: clock.endsAt,
        warnAtMin: warnMarks(),
        previous: previous ? { startedAt: previous.startedAt, endedAt: previous.endedAt, lastSeenAt: previous.lastSeenAt, how: previous.how, sameRuntime: previous.sameRuntime } : null
      });
      ctx.alerts.observe('session.remaining', '', clock.remainingS === null ? null : clock.remainingS / 60);
      const kernelMs = Math.max(ctx.kernels.lastActivityMs() ?? -Infinity, kernelReportedMs ?? -Infinity);
      const idle = idleClock(
        { kernelLastActivityMs: Number.isFinite(kernelMs) ? kernelMs : null, panelLastActivityMs: panelActivityMs, floorMs: ctx.startedAtMs },
        now,
        profile.fields.idleCutoff.value
      );
      ctx.snapshot.update('idle', idle);
      left = { session: clock.remainingS, idle: idle.remainingS };
      ctx.alerts.observe('idle.remaining', '', idle.remainingS === null ? null : idle.remainingS / 60);
      if (now - lastRecordMs >= (deps.recordEveryMs ?? 30_000)) {
        lastRecordMs = now;
        deps.recorder.update({ lastSeenAt: new Date(now).toISOString() });
      }
    }
  });

  return {
    name: 'session',
    collectors: [collector],
    start() {
      deps.recorder.write();
      if (previous) {
        ctx.alerts.fire({
          ruleId: 'session.previous',
          severity: previous.endedAt ? 'info' : 'warning',
          message: `The previous Vigilo session here (started ${previous.startedAt}) ${previous.how}.`,
          data: { ...previous }
        });
      }
    },
    stop() {
      unsubscribe();
      const now = new Date(ctx.clock.now()).toISOString();
      deps.recorder.update({ lastSeenAt: now, endedAt: now, endReason: `sidecar stopped cleanly after ${formatDuration((ctx.clock.now() - ctx.startedAtMs) / 1000)}` });
    },
    routes: [
      jsonRoute({
        method: 'post',
        path: '/activity',
        summary: 'Report user activity (the JupyterLab panel, or a kernel) for the idle countdown.',
        tags: ['runtime'],
        body: ActivityBody,
        response: z.object({ ok: z.literal(true), lastActivityAt: z.string() }),
        handler: async ({ body }) => {
          const now = ctx.clock.now();
          // A client clock ahead of ours cannot push activity into the future.
          const at = Math.min(now, body.at ? Date.parse(body.at) : now);
          if (body.source === 'panel') panelActivityMs = Math.max(panelActivityMs ?? -Infinity, at);
          else kernelReportedMs = Math.max(kernelReportedMs ?? -Infinity, at);
          await collector.runOnce();
          return { ok: true as const, lastActivityAt: new Date(Math.max(panelActivityMs ?? -Infinity, kernelReportedMs ?? -Infinity, at)).toISOString() };
        }
      })
    ]
  };
}
