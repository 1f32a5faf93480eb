import { afterEach, describe, expect, it } from 'vitest';
import { buildReport, renderText } from '../../core/report';
import { ManualClock } from '../core/clock';
import { removeDir, startSidecar, tempDir, type TestSidecar } from '../../../test/fakes/sidecar';
import { LOST_CALLS_RULE } from './lostCalls';

/**
 * Calls the clients dropped reach the user: a kernel's heartbeat (`llm.delivery`) and a TypeScript client's batch
 * (`client`) are kept per source, answered in GET /llm/usage (`lost`), and raise one alert per source.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const clock = new ManualClock(Date.parse('2026-03-02T12:00:00Z'));
async function sidecar(): Promise<TestSidecar> {
  const dir = tempDir();
  const sc = await startSidecar(dir, clock);
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => sc.stop());
  return sc;
}

const FULL = 'the disk buffer (/data/llm-spool, 64 MiB) is full';
const beat = (kernelId: string, pid: number, delivery?: object) => ({
  kernelId,
  pid,
  startedAt: '2026-03-02T11:00:00Z',
  llm: { loaded: ['openai'], tracked: { openai: 3 }, untracked: {}, ...(delivery ? { delivery } : {}) }
});
const lostAlerts = (sc: TestSidecar) => sc.sidecar.ctx.alerts.list({ ruleId: LOST_CALLS_RULE });

describe('lost calls in the sidecar', () => {
  it('a kernel that reports drops: /llm/usage says how many and why, one alert however many beats, gone with the kernel', async () => {
    const sc = await sidecar();
    expect((await sc.send('POST', '/kernels/heartbeat', beat('k1', 101, { dropped: 0, lastDrop: null, pending: 2, spooled: 0 }))).status).toBe(200);
    expect((await sc.get('/llm/usage')).body.lost).toBeNull();
    expect(lostAlerts(sc)).toEqual([]);

    const published: unknown[] = [];
    cleanups.push(sc.sidecar.ctx.bus.subscribe(m => m.event === 'llm' && published.push(m.data)));
    for (let i = 0; i < 3; i++) {
      expect((await sc.send('POST', '/kernels/heartbeat', beat('k1', 101, { dropped: 4, lastDrop: FULL, pending: 0, spooled: 3 }))).status).toBe(200);
    }
    const lost = (await sc.get('/llm/usage')).body.lost;
    expect(lost).toMatchObject({ calls: 4, summary: `4 calls lost: ${FULL}` });
    expect(lost.sources).toEqual([{ kind: 'kernel', id: 'k1', calls: 4, reason: FULL, message: expect.stringMatching(/^4 LLM calls from kernel k1 were not recorded: the disk buffer/) }]);
    const alerts = lostAlerts(sc);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ key: 'kernel:k1', severity: 'warning', message: lost.sources[0].message, value: 4 });
    expect(published).toEqual([{ type: 'lost', kind: 'kernel', id: 'k1', dropped: 4 }]); // the panel reads /llm/usage again once

    // The kernel restarts (a new pid): its counters start again, and so does its one alert.
    await sc.send('POST', '/kernels/heartbeat', beat('k1', 202, { dropped: 0, lastDrop: null }));
    expect((await sc.get('/llm/usage')).body.lost).toBeNull();
    await sc.send('POST', '/kernels/heartbeat', beat('k1', 202, { dropped: 1, lastDrop: FULL }));
    expect(lostAlerts(sc)).toHaveLength(2);
    expect(lostAlerts(sc)[0].message).toMatch(/^1 LLM call from kernel k1 was not recorded/);
  });

  it('a TypeScript client says its drops with a batch; an unknown field in it is a 400 naming it', async () => {
    const sc = await sidecar();
    const client = { id: 'node-7-abcdef', dropped: 5, lastDrop: 'the sidecar refused them (HTTP 400)' };
    expect((await sc.send('POST', '/llm/events', { events: [], client })).body).toMatchObject({ accepted: 0 });
    await sc.send('POST', '/llm/events', { events: [], client });
    const lost = (await sc.get('/llm/usage')).body.lost;
    expect(lost.calls).toBe(5);
    expect(lost.sources[0]).toMatchObject({ kind: 'client', id: 'node-7-abcdef', calls: 5 });
    expect(lost.sources[0].message).toMatch(/^5 LLM calls from the TypeScript client node-7-abcdef were not recorded: the sidecar refused them \(HTTP 400\)\./);
    expect(lostAlerts(sc)).toHaveLength(1);
    const bad = await sc.send('POST', '/llm/events', { events: [], client: { ...client, extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/client/);
    const badBeat = await sc.send('POST', '/kernels/heartbeat', beat('k9', 9, { dropped: -1, lastDrop: null }));
    expect(badBeat.status).toBe(400);
    expect(badBeat.body.error.message).toMatch(/llm\.delivery\.dropped/);
  });

  it('the %vigilo report has a "Calls lost" row only when calls were lost', async () => {
    const sc = await sidecar();
    const status = (await sc.get('/status')).body;
    const snapshot = sc.sidecar.ctx.snapshot.current();
    const base = { todayUsd: 0.5, weekUsd: 1, unpricedToday: 0, callsToday: 10, worst: null };
    const rows = (lost: { calls: number; summary: string } | null) => buildReport({ status, snapshot, llm: { ...base, lost } }).sections.find(s => s.title === 'LLM')!.rows;
    expect(rows(null).map(r => r.label)).not.toContain('Calls lost');
    expect(rows({ calls: 0, summary: '' }).map(r => r.label)).not.toContain('Calls lost');
    expect(rows({ calls: 4, summary: `4 calls lost: ${FULL}` }).find(r => r.label === 'Calls lost')).toEqual({ label: 'Calls lost', value: `4 calls lost: ${FULL}`, level: 'bad' });
    expect(renderText(buildReport({ status, snapshot, llm: { ...base, lost: { calls: 4, summary: `4 calls lost: ${FULL}` } } }))).toContain(`4 calls lost: ${FULL}`);
  });
});
