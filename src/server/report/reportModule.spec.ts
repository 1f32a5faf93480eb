import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { currentStatus } from '../core/coreModule';
import type { SidecarModule } from '../core/module';
import { Sidecar } from '../sidecar';
import { z } from 'zod';
import { jsonRoute } from '../core/route';
import { reportModule } from './reportModule';

describe('GET /report and GET /metrics/prometheus on a running sidecar', () => {
  let dir: string;
  let sidecar: Sidecar;
  let url: string;
  const auth = { authorization: 'Bearer report-token' };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigilo-report-'));
    sidecar = new Sidecar({
      config: { host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), fsRoot: dir, intervalMs: 1000, heartbeatIntervalS: 10, version: '0.1.0', env: {} },
      token: 'report-token',
      clock: new ManualClock(),
      modules: ctx => [reportModule(ctx, () => currentStatus(ctx))]
    });
    url = (await sidecar.start()).url;
    sidecar.ctx.snapshot.update('gpu', { status: 'unavailable', reason: 'nvidia-smi not found on PATH', devices: [], sampledAt: null });
  });

  afterEach(async () => {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stop the default sidecar and start one whose report reads these sibling modules. */
  async function restartWithSiblings(siblings: SidecarModule[], dataDir: string): Promise<void> {
    await sidecar.stop();
    sidecar = new Sidecar({
      config: { host: '127.0.0.1', port: 0, dataDir: join(dir, dataDir), fsRoot: dir, intervalMs: 1000, heartbeatIntervalS: 10, version: '0.1.0', env: {} },
      token: 'report-token',
      clock: new ManualClock(Date.now()),
      modules: ctx => [reportModule(ctx, () => currentStatus(ctx), { siblings: () => siblings })]
    });
    url = (await sidecar.start()).url;
  }

  it('renders the report as text and HTML in one answer, with the GPU reason', async () => {
    const body = (await (await fetch(`${url}/report`, { headers: auth })).json()) as { text: string; html: string };
    expect(body.text).toMatch(/GPU\s+unavailable: nvidia-smi not found on PATH/);
    expect(body.html).toContain('<table');
  });

  it('serves Prometheus text behind the same token', async () => {
    expect((await fetch(`${url}/metrics/prometheus`)).status).toBe(401);
    const response = await fetch(`${url}/metrics/prometheus`, { headers: auth });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE vigilo_sidecar_uptime_seconds gauge');
    expect(text).toContain('vigilo_gpu_up 0');
  });

  it('reads LLM spend and the worst conversation from the sibling modules, in process', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const bucket = (key: string) => ({ key, calls: 4, costUsd: 0.82, unpricedCalls: 0, inputTokens: 1000, outputTokens: 100 });
    const siblings = [
      {
        name: 'llm-stub',
        routes: [
          jsonRoute({ method: 'get', path: '/llm/cost', summary: '', response: z.any(), query: z.object({ days: z.coerce.number() }), handler: ({ query }) => ({ days: query.days, byDay: [bucket(today)], byWeek: [], byProvider: [], byModel: [], totalUsd: 0.82, unpricedCalls: 0, warnings: [] }) }),
          jsonRoute({ method: 'get', path: '/llm/conversations', summary: '', response: z.any(), handler: () => ({ conversations: [] }) })
        ]
      }
    ];
    await restartWithSiblings(siblings, 'data2');
    const body = (await (await fetch(`${url}/report`, { headers: auth })).json()) as { text: string; html: string };
    expect(body.text).toMatch(/Spend today \(UTC\)\s+\$0\.82 · 4 calls/);
    // No checkpoint route among the siblings: the report says so plainly.
    expect(body.text).toMatch(/Checkpoints\s+not available in this sidecar yet/);
  });

  it('draws the VRAM chart from the GPU module\'s own series (GET /gpu/history, in process)', async () => {
    const asked: number[] = [];
    const start = Date.parse('2026-11-30T12:00:00Z');
    const samples = Array.from({ length: 181 }, (_, i) => ({ t: new Date(start + i * 1000).toISOString(), usedMiB: 2000 + 10 * i }));
    const siblings = [
      {
        name: 'gpu-stub',
        routes: [
          jsonRoute({
            method: 'get',
            path: '/gpu/history',
            summary: '',
            response: z.any(),
            query: z.object({ limit: z.coerce.number() }),
            handler: ({ query }) => {
              asked.push(query.limit);
              return { gpus: [{ uuid: 'GPU-a', samples }] };
            }
          })
        ]
      }
    ];
    await restartWithSiblings(siblings, 'data3');
    const device = { index: 0, uuid: 'GPU-a', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 3800, utilizationPercent: 90, temperatureC: 60, powerW: 40 };
    sidecar.ctx.snapshot.update('gpu', { status: 'ok', devices: [device], sampledAt: samples[180].t });
    const body = (await (await fetch(`${url}/report`, { headers: auth })).json()) as { text: string; html: string };
    expect(asked).toEqual([600]);
    expect(body.html).toContain('<polyline');
    expect(body.html).toContain('VRAM, last 3 min');
  });
});
