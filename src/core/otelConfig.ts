/**
 * Where and how the sidecar exports OpenTelemetry, from the standard
 * environment variables (OpenTelemetry specification "Environment Variable
 * Specification" and "OTLP Exporter Configuration") and Vigilo's own settings
 * (PUT /export, `%vigilo export`), which win where they are set. Pure: an
 * environment and settings in, a decision with its reasons out.
 */

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** What PUT /export stores (export.json, 0600). Header values are never written to disk. */
export interface ExportSettings {
  /** Base endpoint (…:4318); null: the environment decides; '' : export off. */
  endpoint?: string | null;
  protocol?: OtlpProtocol | null;
  captureContent?: boolean | null;
}

export interface ExportConfig {
  enabled: boolean;
  /** Why export is off, or what was ignored. */
  notes: string[];
  tracesUrl: string | null;
  metricsUrl: string | null;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  captureContent: boolean;
  /** OTEL_SEMCONV_STABILITY_OPT_IN lists `gen_ai/dup`: the names v1.41.0 deprecated are sent too. */
  oldNames: boolean;
  traces: boolean;
  metrics: boolean;
  metricIntervalMs: number;
  timeoutMs: number;
  /** Spans waiting for the receiver, at most (oldest dropped beyond, and counted). */
  maxQueue: number;
  batchSize: number;
  /** A batch goes out at most this long after its first call. */
  scheduleDelayMs: number;
}

export const DEFAULT_MAX_QUEUE = 100_000;
const DEFAULT_BATCH = 512;
const DEFAULT_DELAY_MS = 1000;
const DEFAULT_METRIC_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * W3C-baggage-like `key=value,key2=value2` with percent-encoded values, as
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES are written.
 * Malformed entries are reported, not guessed.
 */
export function parseKeyValues(text: string | undefined, what: string): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const raw of (text ?? '').split(',')) {
    const item = raw.trim();
    if (item === '') {
      continue;
    }
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (key === '') {
      // The entry is not repeated: in OTEL_EXPORTER_OTLP_HEADERS it may be a secret.
      problems.push(`${what}: an entry is not key=value; left out`);
      continue;
    }
    try {
      values[decodeURIComponent(key)] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      problems.push(`${what}: the value of "${key}" is not valid percent-encoding; left out`);
    }
  }
  return { values, problems };
}

function positiveInt(text: string | undefined, fallback: number, what: string, notes: string[]): number {
  if (text === undefined || text.trim() === '') {
    return fallback;
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    notes.push(`${what}=${text} is not a positive whole number; using ${fallback}`);
    return fallback;
  }
  return n;
}

function protocolOf(text: string | undefined, notes: string[], what: string): OtlpProtocol | null {
  if (text === undefined || text.trim() === '') {
    return null;
  }
  const p = text.trim();
  if (p === 'http/protobuf' || p === 'http/json') {
    return p;
  }
  notes.push(`${what}=${p} is not supported (the sidecar speaks OTLP over HTTP: http/protobuf or http/json, port 4318); using http/protobuf`);
  return 'http/protobuf';
}

/** `base` + `/v1/traces`, as the specification joins OTEL_EXPORTER_OTLP_ENDPOINT; null when it is no http(s) URL. */
export function signalUrl(base: string, signal: 'traces' | 'metrics'): string | null {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return null;
  }
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = `${path}v1/${signal}`;
  return url.toString();
}

function validUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isTrue(text: string | undefined): boolean {
  return (text ?? '').trim().toLowerCase() === 'true';
}

/**
 * The export decision. `headersOverride` are headers given at run time
 * (PUT /export), kept in memory only.
 */
export function resolveExportConfig(env: Record<string, string | undefined>, settings: ExportSettings = {}, headersOverride?: Record<string, string>): ExportConfig {
  const notes: string[] = [];
  const base = settings.endpoint !== undefined && settings.endpoint !== null ? settings.endpoint : (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim();
  let tracesUrl: string | null = null;
  let metricsUrl: string | null = null;
  const fromSettings = settings.endpoint !== undefined && settings.endpoint !== null;
  if (base !== '') {
    tracesUrl = signalUrl(base, 'traces');
    metricsUrl = signalUrl(base, 'metrics');
    if (tracesUrl === null) {
      notes.push(`${fromSettings ? 'export endpoint' : 'OTEL_EXPORTER_OTLP_ENDPOINT'} "${base}" is not an http(s) URL; export is off`);
    }
  }
  if (!fromSettings) {
    // Per-signal variables are full URLs, used as given.
    const t = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
    const m = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
    if (t) {
      tracesUrl = validUrl(t) ? t : (notes.push(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "${t}" is not an http(s) URL; ignored`), tracesUrl);
    }
    if (m) {
      metricsUrl = validUrl(m) ? m : (notes.push(`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT "${m}" is not an http(s) URL; ignored`), metricsUrl);
    }
  }
  const headers = parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS');
  notes.push(...headers.problems);
  const resource = parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES');
  notes.push(...resource.problems);
  const protocol = settings.protocol ?? protocolOf(env.OTEL_EXPORTER_OTLP_PROTOCOL, notes, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || resource.values['service.name'] || 'vigilo';
  const disabled = isTrue(env.OTEL_SDK_DISABLED);
  const traces = (env.OTEL_TRACES_EXPORTER ?? 'otlp').trim() !== 'none';
  const metrics = (env.OTEL_METRICS_EXPORTER ?? 'otlp').trim() !== 'none';
  const endpointOff = fromSettings && base === '';
  let enabled = !disabled && !endpointOff && ((traces && tracesUrl !== null) || (metrics && metricsUrl !== null));
  if (disabled) {
    notes.push('OTEL_SDK_DISABLED=true: export is off');
  } else if (endpointOff) {
    notes.push('export turned off in the settings (%vigilo export off)');
  } else if (!enabled && notes.length === 0) {
    notes.push('no endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4318) or run %vigilo export URL');
  }
  if (!traces && !metrics) {
    enabled = false;
  }
  const optIn = (env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '').split(',').map(s => s.trim());
  return {
    enabled,
    notes,
    tracesUrl: traces ? tracesUrl : null,
    metricsUrl: metrics ? metricsUrl : null,
    protocol,
    headers: { ...headers.values, ...(headersOverride ?? {}) },
    serviceName,
    resourceAttributes: resource.values,
    captureContent: settings.captureContent ?? isTrue(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT),
    oldNames: optIn.includes('gen_ai/dup'),
    traces,
    metrics,
    metricIntervalMs: positiveInt(env.OTEL_METRIC_EXPORT_INTERVAL, DEFAULT_METRIC_INTERVAL_MS, 'OTEL_METRIC_EXPORT_INTERVAL', notes),
    timeoutMs: positiveInt(env.OTEL_EXPORTER_OTLP_TIMEOUT, DEFAULT_TIMEOUT_MS, 'OTEL_EXPORTER_OTLP_TIMEOUT', notes),
    maxQueue: positiveInt(env.VIGILO_OTEL_MAX_QUEUE, DEFAULT_MAX_QUEUE, 'VIGILO_OTEL_MAX_QUEUE', notes),
    batchSize: Math.min(positiveInt(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, DEFAULT_BATCH, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', notes), 4096),
    scheduleDelayMs: positiveInt(env.OTEL_BSP_SCHEDULE_DELAY, DEFAULT_DELAY_MS, 'OTEL_BSP_SCHEDULE_DELAY', notes)
  };
}
