/**
 * OpenTelemetry export (docs/TEAMS.md): every stored LLM call as a GenAI
 * span, the GenAI metrics and the runtime figures as OTel metrics, over
 * OTLP/HTTP to a collector, Phoenix, or anything that speaks OTLP.
 *
 * It only listens: the LLM module's `llm` bus event (`type: 'calls'`, sent
 * after each group commit) gives the ids of the calls just stored; their
 * spans are built from the store when their batch goes out (SpanQueue), so
 * the ingest path does no export work and a receiver that is slow, down or
 * refusing never slows it. Also keeps the counters GET /metrics/prometheus
 * shows (snapshot section `export`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { resolveExportConfig, type ExportConfig, type ExportSettings } from '../../core/otelConfig';
import type { CallFacts } from '../../core/otelGenAi';
import { runtimeGaugePoints } from '../../core/otelRuntime';
import type { SidecarContext } from '../core/context';
import { writePrivateFile } from '../core/discovery';
import { ApiError } from '../core/errors';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import { LLM_DB_FILE } from '../llm/module';
import { LlmStore } from '../store/llmStore';
import type { OtlpExporters } from './otlp';
import { RejectedBatch, SpanQueue, type SpanQueueStats } from './spanQueue';

export const EXPORT_SETTINGS_FILE = 'export.json';
/** Distinct models kept as a Prometheus label; the rest count under "other" (bounded cardinality). */
const MAX_MODEL_LABELS = 20;
const SECTION_EVERY_MS = 1000;
const STOP_DRAIN_MS = 2000;
/** The SDK's shutdown (a last metrics export) may take at most this long at stop. */
const STOP_SHUTDOWN_MS = 1000;
/** Key of the stored rows on the LLM module's `calls` bus event (src/server/llm/module.ts). */
const STORED_CALLS = Symbol.for('vigilo.storedCalls');
/** Rows kept from ingest for their export batch (16 batches; without message text about 4 MB). */
const RECENT_ROWS = 8192;

const httpUrl = z.string().max(2000).refine(v => v === '' || /^https?:\/\/[^\s]+$/.test(v), { message: 'give an http(s) URL such as http://127.0.0.1:4318, or "" to turn export off' });

export const ExportSettingsBody = z
  .object({
    /** Base OTLP/HTTP endpoint (…:4318); "" turns export off; null goes back to OTEL_EXPORTER_OTLP_ENDPOINT. */
    endpoint: httpUrl.nullable().optional(),
    protocol: z.enum(['http/protobuf', 'http/json']).nullable().optional(),
    /** Sent with every export request; kept in memory only, never written to disk (they often hold API keys). */
    headers: z.record(z.string().min(1).max(200), z.string().max(4000)).optional(),
    /** Message text in spans (gen_ai.input.messages / output.messages); null goes back to OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT. */
    captureContent: z.boolean().nullable().optional()
  })
  .strict();

const QueueView = z.object({
  queued: z.number().int(),
  inFlight: z.number().int(),
  sent: z.number().int(),
  dropped: z.number().int(),
  rejected: z.number().int(),
  failedBatches: z.number().int(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  lastSentAt: z.string().nullable(),
  retryAt: z.string().nullable(),
  receiver: z.enum(['unknown', 'up', 'down'])
});

export const ExportStatus = z.object({
  enabled: z.boolean(),
  tracesUrl: z.string().nullable(),
  metricsUrl: z.string().nullable(),
  protocol: z.string(),
  /** Header names only; values are never shown. */
  headerNames: z.array(z.string()),
  serviceName: z.string(),
  captureContent: z.boolean(),
  oldNames: z.boolean(),
  metricIntervalMs: z.number().int(),
  maxQueue: z.number().int(),
  notes: z.array(z.string()),
  queue: QueueView,
  /** Calls whose stored row was gone (retention) when their batch went out. */
  missing: z.number().int(),
  /** The same in words, for `%vigilo export`. */
  summary: z.string()
});
export type ExportStatus = z.infer<typeof ExportStatus>;

/** Snapshot section `export` (GET /metrics, read by GET /metrics/prometheus). */
export interface ExportSection {
  enabled: boolean;
  queue: SpanQueueStats;
  /** Calls seen since start, by provider and status; cost by provider (USD, priced calls only). */
  llm: { calls: Array<{ provider: string; model: string; status: string; n: number }>; costUsd: Array<{ provider: string; model: string; usd: number }> };
  checkpointVerifiedAt: string | null;
}

/** Without credentials: a URL's user:password part never reaches a status or log. */
function safeUrl(url: string | null): string | null {
  if (url === null) {
    return null;
  }
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return null;
  }
}

