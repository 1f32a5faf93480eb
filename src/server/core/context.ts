import type { PlatformInfo } from '../../shared/api';
import type { AlertEngine } from '../alerts/engine';
import type { PlatformDetector } from '../platform/detector';
import type { EventBus } from './bus';
import type { Cadence } from './cadence';
import type { Clock } from './clock';
import type { KernelRegistry } from './kernels';
import type { SnapshotStore } from './snapshot';

/** Settings resolved from CLI flags and environment, read once at start. */
export interface SidecarConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Root prefixed to platform paths (VIGILO_FS_ROOT). */
  fsRoot: string;
  /** Default sampling period of timer collectors (while someone watches: core/cadence.ts). */
  intervalMs: number;
  /** Period of the adaptive collectors while no one watches (default 10 s; core/cadence.ts). */
  idleIntervalMs?: number;
  heartbeatIntervalS: number;
  version: string;
  env: NodeJS.ProcessEnv;
}

/** What every module factory receives. */
export interface SidecarContext {
  config: SidecarConfig;
  clock: Clock;
  bus: EventBus;
  snapshot: SnapshotStore;
  kernels: KernelRegistry;
  /** The one alert engine (thresholds with hysteresis, one-shot events, history); see alerts/engine.ts. */
  alerts: AlertEngine;
  startedAtMs: number;
  /** Watched or not: how often the adaptive collectors sample (core/cadence.ts). */
  cadence: Cadence;
  /** Platform facts under VIGILO_FS_ROOT; the platform module refreshes them on its timer. */
  detector: PlatformDetector;
  /** Current platform decision with its evidence (`detector.info()`). */
  platform(): PlatformInfo;
  log(line: string): void;
}
