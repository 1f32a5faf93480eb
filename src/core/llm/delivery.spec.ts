import { describe, expect, it } from 'vitest';
import { lostCalls, lostCallsMessage } from './delivery';

const FULL = 'the disk buffer (/data/llm-spool, 64 MiB) is full';

describe('lost calls', () => {
  it('says nothing while no client dropped a call', () => {
    expect(lostCalls(new Map())).toBeNull();
    expect(lostCalls(new Map([['k1', { dropped: 0, lastDrop: null }]]), new Map([['node-1-aa', { dropped: 0, lastDrop: null }]]))).toBeNull();
  });

  it('names the kernel, the count, the reason and what to do, in one sentence', () => {
    expect(lostCallsMessage('kernel', 'k1', 12, FULL)).toBe(
      `12 LLM calls from kernel k1 were not recorded: ${FULL}. Their cost is missing from every total. Keep the sidecar running (%vigilo starts it again) and, for long outages, give the buffer more room: vigilo.configure(max_spool_bytes=256 * 1024 * 1024).`
    );
    expect(lostCallsMessage('kernel', 'k1', 1, 'the sender could not keep up: the oldest events were dropped.')).toMatch(
      /^1 LLM call from kernel k1 was not recorded: the sender could not keep up: the oldest events were dropped\. Their cost/
    );
    expect(lostCallsMessage('client', 'node-7-ab', 3, null)).toMatch(/^3 LLM calls from the TypeScript client node-7-ab were not recorded: the reason was not reported\. .*configure\(\{ maxSpooledBytes/);
  });

  it('adds kernels and TypeScript clients up, most first, with one short line', () => {
    const view = lostCalls(
      new Map([
        ['k1', { dropped: 2, lastDrop: FULL }],
        ['k2', { dropped: 0, lastDrop: null }]
      ]),
      new Map([['node-7-ab', { dropped: 5, lastDrop: 'the sidecar refused them (HTTP 400)' }]])
    )!;
    expect(view.calls).toBe(7);
    expect(view.sources.map(s => [s.kind, s.id, s.calls])).toEqual([
      ['client', 'node-7-ab', 5],
      ['kernel', 'k1', 2]
    ]);
    expect(view.summary).toBe(`7 calls lost (2 sources): the sidecar refused them (HTTP 400); ${FULL}`);
    expect(lostCalls(new Map([['k1', { dropped: 1, lastDrop: FULL }]]))!.summary).toBe(`1 call lost: ${FULL}`);
  });
});
