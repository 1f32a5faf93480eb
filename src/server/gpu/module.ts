/**
 * The `gpu` section: devices from the streaming nvidia-smi reader, per-process
 * VRAM, OOM prediction per device, a ring buffer of recent VRAM for charts
 * (GET /gpu/history), and alerts: VRAM % (gpu.vram), predicted OOM
 * (gpu.oom), and GPU identity changes between samples or sessions (gpu.changed).
 * PyTorch's own facts from kernel heartbeats are set beside each device
 * (matched by uuid, else by index; `gpu.torch` alert when the finding turns
 * to leak, fragmentation or OOM) and GPU processes name their kernel.
 */
import { z } from 'zod';
import type { GpuDevice, GpuSection } from '../../shared/api';
import { VRAM_WARN_LEVELS } from '../../shared/alertLevels';
import type { GpuRow } from '../../core/nvidiaSmi';
import { OOM_ALERT_LEVELS, oomAlertValue, oomMinutesLeft, predictOom, type OomOptions, type TorchReservedSample, type VramSample } from '../../core/oom';
import { kernelOfPid, readTorchMemory } from '../../core/torchMemory';
import type { TorchFacts } from '../../shared/api';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import type { GpuIdentity } from '../session/record';
import { NvidiaSmiReader, type ReaderState } from './reader';

export interface GpuModuleOptions {
  intervalMs: number;
  /** --query-compute-apps every this many ms (default 10 × interval, at least 5 s). */
  appsIntervalMs?: number;
  /** Ring buffer per GPU (default 3600 samples). */
  historySize?: number;
  oom?: OomOptions;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  watchdogFactor?: number;
  /** GPUs of the previous session on this machine. */
  previousGpus?: GpuIdentity[] | null;
  /** Told when the set of GPUs changes (the session record keeps it). */
  onIdentity?(gpus: GpuIdentity[]): void;
}

/** Fixed-size ring of samples. */
export class Ring<T> {
  private readonly items: T[] = [];
  private head = 0;
  constructor(readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
    }
  }
  toArray(): T[] {
    return [...this.items.slice(this.head), ...this.items.slice(0, this.head)];
  }
  get size(): number {
    return this.items.length;
  }
}

function describe(gpus: GpuIdentity[]): string {
  if (gpus.length === 0) return 'no GPU';
  return gpus.map(g => `GPU ${g.index} ${g.name} (${g.uuid})`).join(', ');
}

function sameSet(a: GpuIdentity[], b: GpuIdentity[]): boolean {
  const key = (l: GpuIdentity[]) => l.map(g => `${g.index}|${g.uuid}|${g.name}`).sort().join(';');
  return key(a) === key(b);
}

const HistoryQuery = z.object({ uuid: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(100_000).optional() }).strict();

/** The torch device a kernel reported for this GPU: by uuid, else (no uuids) the only one, else by index. */
function torchDeviceOf(device: Pick<GpuDevice, 'uuid' | 'index'>, count: number, devs: TorchFacts['devices']): TorchFacts['devices'][number] | undefined {
  return devs.find(d => d.uuid && d.uuid === device.uuid) ?? (devs.some(d => d.uuid) ? undefined : devs.length === 1 && count === 1 ? devs[0] : devs.find(d => d.index === device.index));
}

