/**
 * Gathers the raw platform facts under VIGILO_FS_ROOT (marker paths,
 * /dev/accel*, /dev/vfio, PCI vendor and device ids, /proc/driver/nvidia),
 * nvidia-smi's own version report and what kernels reported, and decides with
 * the pure detectors in src/core/platform.ts. Facts are read at construction
 * and on refresh() (the platform collector's timer), so GET /status never
 * does I/O. Every path goes through `underRoot`, so tests and the
 * real-runtime replay (test/fixtures/runtimes) hand it a fake root.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuSection, PlatformInfo } from '../../shared/api';
import { colabTier, detectAccelerator, detectPlatform, PLATFORM_MARKER_PATHS, type Accelerator, type PciFunction } from '../../core/platform';
import { parseSmiVersions, type SmiVersions } from '../../core/nvidiaSmi';
import type { KernelRegistry } from '../core/kernels';
import { underRoot } from '../core/paths';
import type { SnapshotStore } from '../core/snapshot';
import { resolveNvidiaSmi } from '../gpu/reader';

export interface DetectorDeps {
  fsRoot: string;
  env: NodeJS.ProcessEnv;
  kernels: KernelRegistry;
  snapshot: SnapshotStore;
}

/** At most this many PCI functions and GPUs are read (a real host has a few dozen). */
const MAX_ENTRIES = 256;

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path).sort().slice(0, MAX_ENTRIES);
  } catch {
    return [];
  }
}

export class PlatformDetector {
  private markers = new Set<string>();
  private accelDevices: string[] = [];
  private vfioGroups: string[] = [];
  private pci: PciFunction[] = [];
  private nvidiaDriverLoaded = false;
  private nvidiaProcGpus: string[] = [];
  private smiVersions: SmiVersions | null = null;
  private versionsFor = '';
  /** The Colab plan the user stated (`%vigilo profile tier=pro`); wired by the platform module. */
  statedTier: () => string | null = () => null;
  /** Called when a fact read asynchronously (nvidia-smi's versions) arrived; the platform module re-reads. */
  onLateFact: () => void = () => {};

  constructor(private readonly deps: DetectorDeps) {
    this.refresh();
  }

  refresh(): void {
    const root = this.deps.fsRoot;
    const at = (p: string) => underRoot(root, p);
    this.markers = new Set(PLATFORM_MARKER_PATHS.filter(p => existsSync(at(p))));
    this.accelDevices = list(at('/dev')).filter(n => /^accel\d+$/.test(n));
    this.vfioGroups = list(at('/dev/vfio')).filter(n => /^\d+$/.test(n));
    const pciDir = at('/sys/bus/pci/devices');
    this.pci = list(pciDir)
      .map(d => ({ vendor: readTrimmed(join(pciDir, d, 'vendor')) ?? '', device: readTrimmed(join(pciDir, d, 'device')) ?? '' }))
      .filter(f => f.vendor !== '');
    this.nvidiaDriverLoaded = existsSync(at('/proc/driver/nvidia'));
    const gpusDir = at('/proc/driver/nvidia/gpus');
    this.nvidiaProcGpus = list(gpusDir)
      .map(bus => readTrimmed(join(gpusDir, bus, 'information')))
      .filter((t): t is string => t !== null);
    this.refreshVersions();
  }

  /**
   * Driver and CUDA versions from one plain `nvidia-smi` run (its header names
   * both), asynchronously and only when the GPU list nvidia-smi streams changed.
   */
  private refreshVersions(): void {
    const gpu = this.deps.snapshot.get('gpu') as GpuSection | undefined;
    const key = gpu && gpu.devices.length > 0 ? gpu.devices.map(d => d.uuid).join(',') : '';
    if (!key || key === this.versionsFor) return;
    this.versionsFor = key;
    const resolved = resolveNvidiaSmi(this.deps.env);
    if (!('path' in resolved)) return;
    execFile(resolved.path, [], { env: this.deps.env, timeout: 5000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error && !stdout) {
        this.versionsFor = '';
        return;
      }
      this.smiVersions = parseSmiVersions(String(stdout));
      this.onLateFact();
    });
  }

  accelerator(): Accelerator {
    const gpu = this.deps.snapshot.get('gpu') as GpuSection | undefined;
    const gpuNames = gpu && gpu.devices.length > 0 ? gpu.devices.map(d => d.name) : gpu?.status === 'ok' ? [] : null;
    return detectAccelerator({
      env: this.deps.env,
      accelDevices: this.accelDevices,
      vfioGroups: this.vfioGroups,
      pci: this.pci,
      gpuNames,
      smiVersions: this.smiVersions,
      nvidiaDriverLoaded: this.nvidiaDriverLoaded,
      nvidiaProcGpus: this.nvidiaProcGpus,
      kernelTpu: this.deps.kernels.kernelTpu()
    });
  }

  info(): PlatformInfo {
    const base = detectPlatform({ env: this.deps.env, existingPaths: this.markers, kernelModules: this.deps.kernels.kernelModules() });
    const accelerator = this.accelerator();
    return { ...base, accelerator, tier: colabTier({ platform: base.name, accelerator, stated: this.statedTier() }) };
  }
}
