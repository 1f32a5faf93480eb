import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot, StatusResponse } from '../shared/api';
import { renderHtml, renderText, reportSections } from './report';

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

describe('the %vigilo report (Colab/Kaggle output-cell dashboard)', () => {
  it('leads with how long the Colab runtime has left and flags it when it is short', () => {
    const text = renderText(reportSections(status, colab));
    expect(text).toMatch(/!! Session\s+10 min 00 s left of 12 h 00 min/);
    expect(text).toMatch(/Idle cut-off\s+1 h 00 min left/);
  });

  it('shows VRAM, the OOM prediction and an unmounted Drive as problems', () => {
    const text = renderText(reportSections(status, colab));
    expect(text).toMatch(/!! GPU 0\s+Tesla T4: VRAM 14\.6 GiB of 15\.0 GiB \(97%\)/);
    expect(text).toMatch(/!! GPU 0 OOM\s+VRAM full in about 4 min 00 s/);
    expect(text).toMatch(/ ! Google Drive\s+not mounted/);
    expect(text).toMatch(/!! Disk \/content\s+89\.4 GiB of 93\.1 GiB \(96%\)/);
  });

  it('says why the GPU section is empty instead of showing nothing', () => {
    const text = renderText(
      reportSections({ ...status, platform: { name: 'local', evidence: ['none'] } }, {
        ...colab,
        session: undefined,
        idle: undefined,
        storage: undefined,
        gpu: { status: 'unavailable', reason: 'nvidia-smi not found on PATH', devices: [], sampledAt: null }
      })
    );
    expect(text).toMatch(/GPU\s+unavailable: nvidia-smi not found on PATH/);
    expect(text).not.toContain('Session');
  });

  it('escapes HTML from the sidecar figures', () => {
    const html = renderHtml(reportSections({ ...status, platform: { name: 'local', evidence: ['<script>x</script>'] } }, { takenAt: '', sidecar: colab.sidecar }));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});
