/**
 * Gathers the raw platform facts under VIGILO_FS_ROOT (marker paths, /dev/accel*,
 * PCI vendors) and decides with the pure detectors in src/core/platform.ts.
 * Facts are read at construction and on refresh() (the platform collector's
 * timer), so GET /status never does I/O.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuSection, PlatformInfo } from '../../shared/api';
import { detectAccelerator, detectPlatform, PLATFORM_MARKER_PATHS, type Accelerator } from '../../core/platform';
import type { KernelRegistry } from '../core/kernels';
import { underRoot } from '../core/paths';
import type { SnapshotStore } from '../core/snapshot';

export interface DetectorDeps {
  fsRoot: string;
  env: NodeJS.ProcessEnv;
  kernels: KernelRegistry;
  snapshot: SnapshotStore;
}

export class PlatformDetector {
  private markers = new Set<string>();
  private accelDevices: string[] = [];
  private pciVendors: string[] = [];

  constructor(private readonly deps: DetectorDeps) {
    this.refresh();
  }

  refresh(): void {
    const root = this.deps.fsRoot;
    this.markers = new Set(PLATFORM_MARKER_PATHS.filter(p => existsSync(underRoot(root, p))));
    try {
      this.accelDevices = readdirSync(underRoot(root, '/dev')).filter(n => /^accel\d+$/.test(n)).sort();
    } catch {
      this.accelDevices = [];
    }
    const pci = underRoot(root, '/sys/bus/pci/devices');
    try {
      this.pciVendors = readdirSync(pci)
        .slice(0, 256)
        .map(d => {
          try {
            return readFileSync(join(pci, d, 'vendor'), 'utf8').trim();
          } catch {
            return '';
          }
        })
        .filter(Boolean);
    } catch {
      this.pciVendors = [];
    }
  }

  accelerator(): Accelerator {
    const gpu = this.deps.snapshot.get('gpu') as GpuSection | undefined;
    const gpuNames = gpu && gpu.devices.length > 0 ? gpu.devices.map(d => d.name) : gpu?.status === 'ok' ? [] : null;
    return detectAccelerator({ env: this.deps.env, accelDevices: this.accelDevices, pciVendors: this.pciVendors, gpuNames });
  }

  info(): PlatformInfo {
    const base = detectPlatform({ env: this.deps.env, existingPaths: this.markers, kernelModules: this.deps.kernels.kernelModules() });
    return { ...base, accelerator: this.accelerator() };
  }
}
