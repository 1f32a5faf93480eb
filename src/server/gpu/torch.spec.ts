import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/fakeRuntime';
import { runtimeHarness } from '../../../test/helpers/runtimeSidecar';
import { buildReport, renderText } from '../../core/report';

const T4_UUID = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const GiB = 1024 ** 3;
const harness = runtimeHarness();
afterEach(() => harness.cleanup());
const boot = () => harness.boot({ platform: 'colab', nowMs: Date.now(), scenario: { gpus: [{ fixture: 't4' }], apps: 'fixture' } });

const beat = (torch: unknown) => ({ kernelId: 'k-notebook', pid: 5762, startedAt: new Date().toISOString(), torch });

describe('PyTorch facts beside the GPU', () => {
  it('shows what PyTorch holds on the device and which notebook holds the GPU process', async () => {
    const sc = await boot();
    await until(async () => ((await sc.get('/metrics')).body.gpu?.devices[0]?.processes?.length ? true : null), 'compute apps', 12_000);
    const torch = {
      version: '2.5.1+cu121',
      cudaInitialized: true,
      allocConf: null,
      devices: [{ index: 0, name: 'Tesla T4', uuid: T4_UUID, totalBytes: 15 * GiB, allocatedBytes: 9 * GiB, reservedBytes: 14 * GiB, maxAllocatedBytes: 10 * GiB, numAllocRetries: 0, numOoms: 0, inactiveSplitBytes: 0 }]
    };
    expect((await sc.post('/kernels/heartbeat', beat(torch))).status).toBe(200);
    const device = await until(async () => (await sc.get('/metrics')).body.gpu.devices[0]?.torch ?? null, 'torch view', 12_000);
    expect(device).toMatchObject({ kernelId: 'k-notebook', kind: 'cache', allocatedBytes: 9 * GiB, reservedBytes: 14 * GiB, cachedBytes: 5 * GiB });
    expect(device.findings[0]).toMatch(/^PyTorch holds 14 GiB reserved, 9 GiB allocated: 5 GiB is its cache/);
    // The %vigilo report says the same in its GPU section.
    const text = renderText(buildReport({ status: (await sc.get('/status')).body, snapshot: (await sc.get('/metrics')).body }));
    expect(text).toMatch(/PyTorch +PyTorch holds 14 GiB reserved, 9 GiB allocated: 5 GiB is its cache/);
    const gpu = (await sc.get('/metrics')).body.gpu.devices[0];
    expect(gpu.processes).toContainEqual({ pid: 5762, processName: 'python', usedMiB: 1005, kernelId: 'k-notebook' });

    // Allocator retries: fragmentation, with the setting that helps.
    torch.devices[0].numAllocRetries = 3;
    await sc.post('/kernels/heartbeat', beat(torch));
    const frag = await until(async () => {
      const t = (await sc.get('/metrics')).body.gpu.devices[0]?.torch;
      return t?.kind === 'fragmentation' ? t : null;
    }, 'fragmentation', 12_000);
    expect(frag.advice).toMatch(/PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True/);
    // One alert for the turn, not one per GPU sample.
    await until(async () => (((await sc.get('/gpu/history')).body.gpus[0]?.samples.length ?? 0) >= 20 ? true : null), 'more samples', 12_000);
    const alerts = (await sc.get('/alerts?ruleId=gpu.torch')).body.alerts;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'warning', key: `k-notebook/${T4_UUID}` });
    expect(alerts[0].message).toMatch(/^GPU 0 Tesla T4: PyTorch holds 14 GiB reserved, 9 GiB allocated: the allocator had to free its cache and retry 3 allocation\(s\) \(fragmentation\)\. What to do: set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True/);
  }, 40_000);

  it('rejects torch facts that do not have the documented shape', async () => {
    const sc = await boot();
    const bad = await sc.post('/kernels/heartbeat', beat({ version: '2', cudaInitialized: true, devices: [{ index: 0, allocatedBytes: -1 }] }));
    expect(bad.status).toBe(400);
  }, 40_000);
});