function readSettings(file: string, log: (line: string) => void): ExportSettings {
  if (!existsSync(file)) {
    return {};
  }
  try {
    const parsed = ExportSettingsBody.omit({ headers: true }).parse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed;
  } catch (error) {
    log(`export: ${file} is not valid (${String(error)}); using the environment`);
    return {};
  }
}

function summaryOf(s: Omit<ExportStatus, 'summary'>): string {
  if (!s.enabled) {
    return `OpenTelemetry export is off. ${s.notes.join('; ')}`.trim();
  }
  const q = s.queue;
  const lines = [
    `Exporting to ${s.tracesUrl ?? s.metricsUrl} (${s.protocol}) as service "${s.serviceName}"; message content ${s.captureContent ? 'INCLUDED' : 'not sent'}.`,
    `Spans: ${q.sent} sent, ${q.queued + q.inFlight} waiting, ${q.dropped} dropped (queue full at ${s.maxQueue}), ${q.rejected} refused by the receiver; receiver ${q.receiver}.`
  ];
  if (q.lastError) {
    lines.push(`Last error ${q.lastErrorAt}: ${q.lastError}${q.retryAt ? `; next try ${q.retryAt}` : ''}`);
  }
  if (s.notes.length > 0) {
    lines.push(`Notes: ${s.notes.join('; ')}`);
  }
  return lines.join('\n');
}

