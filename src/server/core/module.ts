import type { Collector } from './collector';
import type { Route } from './route';

/**
 * A capability of the sidecar (core, gpu, platform, llm, ...): its routes,
 * its collectors and its own start/stop. The server knows nothing else.
 */
export interface SidecarModule {
  readonly name: string;
  routes?: Route[];
  collectors?: Collector[];
  /** Called after collectors started, before listening. */
  start?(): void | Promise<void>;
  /** Called on shutdown, after collectors stopped. */
  stop?(): void | Promise<void>;
}
