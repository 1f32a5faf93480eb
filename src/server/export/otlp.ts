/**
 * The OpenTelemetry SDK pieces of the export: a tracer whose spans are
 * collected (not batched by the SDK: SpanQueue decides what is kept while the
 * receiver is away) and handed to the official OTLP/HTTP exporter, and a
 * MeterProvider with the GenAI histograms and the runtime gauges on a periodic
 * reader. Span and trace ids derive from the call id, so a batch sent twice
 * (a timeout after the receiver stored it) is the same spans, not copies.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Socket } from 'node:net';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, type IdGenerator, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { ExportConfig } from '../../core/otelConfig';
import { GENAI_SCHEMA_URL, METRIC, OPERATION_DURATION_BUCKETS, TOKEN_USAGE_BUCKETS, durationPoint, spanOfCall, tokenUsagePoints, type CallFacts, type SpanOptions } from '../../core/otelGenAi';
import { RUNTIME_GAUGES, type GaugePoint, type RuntimeGaugeKey } from '../../core/otelRuntime';
import { RejectedBatch } from './spanQueue';

/** Ids from the call id: sha256 → 16-byte trace id, 8-byte span id (never all zero in practice). */
class CallIdGenerator implements IdGenerator {
  digest = '';
  generateTraceId(): string {
    return this.digest.slice(0, 32);
  }
  generateSpanId(): string {
    return this.digest.slice(32, 48);
  }
}

