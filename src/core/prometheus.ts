/**
 * The snapshot in Prometheus text exposition format (version 0.0.4), so a
 * Prometheus or Grafana Agent on the same machine can scrape the sidecar.
 * Pure: snapshot in, text out. Absent or null figures are left out, never 0.
 */
import type { MetricsSnapshot } from '../shared/api';

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

export function prometheusText(snapshot: MetricsSnapshot): string {
  const families: Family[] = [
    { name: 'vigilo_sidecar_uptime_seconds', help: 'Seconds since the sidecar started.', type: 'gauge', samples: [{ value: snapshot.sidecar.uptimeS }] },
    { name: 'vigilo_sidecar_resident_memory_bytes', help: 'Resident memory of the sidecar process.', type: 'gauge', samples: [{ value: snapshot.sidecar.rssBytes }] }
  ];
  const sys = snapshot.system;
  if (sys) {
    families.push(
      { name: 'vigilo_cpu_usage_percent', help: 'Machine CPU usage over the last sample.', type: 'gauge', samples: [{ value: sys.cpuPercent }] },
      { name: 'vigilo_memory_used_bytes', help: 'Machine memory in use (total minus available).', type: 'gauge', samples: [{ value: sys.memory.usedBytes }] },
      { name: 'vigilo_memory_total_bytes', help: 'Machine memory.', type: 'gauge', samples: [{ value: sys.memory.totalBytes }] }
    );
  }
  const gpu = snapshot.gpu;
  if (gpu) {
    const labels = (d: (typeof gpu.devices)[number]) => ({ gpu: String(d.index), uuid: d.uuid, name: d.name });
    families.push(
      { name: 'vigilo_gpu_up', help: '1 when the GPU reader streams samples, 0 otherwise (see /metrics gpu.reason).', type: 'gauge', samples: [{ value: gpu.status === 'ok' ? 1 : 0 }] },
      { name: 'vigilo_gpu_memory_used_bytes', help: 'VRAM in use.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.memoryUsedMiB === null ? null : d.memoryUsedMiB * 1048576 })) },
      { name: 'vigilo_gpu_memory_total_bytes', help: 'VRAM of the card.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.memoryTotalMiB === null ? null : d.memoryTotalMiB * 1048576 })) },
      { name: 'vigilo_gpu_utilization_percent', help: 'GPU utilization.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.utilizationPercent })) },
      { name: 'vigilo_gpu_temperature_celsius', help: 'GPU temperature.', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.temperatureC })) },
      { name: 'vigilo_gpu_oom_predicted_seconds', help: 'Predicted seconds until VRAM is full (absent when no confident prediction).', type: 'gauge', samples: gpu.devices.map(d => ({ labels: labels(d), value: d.oom?.secondsToLimit })) }
    );
  }
  if (snapshot.session) {
    families.push({ name: 'vigilo_session_remaining_seconds', help: 'Seconds until the runtime reaches its lifetime limit.', type: 'gauge', samples: [{ value: snapshot.session.remainingS }] });
  }
  if (snapshot.idle) {
    families.push({ name: 'vigilo_idle_remaining_seconds', help: 'Seconds until the idle cut-off.', type: 'gauge', samples: [{ value: snapshot.idle.remainingS }] });
  }
  if (snapshot.quota) {
    families.push({ name: 'vigilo_gpu_quota_remaining_seconds', help: 'Weekly GPU quota left (Kaggle).', type: 'gauge', samples: [{ value: snapshot.quota.remainingS }] });
  }
  if (snapshot.storage) {
    families.push({
      name: 'vigilo_disk_used_ratio',
      help: 'Fraction of a watched disk in use.',
      type: 'gauge',
      samples: snapshot.storage.disks.map(d => ({ labels: { path: d.path }, value: d.usedPercent / 100 }))
    });
  }
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
