import type { Request, Response } from 'express';
import {
  API_VERSION,
  HeartbeatResponse,
  KernelHeartbeat,
  MetricsSnapshot,
  StatusResponse,
  TasksResponse
} from '../../shared/api';
import { describeLifecycle, type SidecarLifecycle } from '../../shared/lifecycle-api';
import { defaultEngine } from '../store/engine';
import { databaseSizes } from '../store/sizes';
import type { SidecarContext } from './context';
import { readRestarts } from './restarts';
import { ApiError } from './errors';
import { EventStream, type EventStreamOptions } from './eventStream';
import type { SidecarModule } from './module';
import { jsonRoute, type RawRoute } from './route';

export const MAX_EVENT_CLIENTS = 64;

function eventsRoute(ctx: SidecarContext, url: () => string, stream: EventStream): RawRoute {
  return {
    method: 'get',
    path: '/events',
    summary:
      'Server-Sent Events: `hello`, then `snapshot` on every change, and `alert`, `kernel`, `llm` events as they happen. The only endpoint that accepts ?token= (EventSource cannot send headers). A client that stops reading gets only the latest snapshot when it resumes, or is disconnected.',
    tags: ['core'],
    contentType: 'text/event-stream',
    handler(_req: Request, res: Response) {
      if (stream.size >= MAX_EVENT_CLIENTS) {
        throw new ApiError('too_many_clients', `Too many event-stream clients (limit ${MAX_EVENT_CLIENTS}); close one and retry.`);
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no'
      });
      res.flushHeaders();
      // A subscriber watches: the adaptive collectors sample fast and the snapshot is pushed while it stays.
      res.on('close', ctx.cadence.subscribe());
      stream.add(res, { apiVersion: API_VERSION, version: ctx.config.version, pid: process.pid, url: url() }, ctx.snapshot.current());
    }
  };
}

/** The Node and storage engine of this process, and the restart record its data dir had at start. */
export function lifecycleFacts(dataDir: string): SidecarLifecycle {
  const facts = { node: { version: process.version, path: process.execPath }, storageEngine: defaultEngine(), restarts: readRestarts(dataDir) };
  return { ...facts, summary: describeLifecycle(process.pid, facts) };
}

/** The body of GET /status. */
export function currentStatus(ctx: SidecarContext, lifecycle?: SidecarLifecycle): StatusResponse {
  return {
    name: 'vigilo',
    apiVersion: API_VERSION,
    version: ctx.config.version,
    pid: process.pid,
    startedAt: new Date(ctx.startedAtMs).toISOString(),
    uptimeS: Math.max(0, (ctx.clock.now() - ctx.startedAtMs) / 1000),
    platform: ctx.platform(),
    ...(lifecycle ? { lifecycle } : {}),
    database: databaseSizes(ctx.config.dataDir)
  };
}

/** /status, /metrics, /tasks, /kernels/heartbeat and /events. */
export function coreModule(ctx: SidecarContext, url: () => string, events: EventStreamOptions = {}): SidecarModule {
  const stream = new EventStream(ctx.bus, events, ctx.log);
  const lifecycle = lifecycleFacts(ctx.config.dataDir);
  return {
    name: 'core',
    stop: () => stream.closeAll(),
    routes: [
      jsonRoute({
        method: 'get',
        path: '/status',
        summary: 'Health of the sidecar: version, uptime, pid, the platform with its evidence, and the disk its databases take.',
        tags: ['core'],
        response: StatusResponse,
        handler: () => currentStatus(ctx, lifecycle)
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
          return { ok: true as const, heartbeatIntervalS: ctx.kernels.heartbeatIntervalS, ...ctx.kernels.answerFor(body.kernelId) };
        }
      }),
      eventsRoute(ctx, url, stream)
    ]
  };
}