export function exportModule(ctx: SidecarContext): SidecarModule {
  const env = ctx.config.env;
  const settingsFile = join(ctx.config.dataDir, EXPORT_SETTINGS_FILE);
  let settings: ExportSettings = {};
  let runtimeHeaders: Record<string, string> | undefined;
  let config: ExportConfig = resolveExportConfig(env);
  let exporters: OtlpExporters | null = null;
  // The OpenTelemetry SDK and its OTLP exporters (~10 MB of the sidecar's memory once loaded) are loaded
  // when an endpoint is first configured, not at start: an idle sidecar that exports nothing never holds them.
  let otlp: typeof import('./otlp.js') | null = null;
  const loadOtlp = async (next: ExportSettings, headers: Record<string, string> | undefined): Promise<void> => {
    if (!otlp && resolveExportConfig(env, next, headers).enabled) {
      otlp = await import('./otlp.js');
    }
  };
  let store: LlmStore | null = null;
  let missing = 0;
  let checkpointVerifiedAtMs: number | null = null;
  const calls = new Map<string, { provider: string; model: string; status: string; n: number }>();
  const cost = new Map<string, { provider: string; model: string; usd: number }>();
  const models = new Set<string>();
  let dirty = true;
  let sectionTimer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;

  const db = (): LlmStore => (store ??= new LlmStore(join(ctx.config.dataDir, LLM_DB_FILE)));
  const readCalls = (ids: string[]): CallFacts[] => {
    const rows = db().calls(ids);
    missing += ids.length - rows.length;
    return rows;
  };
  /**
   * Rows read at ingest for the metrics, kept (bounded) until their batch goes out, so a call is read
   * once, not twice, while the receiver keeps up; a batch that waited longer is read from the store.
   * Without content capture the message text is not kept.
   */
  const recent = new Map<string, CallFacts>();
  const remember = (rows: CallFacts[]): void => {
    for (const r of rows) {
      recent.set(r.id, config.captureContent ? r : { ...r, messages: null, output: null });
    }
    for (const id of recent.keys()) {
      if (recent.size <= RECENT_ROWS) {
        break;
      }
      recent.delete(id);
    }
  };
  const batchCalls = (ids: string[]): CallFacts[] => {
    const out: CallFacts[] = [];
    const absent: string[] = [];
    for (const id of ids) {
      const row = recent.get(id);
      if (row) {
        recent.delete(id);
        out.push(row);
      } else {
        absent.push(id);
      }
    }
    return absent.length === 0 ? out : out.concat(readCalls(absent));
  };
  const kernelId = (): string | null => {
    const live = ctx.kernels.tasks().filter(t => t.alive);
    return live.length === 1 ? live[0].kernelId : null;
  };

  const queue = new SpanQueue({
    maxQueue: config.maxQueue,
    batchSize: config.batchSize,
    delayMs: config.scheduleDelayMs,
    now: () => ctx.clock.now(),
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      t.unref();
      return () => clearTimeout(t);
    },
    send: async ids => {
      const current = exporters;
      if (!current || !current.tracing) {
        // Turned off while this batch waited: dropped for good, not retried.
        throw new RejectedBatch('span export was turned off');
      }
      await current.exportCalls(batchCalls(ids), { captureContent: config.captureContent, oldNames: config.oldNames, kernelId: kernelId() });
    }
  });

  const build = (): void => {
    const previous = exporters;
    config = resolveExportConfig(env, settings, runtimeHeaders);
    if (config.enabled && !otlp) {
      throw new Error('export: the OTLP exporters were not loaded (loadOtlp) before build');
    }
    exporters = config.enabled && otlp
      ? new otlp.OtlpExporters({
          config,
          version: ctx.config.version,
          resource: {
            'vigilo.platform': ctx.platform().name,
            ...(env.JPY_SESSION_NAME ? { 'vigilo.notebook': env.JPY_SESSION_NAME } : {}),
            'vigilo.data_dir': ctx.config.dataDir
          },
          runtimePoints: () => runtimeGaugePoints(ctx.snapshot.current(), checkpointVerifiedAtMs, ctx.clock.now()),
          dropped: () => queue.snapshot().dropped
        })
      : null;
    if (previous) {
      void previous.shutdown(STOP_SHUTDOWN_MS);
    }
    if (!exporters?.tracing) {
      queue.discard();
    }
    // Export off because nothing asked for it is the default: said in GET /export, not in the log.
    const asked = Object.keys(env).some(k => k.startsWith('OTEL_')) || settings.endpoint !== undefined;
    for (const note of asked ? config.notes : []) {
      ctx.log(`export: ${note}`);
    }
    dirty = true;
  };

  const countCalls = (list: Array<{ provider: string; model: string | null; costUsd: number | null; status: string }>): void => {
    for (const c of list) {
      let model = c.model ?? 'unknown';
      if (!models.has(model)) {
        if (models.size >= MAX_MODEL_LABELS) {
          model = 'other';
        } else {
          models.add(model);
        }
      }
      const key = `${c.provider}\n${model}\n${c.status}`;
      const entry = calls.get(key) ?? { provider: c.provider, model, status: c.status, n: 0 };
      entry.n++;
      calls.set(key, entry);
      if (c.costUsd !== null) {
        const ck = `${c.provider}\n${model}`;
        const e = cost.get(ck) ?? { provider: c.provider, model, usd: 0 };
        e.usd += c.costUsd;
        cost.set(ck, e);
      }
    }
    dirty = true;
  };

  /**
   * The calls just stored. The LLM module's bus event carries their rows under STORED_CALLS (a symbol
   * key: never serialised onto /events); without them (an older publisher) they are read from the store.
   */
  const onCalls = (ids: string[], stored: CallFacts[] | undefined): void => {
    const current = exporters;
    if (!current) {
      return;
    }
    if (!current.metering && !stored) {
      queue.add(ids);
      return;
    }
    // Metrics count every call at ingest (a dropped span still counts). The work is off the ingest turn;
    // the rows are kept for the span batch, which is queued after them so it finds them.
    setImmediate(() => {
      if (current !== exporters) {
        return;
      }
      try {
        const rows = stored ?? readCalls(ids);
        for (const call of rows) {
          current.record(call);
        }
        if (current.tracing) {
          remember(rows);
        }
      } catch (error) {
        ctx.log(`export: could not read calls for metrics: ${String(error)}`);
      }
      if (current.tracing) {
        queue.add(ids);
      }
    });
  };

  const section = (): ExportSection => ({
    enabled: config.enabled,
    queue: queue.snapshot(),
    llm: { calls: [...calls.values()], costUsd: [...cost.values()] },
    checkpointVerifiedAt: checkpointVerifiedAtMs === null ? null : new Date(checkpointVerifiedAtMs).toISOString()
  });

  const status = (): ExportStatus => {
    const s = {
      enabled: config.enabled,
      tracesUrl: safeUrl(config.tracesUrl),
      metricsUrl: safeUrl(config.metricsUrl),
      protocol: config.protocol,
      headerNames: Object.keys(config.headers),
      serviceName: config.serviceName,
      captureContent: config.captureContent,
      oldNames: config.oldNames,
      metricIntervalMs: config.metricIntervalMs,
      maxQueue: config.maxQueue,
      notes: config.notes,
      queue: queue.snapshot(),
      missing
    };
    return { ...s, summary: summaryOf(s) };
  };

  return {
    name: 'export',
    async start() {
      settings = readSettings(settingsFile, line => ctx.log(line));
      await loadOtlp(settings, runtimeHeaders);
      build();
      unsubscribe = ctx.bus.subscribe(message => {
        const data = message.data as {
          type?: string;
          calls?: Array<{ id: string; provider: string; model: string | null; costUsd: number | null; status: string }>;
          record?: { time?: string; verified?: boolean } | null;
          [STORED_CALLS]?: CallFacts[];
        };
        if (message.event === 'llm' && data?.type === 'calls' && Array.isArray(data.calls)) {
          countCalls(data.calls);
          const stored = data[STORED_CALLS];
          onCalls(
            data.calls.map(c => c.id),
            Array.isArray(stored) ? stored : undefined
          );
        } else if (message.event === 'checkpoint' && data?.record?.verified && data.record.time) {
          checkpointVerifiedAtMs = Date.parse(data.record.time);
          dirty = true;
        }
      });
      let lastQueue = '';
      sectionTimer = setInterval(() => {
        const q = JSON.stringify(queue.snapshot());
        if (dirty || q !== lastQueue) {
          dirty = false;
          lastQueue = q;
          ctx.snapshot.update('export', section());
        }
      }, SECTION_EVERY_MS);
      sectionTimer.unref();
      ctx.snapshot.update('export', section());
    },
    async stop() {
      unsubscribe?.();
      if (sectionTimer) {
        clearInterval(sectionTimer);
      }
      // Bounded: a receiver that hangs never holds the sidecar's shutdown longer than this.
      const deadline = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms).unref());
      if (exporters?.tracing && queue.size > 0) {
        await Promise.race([queue.drain(), deadline(STOP_DRAIN_MS)]);
      }
      queue.stop();
      await exporters?.shutdown(STOP_SHUTDOWN_MS);
      exporters = null;
      store?.close();
      store = null;
    },
    routes: [
      jsonRoute({
        method: 'get',
        path: '/export',
        summary: 'OpenTelemetry export: where to, what is sent, the span queue (sent, waiting, dropped, refused) and the last error.',
        tags: ['export'],
        response: ExportStatus,
        handler: () => status()
      }),
      jsonRoute({
        method: 'put',
        path: '/export',
        summary:
          'Change the OpenTelemetry export at run time (`%vigilo export`): endpoint ("" = off, null = OTEL_EXPORTER_OTLP_ENDPOINT), protocol, headers (memory only, never on disk), message content. Applies at once; kept in export.json (0600) without the headers.',
        tags: ['export'],
        body: ExportSettingsBody,
        response: ExportStatus,
        errors: ['storage_failed'],
        handler: async ({ body }) => {
          const next: ExportSettings = { ...settings };
          if (body.endpoint !== undefined) {
            next.endpoint = body.endpoint;
          }
          if (body.protocol !== undefined) {
            next.protocol = body.protocol;
          }
          if (body.captureContent !== undefined) {
            next.captureContent = body.captureContent;
          }
          const headers = body.headers !== undefined ? body.headers : runtimeHeaders;
          // Before anything changes, so two requests apply in their order.
          await loadOtlp(next, headers);
          try {
            writePrivateFile(settingsFile, JSON.stringify(next, null, 2) + '\n');
          } catch (error) {
            throw new ApiError('storage_failed', `Could not write ${settingsFile}: ${String(error)}; the export settings were not changed.`);
          }
          settings = next;
          runtimeHeaders = headers;
          build();
          return status();
        }
      })
    ]
  };
}
