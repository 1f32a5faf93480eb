import type { PlatformInfo } from '../../shared/api';
import type { EventBus } from './bus';
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
  /** Default sampling period of timer collectors. */
  intervalMs: number;
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
  startedAtMs: number;
  /** Current platform decision with its evidence. */
  platform(): PlatformInfo;
  log(line: string): void;
}
