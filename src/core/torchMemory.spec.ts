import { describe, expect, it } from 'vitest';
import { kernelOfPid, readTorchMemory } from './torchMemory';

const GiB = 1024 ** 3;
const T4 = 15 * GiB;
const dev = (over: Partial<Parameters<typeof readTorchMemory>[0]> = {}) => ({
  index: 0,
  totalBytes: T4,
  allocatedBytes: 9 * GiB,
  reservedBytes: 9.5 * GiB,
  maxAllocatedBytes: 10 * GiB,
  numAllocRetries: 0,
  numOoms: 0,
  inactiveSplitBytes: 0,
  ...over
});

describe('reading PyTorch memory', () => {
  it('calls reserved-but-free memory the allocator’s cache, not a leak', () => {
    const v = readTorchMemory(dev({ reservedBytes: 14 * GiB }));
    expect(v.kind).toBe('cache');
    expect(v.cachedBytes).toBe(5 * GiB);
    expect(v.findings[0]).toBe('PyTorch holds 14 GiB reserved, 9 GiB allocated: 5 GiB is its cache, free for PyTorch but counted as used by nvidia-smi');
    expect(v.advice).toMatch(/torch\.cuda\.empty_cache\(\)/);
  });

  it('calls allocator retries or many split blocks fragmentation and names expandable segments', () => {
    const retries = readTorchMemory(dev({ reservedBytes: 14 * GiB, numAllocRetries: 4 }));
    expect(retries.kind).toBe('fragmentation');
    expect(retries.findings[0]).toMatch(/retry 4 allocation\(s\) \(fragmentation\)$/);
    expect(retries.advice).toBe('set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True before the first CUDA use (restart the kernel, set it in the first cell)');
    const split = readTorchMemory(dev({ reservedBytes: 14 * GiB, inactiveSplitBytes: 4 * GiB }));
    expect(split.kind).toBe('fragmentation');
    // Already on: a different piece of advice.
    expect(readTorchMemory(dev({ numAllocRetries: 1 }), [], 'expandable_segments:True').advice).toMatch(/already on/);
  });

  it('calls allocated memory that grows beat after beat a leak', () => {
    const history = [2, 2.6, 3.1, 3.9, 4.5, 5.2].map(g => g * GiB);
    const v = readTorchMemory(dev({ allocatedBytes: 6 * GiB, reservedBytes: 6.5 * GiB }), history);
    expect(v.kind).toBe('leak');
    expect(v.findings[0]).toMatch(/keeps growing \(\+4 GiB over the last 7 heartbeats\)/);
    expect(v.advice).toMatch(/loss\.item\(\)/);
  });

  it('does not call a training loop that allocates and frees each step a leak', () => {
    const history = [5, 7, 5, 7, 5, 7, 5].map(g => g * GiB);
    expect(readTorchMemory(dev({ allocatedBytes: 7 * GiB, reservedBytes: 7.5 * GiB }), history).kind).toBe('ok');
  });

  it('puts an out-of-memory PyTorch already hit first', () => {
    const v = readTorchMemory(dev({ reservedBytes: 14 * GiB, numOoms: 2, numAllocRetries: 5 }));
    expect(v.kind).toBe('oom');
    expect(v.findings).toHaveLength(2);
  });

  it('says plainly what PyTorch holds when nothing needs doing', () => {
    const v = readTorchMemory(dev());
    expect(v).toMatchObject({ kind: 'ok', advice: null });
    expect(v.findings).toEqual(['PyTorch holds 9.5 GiB reserved, 9 GiB allocated (peak 10 GiB)']);
    // Figures read as everywhere else (formatBytes): MiB under a GiB, one decimal without ".0".
    const small = readTorchMemory(dev({ allocatedBytes: 512 * 1024 ** 2, reservedBytes: 768 * 1024 ** 2, maxAllocatedBytes: GiB }));
    expect(small.findings).toEqual(['PyTorch holds 768 MiB reserved, 512 MiB allocated (peak 1 GiB)']);
  });

  it('attributes a GPU process to the live kernel with its pid', () => {
    const kernels = [{ kernelId: 'a', pid: 10, alive: false }, { kernelId: 'b', pid: 20, alive: true }];
    expect(kernelOfPid(20, kernels)).toBe('b');
    expect(kernelOfPid(10, kernels)).toBeNull();
    expect(kernelOfPid(99, kernels)).toBeNull();
  });
});