/** Keeps ended spans until `take()`; the SpanQueue, not this, decides when they go out. */
class CollectingProcessor implements SpanProcessor {
  spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  take(): ReadableSpan[] {
    const out = this.spans;
    this.spans = [];
    return out;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface OtlpOptions {
  config: ExportConfig;
  version: string;
  /** Resource attributes Vigilo adds (platform, notebook); OTEL_RESOURCE_ATTRIBUTES wins on a clash. */
  resource: Record<string, string>;
  /** Runtime gauge points at collection time. */
  runtimePoints(): Record<RuntimeGaugeKey, GaugePoint[]>;
  /** Spans dropped so far (exported as a counter, so a collector sees the loss too). */
  dropped(): number;
}

export class OtlpExporters {
  private readonly ids = new CallIdGenerator();
  private readonly agents: HttpAgent[] = [];
  private readonly collector = new CollectingProcessor();
  private readonly tracerProvider: BasicTracerProvider;
  private readonly spanExporter: SpanExporter | null;
  private readonly meterProvider: MeterProvider | null;
  private readonly durationHistogram;
  private readonly tokenHistogram;

  constructor(private readonly o: OtlpOptions) {
    const c = o.config;
    const resource = resourceFromAttributes({ ...o.resource, ...c.resourceAttributes, [ATTR_SERVICE_NAME]: c.serviceName, [ATTR_SERVICE_VERSION]: o.version });
    this.tracerProvider = new BasicTracerProvider({ resource, idGenerator: this.ids, spanProcessors: [this.collector] });
    // Our own agents, so that shutdown can close a request a hung receiver holds open (it would keep the
    // event loop, and so a stopping sidecar, alive until the export timeout).
    const agentFactory = (protocol: string): HttpAgent => {
      const agent = protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
      this.agents.push(agent);
      return agent;
    };
    const exporterConfig = (url: string) => ({ url, headers: c.headers, timeoutMillis: c.timeoutMs, httpAgentOptions: agentFactory });
    this.spanExporter =
      c.traces && c.tracesUrl
        ? c.protocol === 'http/json'
          ? new OTLPTraceExporterJson(exporterConfig(c.tracesUrl))
          : new OTLPTraceExporterProto(exporterConfig(c.tracesUrl))
        : null;
    if (c.metrics && c.metricsUrl) {
      const exporter: PushMetricExporter = c.protocol === 'http/json' ? new OTLPMetricExporterJson(exporterConfig(c.metricsUrl)) : new OTLPMetricExporterProto(exporterConfig(c.metricsUrl));
      this.meterProvider = new MeterProvider({
        resource,
        readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: c.metricIntervalMs, exportTimeoutMillis: Math.min(c.timeoutMs, c.metricIntervalMs) })]
      });
    } else {
      this.meterProvider = null;
    }
    const meter = this.meterProvider?.getMeter('vigilo', o.version, { schemaUrl: GENAI_SCHEMA_URL });
    this.durationHistogram = meter?.createHistogram(METRIC.operationDuration, {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS }
    });
    this.tokenHistogram = meter?.createHistogram(METRIC.tokenUsage, {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS }
    });
    if (meter) {
      const gauges = Object.fromEntries(
        (Object.keys(RUNTIME_GAUGES) as RuntimeGaugeKey[]).map(k => [k, meter.createObservableGauge(RUNTIME_GAUGES[k].name, { unit: RUNTIME_GAUGES[k].unit, description: RUNTIME_GAUGES[k].description })])
      ) as Record<RuntimeGaugeKey, ReturnType<typeof meter.createObservableGauge>>;
      const dropped = meter.createObservableCounter('vigilo.export.spans.dropped', { unit: '{span}', description: 'Spans dropped because the export queue was full (receiver down too long).' });
      meter.addBatchObservableCallback(
        result => {
          const points = this.o.runtimePoints();
          for (const key of Object.keys(points) as RuntimeGaugeKey[]) {
            for (const p of points[key]) {
              result.observe(gauges[key], p.value, p.attributes);
            }
          }
          result.observe(dropped, this.o.dropped());
        },
        [...Object.values(gauges), dropped]
      );
    }
  }

  get metering(): boolean {
    return this.meterProvider !== null;
  }

  get tracing(): boolean {
    return this.spanExporter !== null;
  }

  /** GenAI metrics of one stored call (at ingest: they count calls even when spans are dropped later). */
  record(call: CallFacts): void {
    const d = durationPoint(call);
    this.durationHistogram?.record(d.value, d.attributes);
    for (const p of tokenUsagePoints(call)) {
      this.tokenHistogram?.record(p.value, p.attributes);
    }
  }

  /** One span per call, exported in one request. Rejects when the receiver did not take them. */
  exportCalls(calls: CallFacts[], options: SpanOptions): Promise<void> {
    const exporter = this.spanExporter;
    if (!exporter || calls.length === 0) {
      return Promise.resolve();
    }
    const tracer = this.tracerProvider.getTracer('vigilo', this.o.version, { schemaUrl: GENAI_SCHEMA_URL });
    for (const call of calls) {
      const spec = spanOfCall(call, options);
      this.ids.digest = createHash('sha256').update(call.id).digest('hex');
      const span = tracer.startSpan(spec.name, { kind: SpanKind.CLIENT, startTime: new Date(spec.startMs), attributes: spec.attributes as Attributes });
      if (spec.error !== null) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
      }
      span.end(new Date(spec.endMs));
    }
    const spans = this.collector.take();
    return new Promise<void>((resolve, reject) => {
      exporter.export(spans, (result: ExportResult) => {
        if (result.code === ExportResultCode.SUCCESS) {
          resolve();
          return;
        }
        const error = result.error ?? new Error('export failed');
        const status = (error as { code?: unknown }).code;
        if (typeof status === 'number' && status >= 400 && status < 500 && status !== 429) {
          reject(new RejectedBatch(`receiver refused the spans (HTTP ${status}): ${error.message}`));
        } else {
          reject(error);
        }
      });
    });
  }

  /** The SDK's shutdown (a last metrics export) for at most `timeoutMs`, then every connection closed. */
  async shutdown(timeoutMs: number): Promise<void> {
    const sdk = Promise.allSettled([this.spanExporter?.shutdown(), this.meterProvider?.shutdown(), this.tracerProvider.shutdown()]);
    await Promise.race([sdk, new Promise<void>(resolve => setTimeout(resolve, timeoutMs).unref())]);
    // A non-retryable code, so the exporter's own retry loop (its timers would keep the event loop alive)
    // ends at once instead of trying again; new connections fail the same way.
    const stopped = Object.assign(new Error('the OTLP export was shut down'), { code: 'EVIGILO_EXPORT_STOPPED' });
    for (const agent of this.agents) {
      agent.createConnection = () => {
        const socket = new Socket();
        process.nextTick(() => socket.destroy(stopped));
        return socket;
      };
      for (const sockets of Object.values(agent.sockets)) {
        for (const socket of sockets ?? []) {
          socket.destroy(stopped);
        }
      }
      agent.destroy();
    }
  }
}