export function gpuModule(ctx: SidecarContext, options: GpuModuleOptions): SidecarModule {
  const historySize = options.historySize ?? 3600;
  const histories = new Map<string, Ring<VramSample>>();
  let devices: GpuDevice[] = [];
  let identity: GpuIdentity[] | null = null;
  let sampledAt: string | null = null;
  let processes = new Map<string, NonNullable<GpuDevice['processes']>>();
  let processesReason: string | null = 'not sampled yet';
  let appsRunning = false;
  let lastAppsMs = 0;
  const appsEvery = options.appsIntervalMs ?? Math.max(5000, options.intervalMs * 10);
  /** Latest torch facts per kernel, with each device's allocated bytes over the last heartbeats. */
  type TorchReport = { facts: TorchFacts; atMs: number; allocated: Map<number, number[]>; reserved: Map<number, TorchReservedSample[]> };
  const torchByKernel = new Map<string, TorchReport>();
  const TORCH_HISTORY = 30;
  const unsubscribeBeats = ctx.kernels.onBeat(beat => {
    if (!beat.torch) return;
    const prev = torchByKernel.get(beat.kernelId);
    const allocated = new Map<number, number[]>();
    const reserved = new Map<number, TorchReservedSample[]>();
    const atMs = ctx.clock.now();
    for (const d of beat.torch.devices) {
      const before = prev?.allocated.get(d.index) ?? [];
      allocated.set(d.index, [...before, d.allocatedBytes].slice(-TORCH_HISTORY));
      // PyTorch's high-water mark: the OOM predictor reads a sawtooth's peaks from it (src/core/oom.ts).
      if (d.maxReservedBytes !== null && d.maxReservedBytes !== undefined) {
        const point = { tMs: atMs, reservedMiB: d.reservedBytes / 1048576, maxReservedMiB: d.maxReservedBytes / 1048576 };
        reserved.set(d.index, [...(prev?.reserved.get(d.index) ?? []), point].slice(-TORCH_HISTORY));
      }
    }
    torchByKernel.set(beat.kernelId, { facts: beat.torch, atMs, allocated, reserved });
  });

  /** The PyTorch finding last alerted per kernel and device: one alert when it turns to leak, fragmentation or OOM. */
  const torchKinds = new Map<string, string>();
  // A kernel that is lost or restarted takes its PyTorch facts with it: nothing of a dead kernel is kept.
  const unsubscribeKernels = ctx.kernels.onEvent(event => {
    if (event.type === 'registered') return;
    torchByKernel.delete(event.kernelId);
    for (const key of [...torchKinds.keys()]) {
      if (key.startsWith(`${event.kernelId}/`)) torchKinds.delete(key);
    }
  });
  function torchAlert(device: GpuDevice, view: GpuDevice['torch']): GpuDevice['torch'] {
    if (!view) return view;
    const key = `${view.kernelId}/${device.uuid}`;
    const before = torchKinds.get(key) ?? 'ok';
    torchKinds.set(key, view.kind);
    if (view.kind !== before && (view.kind === 'leak' || view.kind === 'fragmentation' || view.kind === 'oom')) {
      ctx.alerts.fire({
        ruleId: 'gpu.torch',
        key,
        severity: view.kind === 'fragmentation' ? 'warning' : 'critical',
        message: `GPU ${device.index} ${device.name}: ${view.findings[0]}.${view.advice ? ` What to do: ${view.advice}.` : ''}`,
        data: { kernelId: view.kernelId, uuid: device.uuid, kind: view.kind, from: before }
      });
    }
    return view;
  }

  type TorchEntry = [kernelId: string, report: TorchReport];
  /** The torch facts of the kernels still alive, freshest first (once per publish, for every device). */
  function aliveTorch(kernels: ReadonlyArray<{ kernelId: string; alive: boolean }>): TorchEntry[] {
    const alive = new Set(kernels.filter(t => t.alive).map(t => t.kernelId));
    return [...torchByKernel.entries()].filter(([id]) => alive.has(id)).sort((a, b) => b[1].atMs - a[1].atMs);
  }

  /** PyTorch's view of a device from the kernels that reported one (`entries` from aliveTorch). */
  function torchView(device: GpuDevice, count: number, entries: readonly TorchEntry[]): GpuDevice['torch'] {
    for (const [kernelId, entry] of entries) {
      const match = torchDeviceOf(device, count, entry.facts.devices);
      if (!match) continue;
      const history = entry.allocated.get(match.index) ?? [];
      const view = readTorchMemory(match, history.slice(0, -1), entry.facts.allocConf ?? null);
      return {
        kernelId,
        allocatedBytes: view.allocatedBytes,
        reservedBytes: view.reservedBytes,
        maxAllocatedBytes: view.maxAllocatedBytes,
        cachedBytes: view.cachedBytes,
        numAllocRetries: view.numAllocRetries,
        numOoms: view.numOoms,
        kind: view.kind,
        findings: view.findings,
        advice: view.advice,
        reportedAt: new Date(entry.atMs).toISOString()
      };
    }
    return null;
  }

  /** PyTorch's max_memory_reserved over the heartbeats of the freshest alive kernel that sees this device. */
  function torchReserved(device: Pick<GpuDevice, 'uuid' | 'index'>, count: number): TorchReservedSample[] {
    for (const [, entry] of aliveTorch(ctx.kernels.tasks())) {
      const match = torchDeviceOf(device, count, entry.facts.devices);
      if (match) return entry.reserved.get(match.index) ?? [];
    }
    return [];
  }

  ctx.alerts.addRule({
    id: 'gpu.vram',
    description: 'VRAM used on a GPU',
    unit: '%',
    direction: 'above',
    severity: 'warning',
    thresholds: [...VRAM_WARN_LEVELS],
    hysteresis: 3,
    message: (value, key, level) => `VRAM on ${nameOf(key)} is ${value.toFixed(1)} % used (over ${level.value} %): the next allocation may fail with CUDA out of memory.`
  });
  ctx.alerts.addRule({
    id: 'gpu.oom',
    description: 'Predicted time until VRAM runs out',
    unit: 's',
    direction: 'below',
    severity: 'warning',
    thresholds: OOM_ALERT_LEVELS.levels,
    hysteresis: OOM_ALERT_LEVELS.hysteresis,
    // "Unsure" (memory freed, a new trend being read) withdraws the prediction from the current alerts.
    unknownClears: true,
    message: (value, key) => {
      const device = devices.find(d => d.uuid === key);
      return `VRAM on ${nameOf(key)} will run out in about ${oomMinutesLeft(value)} min at the current trend (${device?.oom?.basis ?? 'trend'}; confidence ${Math.round((device?.oom?.confidence ?? 0) * 100)} %). Save a checkpoint or lower the batch size.`;
    }
  });

  function nameOf(uuid: string): string {
    const d = devices.find(x => x.uuid === uuid);
    return d ? `GPU ${d.index} ${d.name}` : uuid;
  }

  function publish(state: ReaderState): void {
    const kernels = ctx.kernels.tasks();
    const torchEntries = aliveTorch(kernels);
    const status: GpuSection['status'] = state.status === 'streaming' ? 'ok' : state.status === 'unavailable' ? 'unavailable' : state.status === 'starting' ? 'pending' : 'error';
    const section: GpuSection = {
      status,
      reason: state.reason,
      devices: devices.map(d => ({
        ...d,
        processes: (processes.get(d.uuid) ?? []).map(p => {
          const kernelId = kernelOfPid(p.pid, kernels);
          return kernelId ? { ...p, kernelId } : p;
        }),
        torch: torchAlert(d, torchView(d, devices.length, torchEntries))
      })),
      sampledAt,
      reader: {
        status: state.status,
        command: state.command,
        pid: state.pid,
        starts: state.starts,
        failures: state.failures,
        garbageLines: state.garbageLines,
        lastGarbage: state.lastGarbage,
        lastLineAt: state.lastLineAt,
        nextRestartInMs: state.nextRestartInMs
      },
      processesReason
    };
    ctx.snapshot.update('gpu', section);
  }

  function checkIdentity(rows: GpuRow[]): void {
    const now: GpuIdentity[] = rows.map(r => ({ index: r.index, uuid: r.uuid, name: r.name }));
    if (identity === null) {
      const previous = options.previousGpus;
      if (previous && previous.length > 0 && !sameSet(previous, now)) {
        ctx.alerts.fire({
          ruleId: 'gpu.changed',
          key: 'session',
          severity: 'warning',
          message: `The GPU differs from the previous session on this machine: ${describe(previous)} → ${describe(now)}.`,
          data: { from: previous, to: now, between: 'sessions' }
        });
      }
    } else if (!sameSet(identity, now)) {
      ctx.alerts.fire({
        ruleId: 'gpu.changed',
        key: 'sample',
        severity: 'critical',
        message: `The GPU changed while the session ran: ${describe(identity)} → ${describe(now)}. Work on the old device is gone; check your model's device and memory limits.`,
        data: { from: identity, to: now, between: 'samples' }
      });
      for (const old of identity) {
        if (!now.some(g => g.uuid === old.uuid)) {
          histories.delete(old.uuid);
          ctx.alerts.clear('gpu.vram', old.uuid);
          ctx.alerts.clear('gpu.oom', old.uuid);
        }
      }
    }
    if (identity === null || !sameSet(identity, now)) {
      identity = now;
      options.onIdentity?.(now);
    }
  }

  const reader = new NvidiaSmiReader({
    env: ctx.config.env,
    clock: ctx.clock,
    intervalMs: options.intervalMs,
    initialBackoffMs: options.initialBackoffMs,
    maxBackoffMs: options.maxBackoffMs,
    watchdogFactor: options.watchdogFactor,
    log: ctx.log,
    onState: state => publish(state),
    onBatch: (rows, atMs) => {
      checkIdentity(rows);
      sampledAt = new Date(atMs).toISOString();
      const predicted = rows.map(row => {
        let ring = histories.get(row.uuid);
        if (!ring) {
          ring = new Ring<VramSample>(historySize);
          histories.set(row.uuid, ring);
        }
        if (row.memoryUsedMiB !== null) ring.push({ tMs: atMs, usedMiB: row.memoryUsedMiB });
        return { ...row, oom: predictOom(ring.toArray(), row.memoryTotalMiB, options.oom, torchReserved(row, rows.length)) };
      });
      // `devices` first: the rules' messages look device names up there.
      devices = predicted;
      for (const { uuid, oom } of predicted) {
        ctx.alerts.observe('gpu.vram', uuid, oom.usedPercent);
        ctx.alerts.observe('gpu.oom', uuid, oomAlertValue(oom));
      }
      publish(reader.current);
      if (atMs - lastAppsMs >= appsEvery) {
        lastAppsMs = atMs;
        void sampleApps();
      }
    }
  });

  async function sampleApps(): Promise<void> {
    if (appsRunning) return;
    appsRunning = true;
    try {
      const { rows } = await reader.computeApps(Math.min(5000, appsEvery));
      const next = new Map<string, NonNullable<GpuDevice['processes']>>();
      for (const r of rows) {
        const list = next.get(r.gpuUuid) ?? [];
        list.push({ pid: r.pid, processName: r.processName, usedMiB: r.usedMiB });
        next.set(r.gpuUuid, list);
      }
      processes = next;
      processesReason = null;
    } catch (error) {
      processesReason = (error as Error).message;
    } finally {
      appsRunning = false;
    }
  }

  return {
    name: 'gpu',
    collectors: [
      {
        name: 'gpu',
        start() {
          publish(reader.current);
          reader.start();
        },
        stop() {
          reader.stop();
          unsubscribeBeats();
          unsubscribeKernels();
        }
      }
    ],
    routes: [
      jsonRoute({
        method: 'get',
        path: '/gpu/history',
        summary: 'Recent VRAM samples per GPU (ring buffer) for charts.',
        tags: ['runtime'],
        query: HistoryQuery,
        response: z.object({ gpus: z.array(z.object({ uuid: z.string(), samples: z.array(z.object({ t: z.string(), usedMiB: z.number() })) })) }),
        handler: ({ query }) => ({
          gpus: [...histories.entries()]
            .filter(([uuid]) => !query.uuid || uuid === query.uuid)
            .map(([uuid, ring]) => ({ uuid, samples: ring.toArray().slice(-(query.limit ?? historySize)).map(s => ({ t: new Date(s.tMs).toISOString(), usedMiB: s.usedMiB })) }))
        })
      })
    ]
  };
}
