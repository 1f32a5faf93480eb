/**
 * A sidecar with the runtime modules on a fake machine (fake nvidia-smi,
 * fake /proc), fast timers, stopped and cleaned by `cleanup()` in afterEach.
 */
import { fakeMachine, type FakeMachineOptions } from './fakeRuntime';
import { startSidecar, type TestSidecar } from './sidecar';
import { alertsModule } from '../../src/server/alerts/module';
import type { SidecarContext } from '../../src/server/core/context';
import { runtimeModules, type RuntimeOptions } from '../../src/server/session/runtime';

export function runtimeHarness() {
  const cleanups: Array<() => Promise<void> | void> = [];
  return {
    async boot(machine: FakeMachineOptions, options: RuntimeOptions = {}): Promise<TestSidecar> {
      const m = fakeMachine(machine);
      cleanups.push(() => m.cleanup());
      const modules = (ctx: SidecarContext) => [alertsModule(ctx), ...runtimeModules(ctx, { gpuIntervalMs: 50, tickMs: 25, gpuAppsIntervalMs: 200, platformRefreshMs: 50, ...options })];
      const sc = await startSidecar({ env: m.env, fsRoot: m.root, modules });
      cleanups.push(() => sc.stop());
      return sc;
    },
    async cleanup(): Promise<void> {
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  };
}
