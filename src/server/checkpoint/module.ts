/**
 * The checkpoint module: GET/POST /checkpoints, GET/PUT /checkpoints/settings,
 * the kernel protocol (watch, staged, mirror), the `checkpoint` SSE event and
 * the `checkpoint` field of a watching kernel's heartbeat answer.
 */
import { join } from 'node:path';
import { z } from 'zod';
import {
  CheckpointMirrorBody,
  CheckpointRequestBody,
  CheckpointRequestResponse,
  CheckpointSettings,
  CheckpointSettingsBody,
  CheckpointStagedBody,
  CheckpointStagedResponse,
  CheckpointStatus,
  CheckpointsResponse,
  CheckpointWatchBody
} from '../../shared/checkpoint-api';
import type { SidecarContext } from '../core/context';
import { ApiError } from '../core/errors';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import { CheckpointEngine, type EngineOptions } from './engine';
import { CHECKPOINT_DB_FILE, CheckpointStore } from './store';

export interface CheckpointModuleOptions extends Partial<EngineOptions> {
  /** Policy tick (default ctx.config.intervalMs). */
  tickMs?: number;
}

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }).strict();

export function checkpointModule(ctx: SidecarContext, options: CheckpointModuleOptions = {}): SidecarModule {
  let store: CheckpointStore | null = null;
  let engine: CheckpointEngine | null = null;
  let timer: NodeJS.Timeout | null = null;
  /** The fast cadence, held while the policy needs fresh disk, OOM and session figures (core/cadence.ts). */
  let fast: (() => void) | null = null;
  const detach: Array<() => void> = [];
  const need = (): CheckpointEngine => {
    if (!engine) throw new ApiError('conflict', 'The checkpoint module is not started.');
    return engine;
  };
  return {
    name: 'checkpoint',
    async start() {
      store = new CheckpointStore(join(ctx.config.dataDir, CHECKPOINT_DB_FILE));
      engine = new CheckpointEngine(ctx, store, { stagingDir: join(ctx.config.dataDir, 'checkpoint-staging'), ...options });
      await engine.ensureStaging();
      const e = engine;
      detach.push(
        ctx.kernels.addAnswer(kernelId => {
          const order = e.orderFor(kernelId);
          return order ? { checkpoint: order, checkpointWatched: true } : { checkpointWatched: e.isWatching(kernelId) };
        })
      );
      detach.push(
        ctx.kernels.onEvent(event => {
          if (event.type === 'lost') e.kernelGone(event.kernelId, 'stopped answering (killed?)');
          if (event.type === 'restarted') e.kernelGone(event.kernelId, 'restarted');
        })
      );
      let ticking = false;
      const loop = (): void => {
        ticking = true;
        try {
          e.tick();
        } catch (error) {
          ctx.log(`checkpoint tick failed: ${String(error)}`);
        } finally {
          ticking = false;
        }
        if (e.needsFastTicks()) fast ??= ctx.cadence.hold();
        else if (fast) {
          fast();
          fast = null;
        }
        timer = setTimeout(loop, ctx.cadence.periodMs(options.tickMs ?? ctx.config.intervalMs));
        timer.unref();
      };
      // A kernel that starts watching (or a save that starts) need not wait for the end of a slow period.
      detach.push(
        ctx.bus.subscribe(message => {
          if (message.event !== 'checkpoint' || ticking || fast || !e.needsFastTicks()) return;
          if (timer) clearTimeout(timer);
          loop();
        })
      );
      loop();
    },
    async stop() {
      if (timer) clearTimeout(timer);
      fast?.();
      fast = null;
      for (const d of detach.splice(0)) d();
      if (engine) {
        engine.stop();
        await engine.idle();
      }
      store?.close();
      engine = null;
      store = null;
    },
    routes: [
      jsonRoute({
        method: 'get',
        path: '/checkpoints',
        summary: 'Checkpoint status (destination and whether it is durable, auto on/off, save in progress, last verified, next due, backoff) and the history, newest first.',
        tags: ['checkpoints'],
        query: ListQuery,
        response: CheckpointsResponse,
        handler: ({ query }) => ({ status: need().status(), checkpoints: store!.list(query.limit ?? 50) })
      }),
      jsonRoute({
        method: 'post',
        path: '/checkpoints',
        summary: '"Checkpoint now": the watching kernel saves at its next vigilo.checkpoint.step() (or at once when no cell runs). Body: {}.',
        tags: ['checkpoints'],
        body: CheckpointRequestBody,
        response: CheckpointRequestResponse,
        status: 202,
        handler: () => need().requestNow()
      }),
      jsonRoute({
        method: 'get',
        path: '/checkpoints/settings',
        summary: 'Checkpoint settings: auto, interval, keep, thresholds, destination, run.',
        tags: ['checkpoints'],
        response: CheckpointSettings,
        handler: () => need().settings
      }),
      jsonRoute({
        method: 'put',
        path: '/checkpoints/settings',
        summary: 'Change any checkpoint settings; merged, stored in the database and applied at once.',
        tags: ['checkpoints'],
        body: CheckpointSettingsBody,
        response: CheckpointSettings,
        handler: ({ body }) => need().updateSettings(body)
      }),
      jsonRoute({
        method: 'post',
        path: '/checkpoints/watch',
        summary: 'Kernel: start (or stop) watching objects; the heartbeat answer then carries `checkpoint` when a save is due.',
        tags: ['checkpoints'],
        body: CheckpointWatchBody,
        response: CheckpointStatus,
        handler: ({ body }) => {
          need().watch(body.kernelId, body.watching, body.run);
          return need().status();
        }
      }),
      jsonRoute({
        method: 'post',
        path: '/checkpoints/staged',
        summary: 'Kernel: a save is staged (or failed); the sidecar copies it to the destination, verifies and rotates.',
        tags: ['checkpoints'],
        body: CheckpointStagedBody,
        response: CheckpointStagedResponse,
        status: 202,
        handler: ({ body }) => need().staged(body)
      }),
      jsonRoute({
        method: 'post',
        path: '/checkpoints/mirror',
        summary: 'Mirror a folder\'s complete files to the destination (`enabled: false` stops).',
        tags: ['checkpoints'],
        body: CheckpointMirrorBody,
        response: z.object({ mirrors: CheckpointStatus.shape.mirrors }),
        handler: ({ body }) => ({ mirrors: need().mirror(body.source, body.enabled) })
      })
    ]
  };
}
