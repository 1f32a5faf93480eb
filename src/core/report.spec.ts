import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot, StatusResponse } from '../shared/api';
import { buildReport, renderHtml, renderText } from './report';

const status: StatusResponse = {
  name: 'vigilo',
  apiVersion: 1,
  version: '0.1.0',
  pid: 77,
  startedAt: '2026-11-24T00:00:00.000Z',
  uptimeS: 125,
  platform: { name: 'colab', evidence: ['env COLAB_RELEASE_TAG=release-colab_20261101'] }
};

const colab: MetricsSnapshot = {
  takenAt: '2026-11-24T10:00:00.000Z',
  sidecar: { pid: 77, uptimeS: 125, rssBytes: 60 * 1048576, version: '0.1.0' },
  session: {
    startedAt: '2026-11-24T00:10:00.000Z',
    startBasis: 'pid1',
    elapsedS: 11 * 3600 + 50 * 60,
    lifetimeS: 12 * 3600,
    remainingS: 10 * 60,
    endsAt: '2026-11-24T12:10:00.000Z',
    warnAtMin: [60, 30, 10, 5],
    previous: null
  },
  idle: { lastActivityAt: '2026-11-24T09:30:00.000Z', source: 'kernel', idleS: 1800, cutoffS: 5400, remainingS: 3600 },
  gpu: {
    status: 'ok',
    reason: null,
    sampledAt: '2026-11-24T10:00:00.000Z',
    devices: [
      {
        index: 0,
        uuid: 'GPU-1',
        name: 'Tesla T4',
        memoryTotalMiB: 15360,
        memoryUsedMiB: 14900,
        utilizationPercent: 98,
        temperatureC: 71,
        powerW: 60,
        oom: { secondsToLimit: 240, basis: 'peak trend over 120 samples', confidence: 0.9, usedPercent: 97, slopeMiBPerS: 2, samples: 120 }
      }
    ]
  },
  storage: {
    status: 'ok',
    reason: null,
    disks: [{ path: '/content', totalBytes: 100e9, usedBytes: 96e9, availableBytes: 4e9, usedPercent: 96 }],
    output: null,
    drive: { mounted: false, mountPoint: '/content/drive', fsType: null },
    sampledAt: '2026-11-24T10:00:00.000Z'
  }
};

const clock = { locale: 'en-GB', timeZone: 'UTC', nowMs: Date.parse(colab.takenAt) };

describe('the %vigilo report (Colab/Kaggle output-cell dashboard)', () => {
  it('leads with the soonest threat, the same verdict as the panel', () => {
    const report = buildReport({ status, snapshot: colab, clock });
    expect(report.verdict).toEqual({ text: 'VRAM full in ~4 min', level: 'bad' });
    const text = renderText(report);
    expect(text.split('\n')[0]).toBe('!! VRAM full in ~4 min');
  });

  it('shows the runtime countdown with its end time and zone, flagged when short', () => {
    const text = renderText(buildReport({ status, snapshot: colab, clock }));
    // 10 min left is the session.remaining rule's warning level (critical at 5): one '!', as the alert.
    expect(text).toMatch(/\n {3}! Runtime\s+10 min 00 s left \(ends 12:10 UTC\)/);
    expect(text).toMatch(/Idle cut-off\s+1 h 00 min left/);
  });

  it('shows VRAM with a bar, the OOM ETA with its confidence, an unmounted Drive with how to mount it', () => {
    const text = renderText(buildReport({ status, snapshot: colab, clock }));
    expect(text).toMatch(/!! GPU 0\s+Tesla T4 · VRAM 14\.6 GiB of 15 GiB \(97%\)/);
    expect(text).toMatch(/\[#{19}-\]/);
    expect(text).toMatch(/!! Out of memory\s+VRAM full in ~4 min \(confidence 90%\)/);
    expect(text).toMatch(/ ! Google Drive\s+not mounted — checkpoints have nowhere durable to go\. Mount it: from google\.colab import drive/);
    expect(text).toMatch(/!! Disk \/content\s+89\.4 GiB of 93\.1 GiB \(96%\)/);
  });

  it('draws the VRAM history as an inline SVG chart, with no script and no external resource', () => {
    const history = { 'GPU-1': [0, 1, 2, 3].map(i => ({ t: Date.parse(colab.takenAt) - (3 - i) * 60_000, usedMiB: 12000 + i * 900 })) };
    const html = renderHtml(buildReport({ status, snapshot: colab, vramHistory: history, clock }));
    expect(html).toContain('<svg');
    expect(html).toContain('VRAM, last 3 min');
    expect(html).toContain('class="vigilo-verdict"');
    expect(html).not.toMatch(/<script|src=|href=|url\(/);
  });

  it('adds LLM spend and the worst conversation, and says when checkpoints are not available', () => {
    const worst = {
      conversationId: 'chat-1',
      provider: 'openai' as const,
      model: 'gpt-4o-mini',
      calls: 30,
      firstAt: colab.takenAt,
      lastAt: colab.takenAt,
      costUsd: 0.5,
      context: { usedTokens: 100_000, windowTokens: 128_000, percent: 78, growthPerMessage: 3000, messagesLeft: 9, text: '' },
      latency: { slopePerMessage: null, relativeChange: null, pValue: null, rising: false, samples: 30 },
      costPerMessage: { slopePerMessage: null, relativeChange: null, pValue: null, rising: false, samples: 30 },
      errorRate: 0,
      score: 41,
      status: 'degrading' as const,
      reasons: [],
      recommendations: ['Start a fresh conversation with the summary.'],
      summaryAvailable: true
    };
    const text = renderText(
      buildReport({ status, snapshot: colab, clock, checkpoints: null, llm: { todayUsd: 0.82, weekUsd: 3.1, unpricedToday: 0, callsToday: 40, worst } })
    );
    expect(text).toMatch(/Spend today \(UTC\)\s+\$0\.82 · 40 calls/);
    expect(text).toMatch(/This week\s+\$3\.10/);
    expect(text).toMatch(/!! Worst conversation\s+chat-1 \(gpt-4o-mini\): 41\/100 degrading · context 78% · about 9 messages left · Start a fresh/);
    expect(text).toMatch(/Checkpoints\s+not available in this sidecar yet/);
  });

  it('says why the GPU section is empty, and that a local runtime has no time limit', () => {
    const text = renderText(
      buildReport({
        status: { ...status, platform: { name: 'local', evidence: ['none'] } },
        snapshot: {
          ...colab,
          session: undefined,
          idle: undefined,
          storage: undefined,
          gpu: { status: 'unavailable', reason: 'nvidia-smi not found on PATH', devices: [], sampledAt: null }
        }
      })
    );
    expect(text).toMatch(/GPU\s+unavailable: nvidia-smi not found on PATH/);
    expect(text).toMatch(/Time limit\s+none: a local runtime/);
    expect(text).not.toContain('Runtime ends');
  });

  it('escapes HTML from the sidecar figures', () => {
    const html = renderHtml(
      buildReport({ status: { ...status, platform: { name: 'local', evidence: ['<script>x</script>'] }, version: '<b>1</b>' }, snapshot: { takenAt: '', sidecar: colab.sidecar } })
    );
    expect(html).not.toContain('<b>1');
    expect(html).toContain('&lt;b&gt;1');
  });
});
