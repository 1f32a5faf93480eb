import { describe, expect, it } from 'vitest';
import { parseKeyValues, resolveExportConfig, signalUrl } from './otelConfig';

describe('OpenTelemetry export configuration from the standard variables', () => {
  it('is off without an endpoint, and says which variable to set', () => {
    const c = resolveExportConfig({});
    expect(c.enabled).toBe(false);
    expect(c.notes.join(' ')).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('joins /v1/traces and /v1/metrics to the base endpoint and reads headers, service name and resource attributes', () => {
    const c = resolveExportConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.test:4318/base',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-team = nlp',
      OTEL_SERVICE_NAME: 'notebook-7',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=colab,openinference.project.name=team'
    });
    expect(c.enabled).toBe(true);
    expect(c.tracesUrl).toBe('https://otel.example.test:4318/base/v1/traces');
    expect(c.metricsUrl).toBe('https://otel.example.test:4318/base/v1/metrics');
    expect(c.headers).toEqual({ authorization: 'Bearer abc', 'x-team': 'nlp' });
    expect(c.serviceName).toBe('notebook-7');
    expect(c.resourceAttributes).toEqual({ 'deployment.environment': 'colab', 'openinference.project.name': 'team' });
    expect(c.protocol).toBe('http/protobuf');
  });

  it('takes a per-signal endpoint as a full URL, and turns a signal off with OTEL_*_EXPORTER=none', () => {
    const c = resolveExportConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:6006/v1/traces', OTEL_METRICS_EXPORTER: 'none' });
    expect(c.enabled).toBe(true);
    expect(c.tracesUrl).toBe('http://127.0.0.1:6006/v1/traces');
    expect(c.metricsUrl).toBeNull();
  });

  it('refuses grpc with a reason (OTLP over HTTP only) and keeps protobuf', () => {
    const c = resolveExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(c.protocol).toBe('http/protobuf');
    expect(c.notes.join(' ')).toMatch(/grpc is not supported/);
  });

  it('honours OTEL_SDK_DISABLED, the content switch and the gen_ai/dup opt-in', () => {
    expect(resolveExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(resolveExportConfig(base).captureContent).toBe(false);
    expect(resolveExportConfig({ ...base, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'TRUE' }).captureContent).toBe(true);
    expect(resolveExportConfig({ ...base, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: '1' }).captureContent).toBe(false);
    expect(resolveExportConfig({ ...base, OTEL_SEMCONV_STABILITY_OPT_IN: 'http, gen_ai/dup' }).oldNames).toBe(true);
    expect(resolveExportConfig(base).oldNames).toBe(false);
  });

  it('lets the settings (%vigilo export) win over the environment: another endpoint, or off', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' };
    const moved = resolveExportConfig(env, { endpoint: 'http://127.0.0.1:6006', captureContent: false }, { api_key: 'k' });
    expect(moved.tracesUrl).toBe('http://127.0.0.1:6006/v1/traces');
    expect(moved.captureContent).toBe(false);
    expect(moved.headers).toEqual({ api_key: 'k' });
    const off = resolveExportConfig(env, { endpoint: '' });
    expect(off.enabled).toBe(false);
    expect(off.notes.join(' ')).toMatch(/turned off/);
  });

  it('reports malformed values instead of guessing, and keeps the defaults', () => {
    const c = resolveExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318', OTEL_METRIC_EXPORT_INTERVAL: 'soon', OTEL_EXPORTER_OTLP_HEADERS: 'novalue,a=%zz' });
    expect(c.enabled).toBe(false);
    expect(c.metricIntervalMs).toBe(60_000);
    expect(c.notes).toHaveLength(4);
    // A malformed header entry may be a secret: the note does not repeat it.
    expect(c.notes.join(' ')).not.toMatch(/novalue/);
  });

  it('parses percent-encoded key=value lists and joins signal paths', () => {
    expect(parseKeyValues('a=1,b=x%3Dy', 'X').values).toEqual({ a: '1', b: 'x=y' });
    expect(signalUrl('http://h:4318/', 'metrics')).toBe('http://h:4318/v1/metrics');
    expect(signalUrl('ftp://h', 'traces')).toBeNull();
  });
});
