/**
 * The snapshot in Prometheus text exposition format (version 0.0.4), for a
 * Prometheus (or Grafana Agent / OTel Collector prometheus receiver) that
 * scrapes GET /metrics/prometheus with the sidecar's bearer token
 * (docs/TEAMS.md has a scrape config that works as written).
 *
 * Pure: snapshot in, text out. Absent or null figures are left out, never 0.
 * Conventions (prometheus.io "Metric and label naming"): base units in the
 * name (`_seconds`, `_bytes`, `_ratio` for 0–1), counters end in `_total`,
 * one HELP and TYPE per family. Labels are bounded: GPU index/uuid/name, a
 * watched disk's path, LLM provider, status and model (at most 20 models,
 * the rest as "other"); never a conversation id, a tag or any free text.
 */
import type { MetricsSnapshot } from '../shared/api';
import { runtimeGaugePoints, type GaugePoint, type RuntimeGaugeKey } from './otelRuntime';

interface Sample {
  labels?: Record<string, string>;
  value: number | null | undefined;
}

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

/** What the export module keeps in the snapshot's `export` section (src/server/export/module.ts ExportSection). */
interface ExportFigures {
  enabled?: boolean;
  queue?: { queued: number; inFlight: number; sent: number; dropped: number; rejected: number; failedBatches: number };
  llm?: { calls: Array<{ provider: string; model: string; status: string; n: number }>; costUsd: Array<{ provider: string; model: string; usd: number }> };
  checkpointVerifiedAt?: string | null;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function line(name: string, sample: Sample): string | null {
  if (sample.value === null || sample.value === undefined || !Number.isFinite(sample.value)) {
    return null;
  }
  const labels = Object.entries(sample.labels ?? {});
  const rendered = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
  return `${name}${rendered} ${sample.value}`;
}

/** OpenTelemetry attribute → Prometheus label, for the runtime gauges shared with the OTel export. */
const LABEL_OF: Record<string, string> = { 'vigilo.gpu.index': 'gpu', 'vigilo.gpu.uuid': 'uuid', 'vigilo.gpu.name': 'name', 'vigilo.disk.path': 'path' };

const RUNTIME_FAMILIES: Record<RuntimeGaugeKey, { name: string; help: string }> = {
  gpuMemoryUsed: { name: 'vigilo_gpu_memory_used_bytes', help: 'VRAM in use.' },
  gpuMemoryLimit: { name: 'vigilo_gpu_memory_total_bytes', help: 'VRAM of the card.' },
  gpuOomTimeLeft: { name: 'vigilo_gpu_oom_predicted_seconds', help: 'Predicted seconds until VRAM is full (absent when no confident prediction).' },
  sessionTimeLeft: { name: 'vigilo_session_remaining_seconds', help: 'Seconds until the runtime reaches its lifetime limit.' },
  idleTimeLeft: { name: 'vigilo_idle_remaining_seconds', help: 'Seconds until the idle cut-off.' },
  diskUsed: { name: 'vigilo_disk_used_bytes', help: 'Space in use on a watched disk.' },
  diskLimit: { name: 'vigilo_disk_size_bytes', help: 'Size of a watched disk.' },
  outputUsed: { name: 'vigilo_kaggle_output_bytes', help: "Size of Kaggle's output folder (/kaggle/working)." },
  outputLimit: { name: 'vigilo_kaggle_output_limit_bytes', help: "Kaggle's output folder limit." },
  quotaLeft: { name: 'vigilo_gpu_quota_remaining_seconds', help: 'Weekly GPU quota left (Kaggle).' },
  checkpointAge: { name: 'vigilo_checkpoint_age_seconds', help: 'Seconds since the last verified checkpoint (absent until one is seen).' }
};

function labelsOf(p: GaugePoint): Record<string, string> {
  return Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [LABEL_OF[k] ?? k.replace(/[^a-zA-Z0-9_]/g, '_'), String(v)]));
}

