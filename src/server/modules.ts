import { alertsModule } from './alerts/module';
import { systemCollector } from './collectors/system';
import { llmModule } from './llm/module';
import type { SidecarContext } from './core/context';
import type { SidecarModule } from './core/module';
import { runtimeModules } from './session/runtime';
import { currentStatus } from './core/coreModule';
import { reportModule } from './report/reportModule';
import { progressModule } from './progress/module';
import { checkpointModule } from './checkpoint/module';
import { notifyModule } from './notify/module';
import { exportModule } from './export/module';

/**
 * Every capability beyond the core, in one list. A new capability adds one
 * line here and touches nothing else in the server.
 */
export function featureModules(ctx: SidecarContext): SidecarModule[] {
  // The report reads its siblings' GET routes (LLM spend, checkpoints) in process.
  const modules: SidecarModule[] = [
    { name: 'system', collectors: [systemCollector({ intervalMs: ctx.config.intervalMs })] },
    reportModule(ctx, () => currentStatus(ctx), { siblings: () => modules }),
    alertsModule(ctx),
    ...runtimeModules(ctx),
    progressModule(ctx),
    checkpointModule(ctx),
    llmModule(ctx),
    exportModule(ctx),
    notifyModule(ctx)
  ];
  return modules;
}
