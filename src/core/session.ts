/**
 * Session and idle clocks, pure. The runtime's start comes from the machine
 * (PID 1's start time in a container, or boot time), not from when the
 * sidecar started: a sidecar started 3 h into a Colab session still counts
 * those 3 h.
 */

export interface RuntimeStartFacts {
  /** /proc/1/stat contents (field 22 = start time in clock ticks since boot). */
  pid1Stat: string | null;
  /** /proc/stat contents (line "btime <epoch s>"). */
  procStat: string | null;
  /** /proc/uptime contents ("<uptime s> <idle s>"). */
  procUptime: string | null;
  /** When those files were read (ms). */
  readAtMs: number;
  /** Fallback when nothing else is readable. */
  sidecarStartedAtMs: number;
  /** Clock ticks per second (sysconf CLK_TCK; 100 on Linux). */
  clockTicksPerS?: number;
}

export interface RuntimeStart {
  startedAtMs: number;
  basis: 'pid1' | 'uptime' | 'sidecar';
  detail: string;
}

/** Field 22 of /proc/<pid>/stat, after the ")" that ends the command name. */
export function pidStartTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); field 22 is fields[19].
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) && ticks >= 0 ? ticks : null;
}

export function bootTimeS(procStat: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(procStat);
  return m ? Number(m[1]) : null;
}

/**
 * PID 1's start (btime + starttime / CLK_TCK) is the container's start on
 * Colab and Kaggle; /proc/uptime (boot of the VM) comes next; the sidecar's
 * own start last, said so in `basis`.
 */
export function runtimeStart(facts: RuntimeStartFacts): RuntimeStart {
  const hz = facts.clockTicksPerS ?? 100;
  if (facts.pid1Stat && facts.procStat) {
    const ticks = pidStartTicks(facts.pid1Stat);
    const btime = bootTimeS(facts.procStat);
    if (ticks !== null && btime !== null) {
      const ms = btime * 1000 + (ticks / hz) * 1000;
      if (ms <= facts.readAtMs + 60_000) {
        return { startedAtMs: Math.round(ms), basis: 'pid1', detail: `PID 1 started ${Math.round(ticks / hz)} s after boot (btime ${btime})` };
      }
    }
  }
  if (facts.procUptime) {
    const uptime = Number(facts.procUptime.trim().split(/\s+/)[0]);
    if (Number.isFinite(uptime) && uptime >= 0) {
      return { startedAtMs: Math.round(facts.readAtMs - uptime * 1000), basis: 'uptime', detail: `/proc/uptime ${uptime} s` };
    }
  }
  return { startedAtMs: facts.sidecarStartedAtMs, basis: 'sidecar', detail: 'runtime start unreadable; counting from the sidecar start' };
}

export interface SessionClock {
  startedAt: string;
  elapsedS: number;
  lifetimeS: number | null;
  remainingS: number | null;
  endsAt: string | null;
}

export function sessionClock(startedAtMs: number, nowMs: number, lifetimeS: number | null): SessionClock {
  const elapsedS = Math.max(0, (nowMs - startedAtMs) / 1000);
  const remainingS = lifetimeS === null ? null : Math.max(0, lifetimeS - elapsedS);
  return {
    startedAt: new Date(startedAtMs).toISOString(),
    elapsedS: Math.round(elapsedS),
    lifetimeS,
    remainingS: remainingS === null ? null : Math.round(remainingS),
    endsAt: lifetimeS === null ? null : new Date(startedAtMs + lifetimeS * 1000).toISOString()
  };
}

export interface ActivityFacts {
  kernelLastActivityMs: number | null;
  panelLastActivityMs: number | null;
  /** Floor when nothing reported activity yet (the sidecar start is itself a cell run). */
  floorMs: number;
}

export interface IdleClock {
  lastActivityAt: string;
  source: 'kernel' | 'panel' | 'sidecar-start';
  idleS: number;
  cutoffS: number | null;
  remainingS: number | null;
}

export function idleClock(facts: ActivityFacts, nowMs: number, cutoffS: number | null): IdleClock {
  let last = facts.floorMs;
  let source: IdleClock['source'] = 'sidecar-start';
  if (facts.kernelLastActivityMs !== null && facts.kernelLastActivityMs >= last) {
    last = facts.kernelLastActivityMs;
    source = 'kernel';
  }
  if (facts.panelLastActivityMs !== null && facts.panelLastActivityMs >= last) {
    last = facts.panelLastActivityMs;
    source = 'panel';
  }
  const idleS = Math.max(0, (nowMs - last) / 1000);
  return {
    lastActivityAt: new Date(last).toISOString(),
    source,
    idleS: Math.round(idleS),
    cutoffS,
    remainingS: cutoffS === null ? null : Math.max(0, Math.round(cutoffS - idleS))
  };
}
