/**
 * The streaming nvidia-smi reader over a simulated ten minutes: fake timers
 * drive its backoff and watchdog, a fake `spawn` plays a child that dies,
 * hangs, prints garbage or streams, so "nothing spins" is a count, not a
 * feeling. (runtime.spec.ts runs the same failures against a real stand-in
 * process.)
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOT_FOUND_REASON, NvidiaSmiReader, type ReaderState } from './reader';

type Behaviour = 'die' | 'hang' | 'garbage' | 'stream';

const T4_ROW = '0, GPU-d37e67a5-91dd-3774-a5cb-99096249601a, Tesla T4, 15360, 1032, 0, 40, 26.78';
const TEN_MINUTES = 600_000;

interface Harness {
  reader: NvidiaSmiReader;
  spawns: () => number;
  kills: () => number;
  batches: number;
  states: ReaderState[];
}

function harness(behaviours: (n: number) => Behaviour, env: NodeJS.ProcessEnv = { VIGILO_NVIDIA_SMI: process.execPath }): Harness {
  let spawned = 0;
  let killed = 0;
  const timers = new Set<NodeJS.Timeout>();
  const fakeSpawn = (() => {
    const behaviour = behaviours(spawned++);
    const child = new EventEmitter() as ChildProcess & EventEmitter;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let exitCode: number | null = null;
    Object.assign(child, { stdout, stderr, pid: 1000 + spawned });
    Object.defineProperty(child, 'exitCode', { get: () => exitCode });
    const exit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exitCode !== null) return;
      exitCode = code ?? 137;
      for (const t of timers) clearInterval(t);
      stdout.end();
      child.emit('exit', code, signal);
    };
    child.kill = (() => {
      killed++;
      setTimeout(() => exit(null, 'SIGKILL'), 0);
      return true;
    }) as ChildProcess['kill'];
    if (behaviour === 'die') {
      setTimeout(() => {
        stderr.write('Unable to determine the device handle for GPU0000:00:04.0: Unknown Error\n');
        setTimeout(() => exit(15, null), 5);
      }, 5);
    } else if (behaviour === 'garbage' || behaviour === 'stream') {
      const t = setInterval(() => stdout.write(behaviour === 'stream' ? `${T4_ROW}\n` : 'Failed to initialize NVML: Driver/library version mismatch\n'), 1000);
      timers.add(t);
    }
    return child;
  }) as unknown as typeof import('node:child_process').spawn;
  const h: Harness = {
    reader: undefined as unknown as NvidiaSmiReader,
    spawns: () => spawned,
    kills: () => killed,
    batches: 0,
    states: []
  };
  h.reader = new NvidiaSmiReader({
    env,
    clock: { now: () => Date.now() },
    intervalMs: 1000,
    initialBackoffMs: 1000,
    maxBackoffMs: 30_000,
    watchdogFactor: 5,
    spawn: fakeSpawn,
    onBatch: () => {
      h.batches++;
    },
    onState: s => h.states.push(s)
  });
  return h;
}

let current: Harness | null = null;
beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  current?.reader.stop();
  current = null;
  vi.useRealTimers();
});

/** Restarts that backoff 1, 2, 4, 8, 16, then 30 s allow in `ms` after the first start, each cycle lasting `cycleMs` before its delay. */
function allowedStarts(ms: number, cycleMs: number): number {
  let t = 0;
  let starts = 0;
  for (let k = 0; t <= ms; k++) {
    starts++;
    t += cycleMs + Math.min(30_000, 1000 * 2 ** k);
  }
  return starts;
}

describe('nvidia-smi reader over ten simulated minutes', () => {
  it('a child that keeps dying is restarted with capped backoff: about two dozen starts, not thousands', async () => {
    current = harness(() => 'die');
    current.reader.start();
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    const state = current.reader.current;
    expect(current.spawns()).toBe(state.starts);
    // 1 + (1+2+4+8+16 s) + 30 s apart for the rest: 24–25 starts in ten minutes.
    expect(current.spawns()).toBeGreaterThanOrEqual(20);
    expect(current.spawns()).toBeLessThanOrEqual(allowedStarts(TEN_MINUTES, 0));
    expect(state.status).toBe('restarting');
    expect(state.reason).toMatch(/^nvidia-smi exited \(code 15\): Unable to determine the device handle .*; retry in 30 s$/);
    expect(state.nextRestartInMs).toBe(30_000);
    expect(current.batches).toBe(0);
  });

  it('a child that hangs is killed by the watchdog and restarted with the same backoff', async () => {
    current = harness(() => 'hang');
    current.reader.start();
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    const starts = current.spawns();
    // Each hung child lives ~6 s (5 intervals without a line, checked every interval) before its delay.
    expect(starts).toBeGreaterThanOrEqual(15);
    expect(starts).toBeLessThanOrEqual(allowedStarts(TEN_MINUTES, 5000));
    expect(current.kills()).toBe(current.reader.current.failures);
    expect(current.reader.current.reason).toMatch(/printed no GPU line for \d+ s \(hung driver\?\); restarting it; retry in 30 s/);
  });

  it('a child that prints only garbage is counted, quoted, and restarted boundedly', async () => {
    current = harness(() => 'garbage');
    current.reader.start();
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    expect(current.spawns()).toBeLessThanOrEqual(allowedStarts(TEN_MINUTES, 5000));
    const state = current.reader.current;
    expect(state.garbageLines).toBeGreaterThan(100);
    expect(state.reason).toMatch(/it printed only lines Vigilo cannot read, e\.g\. "Failed to initialize NVML/);
    expect(current.batches).toBe(0);
  });

  it('a missing nvidia-smi is never spawned, says why, and is looked for again only every 30 s', async () => {
    current = harness(() => 'stream', { PATH: '/nonexistent-vigilo-bin' });
    current.reader.start();
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    expect(current.spawns()).toBe(0);
    expect(current.reader.current).toMatchObject({ status: 'unavailable', reason: NOT_FOUND_REASON, starts: 0 });
    // The state settles at once; the 20 looks that follow publish nothing new.
    expect(current.states.length).toBeLessThanOrEqual(2);
  });

  it('after two deaths a healthy child streams, and the backoff starts over', async () => {
    current = harness(n => (n < 2 ? 'die' : n === 2 ? 'stream' : 'die'));
    current.reader.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(current.spawns()).toBe(3);
    expect(current.reader.current).toMatchObject({ status: 'streaming', reason: null, failures: 2 });
    expect(current.batches).toBeGreaterThan(50);
  });
});
