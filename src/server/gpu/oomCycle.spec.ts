/**
 * OOM on a training sawtooth through the real sidecar: the stand-in
 * nvidia-smi (a real T4 row) replays a 6 → 12 GiB sawtooth in wall-clock
 * time, and a kernel's heartbeats carry PyTorch's max_memory_reserved, which
 * the GPU module hands to the predictor as the peaks (src/core/oom.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/fakeRuntime';
import { runtimeHarness } from '../../../test/helpers/runtimeSidecar';

const T4_UUID = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const MiB = 1024 ** 2;
const harness = runtimeHarness();
afterEach(() => harness.cleanup());

describe('OOM on a sawtooth, through the sidecar', () => {
  it("reads the peaks from PyTorch's max_memory_reserved when a kernel reports it, and shows no time while they hold", async () => {
    const now = Date.now();
    const sc = await harness.boot({ platform: 'colab', nowMs: now, scenario: { gpus: [{ fixture: 't4' }], sawtooth: { periodS: 1, loMiB: 6144, hiMiB: 12288, startMs: now } } });
    // From the samples alone first: two frees in the window make it a cycle with flat peaks.
    const fromSamples = await until(async () => {
      const oom = (await sc.get('/metrics')).body.gpu?.devices?.[0]?.oom;
      return oom?.cycle && oom.trend === 'flat' ? oom : null;
    }, 'a flat cycle from the samples', 12_000);
    expect(fromSamples).toMatchObject({ secondsToLimit: null, estimateS: null, cycle: { peaksFrom: 'samples' } });

    const beat = (reservedMiB: number) => ({
      kernelId: 'k-train',
      pid: 4242,
      startedAt: new Date(now).toISOString(),
      torch: {
        version: '2.5.1+cu121',
        cudaInitialized: true,
        allocConf: null,
        devices: [{ index: 0, uuid: T4_UUID, totalBytes: 15360 * MiB, allocatedBytes: 5000 * MiB, reservedBytes: reservedMiB * MiB, maxAllocatedBytes: 11000 * MiB, maxReservedBytes: 11800 * MiB }]
      }
    });
    for (const reserved of [7000, 9000, 11000]) {
      expect((await sc.post('/kernels/heartbeat', beat(reserved))).status).toBe(200);
    }
    const fromTorch = await until(async () => {
      const oom = (await sc.get('/metrics')).body.gpu?.devices?.[0]?.oom;
      return oom?.cycle?.peaksFrom === 'torch' ? oom : null;
    }, "peaks from PyTorch's high-water mark", 12_000);
    expect(fromTorch).toMatchObject({ trend: 'flat', secondsToLimit: null, estimateS: null });
    expect(fromTorch.basis).toMatch(/PyTorch's peak reserved memory hold at about \d+ MiB/);
  }, 40_000);
});
