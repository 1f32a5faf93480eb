import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from '../shared/api';
import { prometheusText } from './prometheus';

const snapshot: MetricsSnapshot = {
  takenAt: '2026-11-24T10:00:00.000Z',
  sidecar: { pid: 1, uptimeS: 42, rssBytes: 1000, version: '0.1.0' },
  gpu: {
    status: 'ok',
    reason: null,
    sampledAt: '2026-11-24T10:00:00.000Z',
    devices: [
      { index: 0, uuid: 'GPU-a', name: 'Tesla "T4"', memoryTotalMiB: 15360, memoryUsedMiB: 1024, utilizationPercent: null, temperatureC: 60, powerW: null }
    ]
  },
  session: { startedAt: '', startBasis: 'pid1', elapsedS: 10, lifetimeS: null, remainingS: null, endsAt: null, warnAtMin: [], previous: null }
};

describe('Prometheus exposition of the snapshot', () => {
  const text = prometheusText(snapshot);

  it('writes HELP and TYPE once per family and one sample per GPU with escaped labels', () => {
    expect(text).toContain('# TYPE vigilo_gpu_memory_used_bytes gauge');
    expect(text).toContain('vigilo_gpu_memory_used_bytes{gpu="0",uuid="GPU-a",name="Tesla \\"T4\\""} 1073741824');
    expect(text.match(/# HELP vigilo_gpu_memory_used_bytes/g)).toHaveLength(1);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('leaves out unknown figures instead of reporting them as 0', () => {
    expect(text).not.toContain('vigilo_gpu_utilization_percent');
    expect(text).not.toContain('vigilo_session_remaining_seconds');
    expect(text).not.toContain('vigilo_gpu_oom_predicted_seconds');
    expect(text).toContain('vigilo_gpu_up 1');
  });

  it('says the GPU is down when the reader is not streaming', () => {
    const down = prometheusText({ ...snapshot, gpu: { status: 'unavailable', reason: 'nvidia-smi not found', devices: [], sampledAt: null } });
    expect(down).toContain('vigilo_gpu_up 0');
    expect(down).not.toContain('vigilo_gpu_memory_used_bytes');
  });
});