function exportFamilies(figures: ExportFigures | undefined): Family[] {
  if (!figures) {
    return [];
  }
  const out: Family[] = [];
  const llm = figures.llm;
  if (llm && llm.calls.length > 0) {
    out.push(
      { name: 'vigilo_llm_calls_total', help: 'LLM calls stored since the sidecar started, by provider, model (at most 20, then "other") and status.', type: 'counter', samples: llm.calls.map(c => ({ labels: { provider: c.provider, model: c.model, status: c.status }, value: c.n })) },
      { name: 'vigilo_llm_cost_usd_total', help: 'Cost of the priced LLM calls since the sidecar started, US dollars (unknown models are not counted as 0).', type: 'counter', samples: llm.costUsd.map(c => ({ labels: { provider: c.provider, model: c.model }, value: c.usd })) }
    );
  }
  const q = figures.queue;
  if (figures.enabled && q) {
    out.push(
      { name: 'vigilo_otel_spans_sent_total', help: 'Spans the OTLP receiver accepted.', type: 'counter', samples: [{ value: q.sent }] },
      { name: 'vigilo_otel_spans_dropped_total', help: 'Spans dropped because the export queue was full (receiver down too long).', type: 'counter', samples: [{ value: q.dropped }] },
      { name: 'vigilo_otel_spans_rejected_total', help: 'Spans the OTLP receiver refused (HTTP 4xx), not retried.', type: 'counter', samples: [{ value: q.rejected }] },
      { name: 'vigilo_otel_export_failures_total', help: 'Span export attempts that failed (each batch is retried).', type: 'counter', samples: [{ value: q.failedBatches }] },
      { name: 'vigilo_otel_spans_queued', help: 'Spans waiting for the OTLP receiver.', type: 'gauge', samples: [{ value: q.queued + q.inFlight }] }
    );
  }
  return out;
}

export function prometheusText(snapshot: MetricsSnapshot): string {
  const families: Family[] = [
    { name: 'vigilo_sidecar_uptime_seconds', help: 'Seconds since the sidecar started.', type: 'gauge', samples: [{ value: snapshot.sidecar.uptimeS }] },
    { name: 'vigilo_sidecar_resident_memory_bytes', help: 'Resident memory of the sidecar process.', type: 'gauge', samples: [{ value: snapshot.sidecar.rssBytes }] }
  ];
  if (snapshot.platform) {
    families.push({ name: 'vigilo_info', help: 'Always 1: the sidecar version and the platform it decided on.', type: 'gauge', samples: [{ labels: { version: snapshot.sidecar.version, platform: snapshot.platform.name }, value: 1 }] });
  }
  const sys = snapshot.system;
  if (sys) {
    families.push(
      { name: 'vigilo_cpu_usage_ratio', help: 'Machine CPU usage over the last sample, 0 to 1.', type: 'gauge', samples: [{ value: sys.cpuPercent === null ? null : sys.cpuPercent / 100 }] },
      { name: 'vigilo_memory_used_bytes', help: 'Machine memory in use (total minus available).', type: 'gauge', samples: [{ value: sys.memory.usedBytes }] },
      { name: 'vigilo_memory_total_bytes', help: 'Machine memory.', type: 'gauge', samples: [{ value: sys.memory.totalBytes }] }
    );
  }
  const gpu = snapshot.gpu;
  if (gpu) {
    const labels = (d: (typeof gpu.devices)[number]) => ({ gpu: String(d.index), uuid: d.uuid, name: d.name });
    families.push(
      { name: 'vigilo_gpu_up', help: '1 when the GPU reader streams samples, 0 otherwise (see /metrics gpu.reason).', type: 'gauge', samples: [{ value: gpu.status === 'ok' ? 1 : 0 }] },
      { name: 'vigilo_gpu_utilization_ratio', help: 'GPU utilization, 0 to 1.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.utilizationPercent === null ? null : d.utilizationPercent / 100 })) },
      { name: 'vigilo_gpu_temperature_celsius', help: 'GPU temperature.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.temperatureC })) }
    );
  }
  const figures = (snapshot as { export?: ExportFigures }).export;
  const verifiedAt = figures?.checkpointVerifiedAt ? Date.parse(figures.checkpointVerifiedAt) : null;
  const points = runtimeGaugePoints(snapshot, verifiedAt, Date.parse(snapshot.takenAt));
  for (const key of Object.keys(RUNTIME_FAMILIES) as RuntimeGaugeKey[]) {
    families.push({ ...RUNTIME_FAMILIES[key], type: 'gauge', samples: points[key].map(p => ({ labels: labelsOf(p), value: p.value })) });
  }
  if (snapshot.storage) {
    families.push({
      name: 'vigilo_disk_used_ratio',
      help: 'Fraction of a watched disk in use, 0 to 1.',
      type: 'gauge',
      samples: snapshot.storage.disks.map(d => ({ labels: { path: d.path }, value: d.usedPercent / 100 }))
    });
  }
  families.push(...exportFamilies(figures));
  const out: string[] = [];
  for (const family of families) {
    const lines = family.samples.map(s => line(family.name, s)).filter((l): l is string => l !== null);
    if (lines.length === 0) {
      continue;
    }
    out.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`, ...lines);
  }
  return out.join('\n') + '\n';
}
