/**
 * PyTorch's own memory facts, read, pure. Input: what the kernel's heartbeat
 * carried for one CUDA device (torch.cuda.memory_allocated / memory_reserved /
 * max_memory_allocated and the allocator counters of memory_stats()), and the
 * allocated bytes of the previous heartbeats. Output: what holds the memory
 * and what to do, in words.
 *
 * - cache: the caching allocator keeps freed blocks reserved. nvidia-smi
 *   counts them as used, but PyTorch can reuse them: "PyTorch holds 14 GiB
 *   reserved, 9 GiB allocated".
 * - fragmentation: the allocator had to free its cache and retry
 *   (num_alloc_retries), or much reserved memory sits in split blocks no
 *   request fits: expandable segments help.
 * - leak: allocated memory (live tensors) keeps growing from beat to beat.
 * - oom: PyTorch already raised CUDA out-of-memory (num_ooms).
 */
import type { TorchDeviceFacts } from '../shared/api';
import { formatBytes } from '../shared/format';

const GiB = 1024 ** 3;

export type TorchMemoryKind = 'leak' | 'fragmentation' | 'cache' | 'oom' | 'ok';

export interface TorchMemoryView {
  index: number;
  uuid: string | null;
  allocatedBytes: number;
  reservedBytes: number;
  maxAllocatedBytes: number;
  /** Reserved but not allocated: reusable by PyTorch, not by other processes. */
  cachedBytes: number;
  numAllocRetries: number | null;
  numOoms: number | null;
  /** The most pressing finding; 'ok' when nothing needs doing. */
  kind: TorchMemoryKind;
  /** Every finding in words, most pressing first. */
  findings: string[];
  /** What to do, when there is something. */
  advice: string | null;
}

export interface TorchMemoryOptions {
  /** Cached memory worth mentioning: this share of reserved (default 25 %)... */
  cacheFraction?: number;
  /** ...and at least this many bytes (default 1 GiB). */
  minCacheBytes?: number;
  /** Growth of allocated memory over the history that reads as a leak (default 5 % of the card or 512 MiB). */
  leakBytes?: number;
  /** Share of the history's steps that must not go down (default 0.8). */
  leakMonotonic?: number;
  /** Fewest history points for a leak verdict (default 6). */
  leakMinPoints?: number;
}

const EXPANDABLE = 'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True';

/**
 * Read one device. `allocatedHistory` holds the allocated bytes of the
 * previous heartbeats of the same kernel and device, oldest first (the
 * current one excluded).
 */
export function readTorchMemory(
  dev: TorchDeviceFacts,
  allocatedHistory: readonly number[] = [],
  allocConf: string | null = null,
  options: TorchMemoryOptions = {}
): TorchMemoryView {
  const cached = Math.max(0, dev.reservedBytes - dev.allocatedBytes);
  const total = dev.totalBytes ?? null;
  const findings: Array<{ kind: TorchMemoryKind; text: string; advice: string | null }> = [];
  const expandableOn = /expandable_segments\s*:\s*true/i.test(allocConf ?? '');

  if ((dev.numOoms ?? 0) > 0) {
    findings.push({
      kind: 'oom',
      text: `PyTorch already hit CUDA out of memory ${dev.numOoms} time(s) on this device`,
      advice: `lower the batch size or use gradient accumulation / mixed precision${expandableOn ? '' : `; ${EXPANDABLE} (set before the first CUDA use) lets the allocator grow segments instead of failing on fragments`}`
    });
  }

  const series = [...allocatedHistory, dev.allocatedBytes];
  const leakBytes = options.leakBytes ?? Math.max(512 * 1024 ** 2, total ? 0.05 * total : 0);
  if (series.length >= (options.leakMinPoints ?? 6)) {
    let up = 0;
    for (let i = 1; i < series.length; i++) if (series[i] >= series[i - 1]) up++;
    const growth = series[series.length - 1] - Math.min(...series);
    const monotonic = up / (series.length - 1);
    if (growth >= leakBytes && monotonic >= (options.leakMonotonic ?? 0.8) && series[series.length - 1] >= series[0] + leakBytes) {
      findings.push({
        kind: 'leak',
        text: `memory held by live tensors keeps growing (+${formatBytes(growth)} over the last ${series.length} heartbeats): something keeps tensors alive`,
        advice: 'look for tensors kept across steps: a loss summed with its graph (use loss.item()), outputs appended to a list without .detach().cpu(), a growing cache'
      });
    }
  }

  const retries = dev.numAllocRetries ?? 0;
  const split = dev.inactiveSplitBytes ?? 0;
  if (retries > 0 || (split >= GiB && split >= 0.25 * dev.reservedBytes)) {
    const why = retries > 0 ? `the allocator had to free its cache and retry ${retries} allocation(s)` : `${formatBytes(split)} of reserved memory sits in split blocks no large request fits`;
    findings.push({
      kind: 'fragmentation',
      text: `PyTorch holds ${formatBytes(dev.reservedBytes)} reserved, ${formatBytes(dev.allocatedBytes)} allocated: ${why} (fragmentation)`,
      advice: expandableOn
        ? 'expandable segments are already on: lower the peak (batch size, activation checkpointing)'
        : `set ${EXPANDABLE} before the first CUDA use (restart the kernel, set it in the first cell)`
    });
  }

  const cacheFraction = options.cacheFraction ?? 0.25;
  if (cached >= (options.minCacheBytes ?? GiB) && cached >= cacheFraction * dev.reservedBytes && !findings.some(f => f.kind === 'fragmentation')) {
    findings.push({
      kind: 'cache',
      text: `PyTorch holds ${formatBytes(dev.reservedBytes)} reserved, ${formatBytes(dev.allocatedBytes)} allocated: ${formatBytes(cached)} is its cache, free for PyTorch but counted as used by nvidia-smi`,
      advice: 'nothing to do for PyTorch itself; torch.cuda.empty_cache() hands the cache back if another process needs the memory'
    });
  }

  const order: TorchMemoryKind[] = ['oom', 'leak', 'fragmentation', 'cache'];
  findings.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const top = findings[0];
  return {
    index: dev.index,
    uuid: dev.uuid ?? null,
    allocatedBytes: dev.allocatedBytes,
    reservedBytes: dev.reservedBytes,
    maxAllocatedBytes: dev.maxAllocatedBytes,
    cachedBytes: cached,
    numAllocRetries: dev.numAllocRetries ?? null,
    numOoms: dev.numOoms ?? null,
    kind: top?.kind ?? 'ok',
    findings: findings.length ? findings.map(f => f.text) : [`PyTorch holds ${formatBytes(dev.reservedBytes)} reserved, ${formatBytes(dev.allocatedBytes)} allocated (peak ${formatBytes(dev.maxAllocatedBytes)})`],
    advice: top?.advice ?? null
  };
}

/**
 * Which kernel holds a GPU process: nvidia-smi's compute-apps pid against the
 * pids kernels registered with. Null when no kernel matches (another process,
 * or a container whose pids nvidia-smi cannot see).
 */
export function kernelOfPid(pid: number, kernels: ReadonlyArray<{ kernelId: string; pid: number; alive: boolean }>): string | null {
  return kernels.find(k => k.pid === pid && k.alive)?.kernelId ?? null;
}
