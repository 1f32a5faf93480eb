import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { API_VERSION, type PlatformInfo } from '../shared/api';
import { AlertEngine } from './alerts/engine';
import { createApp } from './core/app';
import { Cadence } from './core/cadence';
import { EventBus } from './core/bus';
import { systemClock, type Clock } from './core/clock';
import type { CollectorContext } from './core/collector';
import type { SidecarConfig, SidecarContext } from './core/context';
import { coreModule } from './core/coreModule';
import type { EventStreamOptions } from './core/eventStream';
import { HeapTrim } from './core/heapTrim';
import { discoveryPath, ensureDataDir, readDiscovery, removeDiscovery, writeDiscovery, type Discovery } from './core/discovery';
import { KernelRegistry } from './core/kernels';
import type { SidecarModule } from './core/module';
import { SnapshotStore } from './core/snapshot';
import { featureModules } from './modules';
import { PlatformDetector } from './platform/detector';

export interface SidecarOptions {
  config: SidecarConfig;
  token: string;
  clock?: Clock;
  log?: (line: string) => void;
  /** Replace the feature modules (tests); the core module is always present. */
  modules?: (ctx: SidecarContext) => SidecarModule[];
  /** Coalesce snapshot pushes on /events to at most one per this many ms. */
  snapshotPushMs?: number;
  /** Per-client bounds of GET /events (queue bytes, stall time). */
  events?: EventStreamOptions;
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`Port ${port} on 127.0.0.1 is already in use. Pass --port 0 to pick a free port, or stop what holds ${port}.`);
  }
}

/**
 * The sidecar: builds its context and modules, starts collectors, listens on
 * loopback, writes the discovery file; stop() undoes all of it.
 */
export class Sidecar {
  readonly ctx: SidecarContext;
  readonly modules: SidecarModule[];
  private server: Server | null = null;
  private discovery: Discovery | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribers: Array<() => void> = [];
  private stopping: Promise<void> | null = null;
  /** Gives back the heap a burst of batched ingest grew (core/heapTrim.ts). */
  readonly heapTrim = new HeapTrim();

  constructor(private readonly options: SidecarOptions) {
    const clock = options.clock ?? systemClock;
    const bus = new EventBus();
    const startedAtMs = clock.now();
    const { config } = options;
    const snapshot = new SnapshotStore(clock, () => ({
      pid: process.pid,
      uptimeS: Math.max(0, (clock.now() - startedAtMs) / 1000),
      rssBytes: process.memoryUsage.rss(),
      version: config.version
    }));
    const kernels = new KernelRegistry({ clock, bus, heartbeatIntervalS: config.heartbeatIntervalS });
    // Built before the feature modules, which register their rules on it.
    const alerts = new AlertEngine({ clock, bus, dataDir: config.dataDir, log: options.log });
    // Platform facts (markers, /dev/accel*, PCI vendors) under VIGILO_FS_ROOT; the platform module refreshes them.
    const detector = new PlatformDetector({ fsRoot: config.fsRoot, env: config.env, kernels, snapshot });
    const cadence = new Cadence({ clock, slowMs: config.idleIntervalMs });
    this.ctx = {
      cadence,
      config,
      clock,
      bus,
      snapshot,
      kernels,
      alerts,
      startedAtMs,
      detector,
      platform: (): PlatformInfo => detector.info(),
      log: options.log ?? (() => undefined)
    };
    const features = (options.modules ?? featureModules)(this.ctx);
    this.modules = [coreModule(this.ctx, () => this.url, options.events), ...features];
  }

  get url(): string {
    return this.discovery?.url ?? '';
  }

  get port(): number {
    return this.discovery?.port ?? 0;
  }

  async start(): Promise<Discovery> {
    const { config } = this.options;
    ensureDataDir(config.dataDir);
    const app = createApp({
      token: this.options.token,
      version: config.version,
      modules: this.modules,
      log: this.ctx.log,
      dataDir: config.dataDir,
      onView: () => this.ctx.cadence.noteView()
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host);
      s.once('listening', () => resolve(s));
      s.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(config.port) : error));
    });
    this.server = server;
    server.keepAliveTimeout = 5_000;
    server.on('request', (req: { headers: Record<string, string | string[] | undefined> }) => {
      const length = req.headers['content-length'];
      if (typeof length === 'string') {
        this.heapTrim.note(Number(length) || 0);
      }
    });
    const port = (server.address() as AddressInfo).port;
    const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    this.discovery = {
      url: `http://${urlHost}:${port}`,
      port,
      pid: process.pid,
      token: this.options.token,
      version: config.version,
      apiVersion: API_VERSION,
      started_at: new Date(this.ctx.startedAtMs).toISOString(),
      data_dir: config.dataDir
    };

    this.startSnapshotPush();
    const sweep = setInterval(() => this.ctx.kernels.sweep(), config.heartbeatIntervalS * 1000);
    sweep.unref();
    this.timers.push(sweep);

    const collectorCtx: CollectorContext = { snapshot: this.ctx.snapshot, bus: this.ctx.bus, clock: this.ctx.clock, cadence: this.ctx.cadence };
    for (const module of this.modules) {
      for (const collector of module.collectors ?? []) {
        await collector.start(collectorCtx);
      }
      await module.start?.();
    }
    writeDiscovery(config.dataDir, this.discovery);
    return this.discovery;
  }

  /** Idempotent: collectors stop, connections close, the discovery file goes. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.heapTrim.stop();
    for (const timer of this.timers) {
      clearInterval(timer);
    }
    for (const unsubscribe of this.unsubscribers) {
      unsubscribe();
    }
    for (const module of [...this.modules].reverse()) {
      for (const collector of module.collectors ?? []) {
        try {
          await collector.stop();
        } catch (error) {
          this.ctx.log(`collector ${collector.name} failed to stop: ${String(error)}`);
        }
      }
      try {
        await module.stop?.();
      } catch (error) {
        this.ctx.log(`module ${module.name} failed to stop: ${String(error)}`);
      }
    }
    if (this.discovery && !removeDiscovery(this.options.config.dataDir, this.discovery.pid) && readDiscovery(this.options.config.dataDir)?.pid === this.discovery.pid) {
      // A data dir that turned read-only keeps the file; it names a dead pid from now on, which
      // every client and the next start check (probe /status) before trusting it.
      this.ctx.log(`could not remove ${discoveryPath(this.options.config.dataDir)} (read-only or gone?); the next start will see pid ${this.discovery.pid} is gone and replace it.`);
    }
    const server = this.server;
    if (server) {
      await new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  private startSnapshotPush(): void {
    const minGapMs = this.options.snapshotPushMs ?? 200;
    let pending: NodeJS.Timeout | null = null;
    const unsubscribe = this.ctx.snapshot.onUpdate(() => {
      // Only /events subscribers read the pushed snapshot (a new one gets it in its hello).
      if (pending || !this.ctx.cadence.hasSubscribers()) {
        return;
      }
      pending = setTimeout(() => {
        pending = null;
        this.ctx.bus.publish('snapshot', this.ctx.snapshot.current());
      }, minGapMs);
      pending.unref();
    });
    this.unsubscribers.push(unsubscribe, () => pending && clearTimeout(pending));
  }
}
