import type { KernelHeartbeat, KernelTask } from '../../shared/api';
import type { EventBus } from './bus';
import type { Clock } from './clock';

export interface KernelRegistryOptions {
  clock: Clock;
  bus: EventBus;
  /** How often kernels are asked to heartbeat. */
  heartbeatIntervalS: number;
  /** Heartbeats missed before a kernel counts as gone (default 3). */
  missedBeatsAllowed?: number;
}

interface KernelRecord {
  kernelId: string;
  pid: number;
  startedAt: string;
  lastActivity: string | null;
  lastHeartbeatMs: number;
  executionCount: number | null;
  modules: Record<string, boolean>;
  /** TPU devices as the kernel's already-imported jax / torch_xla sees them. */
  tpu: KernelHeartbeat['tpu'] | null;
  alive: boolean;
}

export type KernelEvent =
  | { type: 'registered'; kernelId: string; pid: number; at: string }
  | { type: 'restarted'; kernelId: string; previousPid: number; pid: number; at: string; message: string }
  | { type: 'lost'; kernelId: string; pid: number; at: string; lastHeartbeat: string; message: string };

/**
 * The kernels that registered through POST /kernels/heartbeat. A kernel whose
 * heartbeats stop is marked gone; the same kernel id arriving with a new pid
 * is a restart. Both are published on the bus as `kernel` events.
 */
export class KernelRegistry {
  private readonly kernels = new Map<string, KernelRecord>();
  private readonly listeners = new Set<(event: KernelEvent) => void>();
  private readonly beatListeners = new Set<(beat: KernelHeartbeat) => void>();
  private readonly answers = new Set<(kernelId: string) => Record<string, unknown>>();

  constructor(private readonly options: KernelRegistryOptions) {}

  /** Add fields to the heartbeat answer of a kernel (e.g. `checkpoint`: save at the next step). */
  addAnswer(contribute: (kernelId: string) => Record<string, unknown>): () => void {
    this.answers.add(contribute);
    return () => this.answers.delete(contribute);
  }

  /** What every contributor adds to this kernel's heartbeat answer. */
  answerFor(kernelId: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const contribute of this.answers) {
      Object.assign(out, contribute(kernelId));
    }
    return out;
  }

  get heartbeatIntervalS(): number {
    return this.options.heartbeatIntervalS;
  }

  heartbeat(beat: KernelHeartbeat): void {
    const now = this.options.clock.now();
    const at = new Date(now).toISOString();
    const existing = this.kernels.get(beat.kernelId);
    if (!existing) {
      this.emit({ type: 'registered', kernelId: beat.kernelId, pid: beat.pid, at });
    } else if (existing.pid !== beat.pid) {
      this.emit({
        type: 'restarted',
        kernelId: beat.kernelId,
        previousPid: existing.pid,
        pid: beat.pid,
        at,
        message: `Kernel restarted at ${at} (pid ${existing.pid} → ${beat.pid}): in-memory state was lost.`
      });
    }
    this.kernels.set(beat.kernelId, {
      kernelId: beat.kernelId,
      pid: beat.pid,
      startedAt: beat.startedAt,
      lastActivity: beat.lastActivity ?? existing?.lastActivity ?? null,
      lastHeartbeatMs: now,
      executionCount: beat.executionCount ?? existing?.executionCount ?? null,
      modules: { ...(existing?.modules ?? {}), ...(beat.modules ?? {}) },
      tpu: beat.tpu ?? existing?.tpu ?? null,
      alive: true
    });
    for (const listener of this.beatListeners) {
      listener(beat);
    }
  }

  /** Every accepted heartbeat, after the registry took it (progress, torch facts ride on it). */
  onBeat(listener: (beat: KernelHeartbeat) => void): () => void {
    this.beatListeners.add(listener);
    return () => this.beatListeners.delete(listener);
  }

  /** Mark kernels whose heartbeats stopped; call on a timer. */
  sweep(): void {
    const now = this.options.clock.now();
    const limitMs = this.options.heartbeatIntervalS * 1000 * (this.options.missedBeatsAllowed ?? 3);
    for (const record of this.kernels.values()) {
      if (record.alive && now - record.lastHeartbeatMs > limitMs) {
        record.alive = false;
        const lastHeartbeat = new Date(record.lastHeartbeatMs).toISOString();
        this.emit({
          type: 'lost',
          kernelId: record.kernelId,
          pid: record.pid,
          at: new Date(now).toISOString(),
          lastHeartbeat,
          message: `Kernel ${record.kernelId} (pid ${record.pid}) stopped sending heartbeats after ${lastHeartbeat}: if it died, its in-memory state is lost.`
        });
      }
    }
  }

  tasks(): KernelTask[] {
    return [...this.kernels.values()].map(record => ({
      kind: 'kernel' as const,
      kernelId: record.kernelId,
      pid: record.pid,
      startedAt: record.startedAt,
      lastActivity: record.lastActivity,
      lastHeartbeat: new Date(record.lastHeartbeatMs).toISOString(),
      executionCount: record.executionCount,
      alive: record.alive
    }));
  }

  /** The first TPU report of a live kernel, or null. */
  kernelTpu(): NonNullable<KernelHeartbeat['tpu']> | null {
    for (const record of this.kernels.values()) {
      if (record.alive && record.tpu) return record.tpu;
    }
    return null;
  }

  /** Union of what every live kernel reported importable. */
  kernelModules(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const record of this.kernels.values()) {
      for (const [name, value] of Object.entries(record.modules)) {
        out[name] = out[name] || value;
      }
    }
    return out;
  }

  /** Latest activity across kernels (ms epoch), or null. */
  lastActivityMs(): number | null {
    let latest: number | null = null;
    for (const record of this.kernels.values()) {
      if (record.lastActivity) {
        const ms = Date.parse(record.lastActivity);
        if (!Number.isNaN(ms) && (latest === null || ms > latest)) {
          latest = ms;
        }
      }
    }
    return latest;
  }

  onEvent(listener: (event: KernelEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: KernelEvent): void {
    this.options.bus.publish('kernel', event);
    for (const listener of this.listeners) {
      listener(event);
    }
  }
}
