/**
 * The runtime figures Vigilo knows and no LLM tool does, as OpenTelemetry
 * gauge points: VRAM used and total per GPU, predicted time to OOM, time to
 * the session's end and to the idle cut-off, disk and Kaggle output use,
 * GPU quota left, age of the last verified checkpoint. Pure: the snapshot
 * (and the checkpoint's verified time) in, points out. Unknown figures are
 * left out, never sent as 0. Names follow the OpenTelemetry metric naming
 * guidelines (dotted, unit in `unit`, UCUM: `By`, `s`).
 */
import type { MetricsSnapshot } from '../shared/api';

export interface GaugePoint {
  value: number;
  attributes: Record<string, string | number>;
}

export interface GaugeSpec {
  name: string;
  unit: string;
  description: string;
}

export const RUNTIME_GAUGES = {
  gpuMemoryUsed: { name: 'vigilo.gpu.memory.used', unit: 'By', description: 'VRAM in use, per GPU.' },
  gpuMemoryLimit: { name: 'vigilo.gpu.memory.limit', unit: 'By', description: 'VRAM of the card, per GPU.' },
  gpuOomTimeLeft: { name: 'vigilo.gpu.oom.time_left', unit: 's', description: 'Predicted time until VRAM is full (only when the prediction is confident).' },
  sessionTimeLeft: { name: 'vigilo.session.time_left', unit: 's', description: "Time until the runtime reaches its lifetime limit (Colab ~12 h, Kaggle 9/12 h)." },
  idleTimeLeft: { name: 'vigilo.idle.time_left', unit: 's', description: 'Time until the idle cut-off.' },
  diskUsed: { name: 'vigilo.disk.used', unit: 'By', description: 'Space in use on a watched disk.' },
  diskLimit: { name: 'vigilo.disk.limit', unit: 'By', description: 'Size of a watched disk.' },
  outputUsed: { name: 'vigilo.kaggle.output.used', unit: 'By', description: "Size of Kaggle's output folder (/kaggle/working)." },
  outputLimit: { name: 'vigilo.kaggle.output.limit', unit: 'By', description: "Kaggle's output folder limit." },
  quotaLeft: { name: 'vigilo.gpu.quota.time_left', unit: 's', description: 'Weekly GPU quota left (Kaggle).' },
  checkpointAge: { name: 'vigilo.checkpoint.age', unit: 's', description: 'Time since the last verified checkpoint.' }
} as const satisfies Record<string, GaugeSpec>;

export type RuntimeGaugeKey = keyof typeof RUNTIME_GAUGES;

const MIB = 1048576;

function known(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Points of every runtime gauge, by key; a gauge with nothing known has no points. */
export function runtimeGaugePoints(snapshot: MetricsSnapshot, checkpointVerifiedAtMs: number | null, nowMs: number): Record<RuntimeGaugeKey, GaugePoint[]> {
  const out = Object.fromEntries(Object.keys(RUNTIME_GAUGES).map(k => [k, [] as GaugePoint[]])) as Record<RuntimeGaugeKey, GaugePoint[]>;
  const push = (key: RuntimeGaugeKey, value: number | null | undefined, attributes: GaugePoint['attributes'] = {}) => {
    if (known(value)) {
      out[key].push({ value, attributes });
    }
  };
  for (const d of snapshot.gpu?.devices ?? []) {
    const a = { 'vigilo.gpu.index': d.index, 'vigilo.gpu.uuid': d.uuid, 'vigilo.gpu.name': d.name };
    push('gpuMemoryUsed', d.memoryUsedMiB === null ? null : d.memoryUsedMiB * MIB, a);
    push('gpuMemoryLimit', d.memoryTotalMiB === null ? null : d.memoryTotalMiB * MIB, a);
    push('gpuOomTimeLeft', d.oom?.secondsToLimit, a);
  }
  push('sessionTimeLeft', snapshot.session?.remainingS);
  push('idleTimeLeft', snapshot.idle?.remainingS);
  for (const disk of snapshot.storage?.disks ?? []) {
    push('diskUsed', disk.usedBytes, { 'vigilo.disk.path': disk.path });
    push('diskLimit', disk.totalBytes, { 'vigilo.disk.path': disk.path });
  }
  const output = snapshot.storage?.output;
  if (output) {
    push('outputUsed', output.bytes);
    push('outputLimit', output.limitBytes);
  }
  push('quotaLeft', snapshot.quota?.remainingS);
  push('checkpointAge', checkpointVerifiedAtMs === null ? null : Math.max(0, (nowMs - checkpointVerifiedAtMs) / 1000));
  return out;
}
