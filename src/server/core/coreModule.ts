import type { Request, Response } from 'express';
import {
  API_VERSION,
  HeartbeatResponse,
  KernelHeartbeat,
  MetricsSnapshot,
  StatusResponse,
  TasksResponse
} from '../../shared/api';
import type { SidecarContext } from './context';
import { ApiError } from './errors';
import type { SidecarModule } from './module';
import { jsonRoute, type RawRoute } from './route';

export const MAX_EVENT_CLIENTS = 64;
const KEEPALIVE_MS = 15_000;

function eventsRoute(ctx: SidecarContext, url: () => string): RawRoute {
  let clients = 0;
  return {
    method: 'get',
    path: '/events',
    summary: 'Server-Sent Events: `hello`, then `snapshot` on every change, and `alert`, `kernel`, `llm` events as they happen.',
    tags: ['core'],
    contentType: 'text/event-stream',
    handler(req: Request, res: Response) {
      if (clients >= MAX_EVENT_CLIENTS) {
        throw new ApiError('too_many_clients', `Too many event-stream clients (limit ${MAX_EVENT_CLIENTS}); close one and retry.`);
      }
      clients++;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no'
      });
      res.flushHeaders();
      let id = 0;
      const send = (event: string, data: unknown): void => {
        res.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('hello', { apiVersion: API_VERSION, version: ctx.config.version, pid: process.pid, url: url() });
      send('snapshot', ctx.snapshot.current());
      const unsubscribe = ctx.bus.subscribe(message => send(message.event, message.data));
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      keepalive.unref();
      req.on('close', () => {
        clients--;
        unsubscribe();
        clearInterval(keepalive);
      });
    }
  };
}

/** The body of GET /status. */
export function currentStatus(ctx: SidecarContext): StatusResponse {
  return {
    name: 'vigilo',
    apiVersion: API_VERSION,
    version: ctx.config.version,
    pid: process.pid,
    startedAt: new Date(ctx.startedAtMs).toISOString(),
    uptimeS: Math.max(0, (ctx.clock.now() - ctx.startedAtMs) / 1000),
    platform: ctx.platform()
  };
}

/** /status, /metrics, /tasks, /kernels/heartbeat and /events. */
export function coreModule(ctx: SidecarContext, url: () => string): SidecarModule {
  return {
    name: 'core',
    routes: [
      jsonRoute({
        method: 'get',
        path: '/status',
        summary: 'Health of the sidecar: version, uptime, pid and the platform with its evidence.',
        tags: ['core'],
        response: StatusResponse,
        handler: () => currentStatus(ctx)
      }),
      jsonRoute({
        method: 'get',
        path: '/metrics',
        summary: 'The latest snapshot of every collector (system, GPU, storage, platform, ...).',
        tags: ['core'],
        response: MetricsSnapshot,
        handler: () => ctx.snapshot.current()
      }),
      jsonRoute({
        method: 'get',
        path: '/tasks',
        summary: 'Monitored tasks: the sidecar itself and every registered kernel.',
        tags: ['core'],
        response: TasksResponse,
        handler: (): TasksResponse => ({
          tasks: [
            { kind: 'sidecar', pid: process.pid, startedAt: new Date(ctx.startedAtMs).toISOString(), url: url() },
            ...ctx.kernels.tasks()
          ]
        })
      }),
      jsonRoute({
        method: 'post',
        path: '/kernels/heartbeat',
        summary: 'A kernel registers and stays alive; carries pid, kernel id, start time and last activity.',
        tags: ['core'],
        body: KernelHeartbeat,
        response: HeartbeatResponse,
        handler: ({ body }) => {
          ctx.kernels.heartbeat(body);
          return { ok: true as const, heartbeatIntervalS: ctx.kernels.heartbeatIntervalS };
        }
      }),
      eventsRoute(ctx, url)
    ]
  };
}
