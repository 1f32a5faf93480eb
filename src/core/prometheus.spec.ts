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

/** Every family of a text: name → { type, help, sample lines }. */
function families(text: string) {
  const out = new Map<string, { type: string; help: number; samples: string[] }>();
  for (const l of text.trimEnd().split('\n')) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(l);
    if (m) {
      const f = out.get(m[2]) ?? { type: '', help: 0, samples: [] };
      if (m[1] === 'TYPE') {
        f.type = m[3];
      } else {
        f.help++;
      }
      out.set(m[2], f);
    } else {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0];
      out.get(name)!.samples.push(l);
    }
  }
  return out;
}

const busy = {
  ...snapshot,
  takenAt: '2026-11-24T10:00:00.000Z',
  platform: { name: 'kaggle' },
  session: { ...snapshot.session!, lifetimeS: 32400, remainingS: 1800 },
  storage: {
    status: 'ok',
    reason: null,
    disks: [{ path: '/kaggle/working', totalBytes: 100, usedBytes: 25, availableBytes: 75, usedPercent: 25 }],
    output: { path: '/kaggle/working', bytes: 5e9, limitBytes: 20e9, usedPercent: 25, files: 3, truncated: false, measuredAt: '2026-11-24T10:00:00.000Z' },
    drive: { mounted: false, mountPoint: '/content/drive', fsType: null },
    sampledAt: '2026-11-24T10:00:00.000Z'
  },
  export: {
    enabled: true,
    queue: { queued: 7, inFlight: 3, sent: 120, dropped: 2, rejected: 0, failedBatches: 4 },
    llm: {
      calls: [
        { provider: 'openai', model: 'gpt-4o-mini', status: 'ok', n: 5 },
        { provider: 'openai', model: 'gpt-4o-mini', status: 'error', n: 1 }
      ],
      costUsd: [{ provider: 'openai', model: 'gpt-4o-mini', usd: 0.0125 }]
    },
    checkpointVerifiedAt: '2026-11-24T09:45:00.000Z'
  }
} as unknown as MetricsSnapshot;

describe('Prometheus exposition of the snapshot', () => {
  const text = prometheusText(snapshot);

  it('writes HELP and TYPE once per family and one sample per GPU with escaped labels', () => {
    expect(text).toContain('# TYPE vigilo_gpu_memory_used_bytes gauge');
    expect(text).toContain('vigilo_gpu_memory_used_bytes{gpu="0",uuid="GPU-a",name="Tesla \\"T4\\""} 1073741824');
    expect(text.match(/# HELP vigilo_gpu_memory_used_bytes/g)).toHaveLength(1);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('leaves out unknown figures instead of reporting them as 0', () => {
    expect(text).not.toContain('vigilo_gpu_utilization_ratio');
    expect(text).not.toContain('vigilo_session_remaining_seconds');
    expect(text).not.toContain('vigilo_gpu_oom_predicted_seconds');
    expect(text).not.toContain('vigilo_checkpoint_age_seconds');
    expect(text).toContain('vigilo_gpu_up 1');
  });

  it('says the GPU is down when the reader is not streaming', () => {
    const down = prometheusText({ ...snapshot, gpu: { status: 'unavailable', reason: 'nvidia-smi not found', devices: [], sampledAt: null } });
    expect(down).toContain('vigilo_gpu_up 0');
    expect(down).not.toContain('vigilo_gpu_memory_used_bytes');
  });

  it('shows session time left, Kaggle output, checkpoint age, LLM spend and the export queue with their units in the names', () => {
    const out = prometheusText(busy);
    expect(out).toContain('vigilo_session_remaining_seconds 1800');
    expect(out).toContain('vigilo_kaggle_output_bytes 5000000000');
    expect(out).toContain('vigilo_kaggle_output_limit_bytes 20000000000');
    expect(out).toContain('vigilo_disk_used_bytes{path="/kaggle/working"} 25');
    expect(out).toContain('vigilo_checkpoint_age_seconds 900');
    expect(out).toContain('vigilo_llm_calls_total{provider="openai",model="gpt-4o-mini",status="error"} 1');
    expect(out).toContain('vigilo_llm_cost_usd_total{provider="openai",model="gpt-4o-mini"} 0.0125');
    expect(out).toContain('vigilo_otel_spans_dropped_total 2');
    expect(out).toContain('vigilo_otel_spans_queued 10');
    expect(out).toContain('vigilo_info{version="0.1.0",platform="kaggle"} 1');
  });

  it('follows the naming rules: counters end in _total, gauges never do, each family has one HELP and one TYPE', () => {
    for (const [name, f] of families(prometheusText(busy))) {
      expect(f.help, name).toBe(1);
      expect(['gauge', 'counter'], name).toContain(f.type);
      expect(name.endsWith('_total'), `${name} is a ${f.type}`).toBe(f.type === 'counter');
      expect(name, 'no percent: ratios are 0..1').not.toMatch(/percent/);
      expect(f.samples.length, name).toBeGreaterThan(0);
    }
  });

  it('uses only bounded label names: no conversation id, tag or message text ever becomes a label', () => {
    const labelNames = new Set([...prometheusText(busy).matchAll(/[{,]([a-zA-Z_]+)="/g)].map(m => m[1]));
    expect([...labelNames].sort()).toEqual(['gpu', 'model', 'name', 'path', 'platform', 'provider', 'status', 'uuid', 'version']);
  });
});
