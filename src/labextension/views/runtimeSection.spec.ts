/** The panel's Runtime section shows what the hardware and the platform said (issue 16), rendered to markup. */
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../shared/api';
import { RuntimeSection } from './System';

const status = (platform: StatusResponse['platform']): StatusResponse => ({ name: 'vigilo', apiVersion: 1, version: '0.0.0', pid: 1, startedAt: '2026-01-01T00:00:00.000Z', uptimeS: 1, platform });

describe('the panel’s Runtime section', () => {
  it('shows the TPU chips and HBM, and that a Kaggle batch run has no idle cut-off', () => {
    const html = renderToStaticMarkup(
      React.createElement(RuntimeSection, {
        status: status({ name: 'kaggle', evidence: ['P1 Kaggle mark(s): env KAGGLE_KERNEL_RUN_TYPE=Batch'], runType: 'batch', accelerator: { kind: 'tpu', model: '8 × TPU v5 lite', count: 8, evidence: [], hbmPerChipGB: 16 } }),
        metrics: null
      })
    );
    expect(html).toContain('8 × TPU v5 lite · 8 chips · 16 GB HBM per chip');
    expect(html).toContain('batch (&quot;Save &amp; Run All&quot;): no idle cut-off; the session cap stays');
  });
  it('says the Colab plan it inferred, or asks with one line', () => {
    const inferred = renderToStaticMarkup(
      React.createElement(RuntimeSection, {
        status: status({ name: 'colab', evidence: [], accelerator: { kind: 'gpu', model: 'NVIDIA L4', count: 1, evidence: [], driverVersion: '580.82.07', cudaVersion: '13.0' }, tier: { value: 'paid', basis: 'inferred', evidence: ['tier: paid, inferred from L4 (a GPU Colab offers only on paid plans)'], ask: null } }),
        metrics: null
      })
    );
    expect(inferred).toContain('NVIDIA L4 · driver 580.82.07, CUDA 13.0');
    expect(inferred).toContain('paid, inferred from L4');
    const asked = renderToStaticMarkup(
      React.createElement(RuntimeSection, { status: status({ name: 'colab', evidence: [], tier: { value: null, basis: 'unknown', evidence: [], ask: '%vigilo profile tier=pro' } }), metrics: null })
    );
    expect(asked).toContain('say yours: %vigilo profile tier=pro');
  });
});
