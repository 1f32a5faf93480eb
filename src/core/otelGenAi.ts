/**
 * One stored LLM call as an OpenTelemetry GenAI span, and the GenAI metric
 * points of that call. Pure: a call in, names/attributes/times out; the
 * sidecar's export module hands them to the OpenTelemetry SDK.
 *
 * Pinned to the GenAI conventions of open-telemetry/semantic-conventions
 * v1.41.0 (docs/gen-ai/gen-ai-spans.md, gen-ai-metrics.md), the last release
 * published there; the work continues in open-telemetry/semantic-conventions-genai
 * (read at commit 9430220eb6f3f8a0e41d2e0e548aeb5cb9ca5f14), where the inference
 * span keeps these attribute names. Every GenAI name is still "development"
 * stability, so, as @opentelemetry/semantic-conventions' README advises for
 * incubating names, they are copied here rather than imported from its
 * `incubating` entry point.
 */
import type { LlmCallFacts } from '../shared/llm-api';

export const GENAI_SEMCONV_VERSION = '1.41.0';
export const GENAI_SCHEMA_URL = `https://opentelemetry.io/schemas/${GENAI_SEMCONV_VERSION}`;

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  requestStream: 'gen_ai.request.stream',
  conversationId: 'gen_ai.conversation.id',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  tokenType: 'gen_ai.token.type',
  errorType: 'error.type',
  /**
   * Cost: an open proposal, not (yet) a convention — open-telemetry/semantic-conventions-genai
   * pull request #443 "Add per-operation cost conventions (gen_ai.usage.cost.*)", from the
   * consensus of issue #287. Followed as proposed there: amount, ISO 4217 currency, source.
   */
  costAmount: 'gen_ai.usage.cost.amount',
  costCurrency: 'gen_ai.usage.cost.currency',
  costSource: 'gen_ai.usage.cost.source'
} as const;

/** Names that v1.41.0 deprecated; sent as well only when OTEL_SEMCONV_STABILITY_OPT_IN lists `gen_ai/dup`. */
export const OLD_ATTR = {
  system: 'gen_ai.system',
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens'
} as const;

export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration'
} as const;

/** gen-ai-metrics.md v1.41.0: ExplicitBucketBoundaries of gen_ai.client.operation.duration, seconds. */
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** gen-ai-metrics.md v1.41.0: ExplicitBucketBoundaries of gen_ai.client.token.usage, tokens. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** What of a stored call the span is made of (src/shared/llm-api.ts LlmCallFacts). */
export type CallFacts = LlmCallFacts;

export interface SpanOptions {
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: message text goes out; otherwise never. */
  captureContent: boolean;
  /** OTEL_SEMCONV_STABILITY_OPT_IN lists `gen_ai/dup`: the deprecated names too. */
  oldNames: boolean;
  /** The one live kernel when exactly one is registered (a call carries no kernel id). */
  kernelId?: string | null;
}

export type AttributeValue = string | number | boolean;

export interface SpanSpec {
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  /** Span status ERROR with this description when set. */
  error: string | null;
}

/** gen_ai.provider.name well-known values. Vigilo's `google` is the Gemini API (AI Studio endpoint) its wrappers watch. */
export function providerName(provider: CallFacts['provider']): string {
  return provider === 'google' ? 'gcp.gemini' : provider;
}

/** gen_ai.operation.name well-known values for Vigilo's operations. */
export function operationName(operation: string): string {
  return operation === 'generateContent' ? 'generate_content' : 'chat';
}

function errorType(call: CallFacts): string {
  if (call.httpStatus !== null) {
    return String(call.httpStatus);
  }
  return call.errorClass ?? '_OTHER';
}

function textParts(content: string) {
  return [{ type: 'text', content }];
}

/** The span of one call, with the GenAI attributes, Vigilo's cost, tags and (opt-in) content. */
export function spanOfCall(call: CallFacts, options: SpanOptions): SpanSpec {
  const op = operationName(call.operation);
  const model = call.requestModel ?? call.responseModel;
  const a: Record<string, AttributeValue> = {
    [ATTR.operationName]: op,
    [ATTR.providerName]: providerName(call.provider)
  };
  if (call.requestModel !== null) {
    a[ATTR.requestModel] = call.requestModel;
  }
  if (call.responseModel !== null) {
    a[ATTR.responseModel] = call.responseModel;
  }
  if (call.stream) {
    a[ATTR.requestStream] = true;
    if (call.ttftMs !== null) {
      a[ATTR.timeToFirstChunk] = call.ttftMs / 1000;
    }
  }
  if (call.conversationKey !== null) {
    a[ATTR.conversationId] = call.conversationKey;
  }
  const t = call.tokens;
  if (t) {
    a[ATTR.inputTokens] = t.inputTokens;
    a[ATTR.outputTokens] = t.outputTokens;
    if (t.cachedInputTokens > 0) {
      a[ATTR.cacheReadInputTokens] = t.cachedInputTokens;
    }
    if (t.cacheWriteTokens > 0) {
      a[ATTR.cacheCreationInputTokens] = t.cacheWriteTokens;
    }
    if (t.reasoningTokens > 0) {
      a[ATTR.reasoningOutputTokens] = t.reasoningTokens;
    }
  }
  if (call.costUsd !== null) {
    a[ATTR.costAmount] = call.costUsd;
    a[ATTR.costCurrency] = 'USD';
    a[ATTR.costSource] = 'local';
  }
  if (call.status === 'error') {
    a[ATTR.errorType] = errorType(call);
  }
  if (options.oldNames) {
    a[OLD_ATTR.system] = providerName(call.provider);
    if (t) {
      a[OLD_ATTR.promptTokens] = t.inputTokens;
      a[OLD_ATTR.completionTokens] = t.outputTokens;
    }
  }
  a['vigilo.call.id'] = call.id;
  a['vigilo.sdk'] = call.sdk;
  a['vigilo.usage.estimated'] = call.usageEstimated;
  if (call.pricedModel !== null) {
    a['vigilo.priced_model'] = call.pricedModel;
  }
  if (options.kernelId) {
    a['vigilo.kernel.id'] = options.kernelId;
  }
  for (const [key, value] of Object.entries(call.tags)) {
    a[`vigilo.tag.${key}`] = value;
  }
  if (options.captureContent) {
    if (call.messages && call.messages.length > 0) {
      a[ATTR.inputMessages] = JSON.stringify(call.messages.map(m => ({ role: m.role, parts: textParts(m.content) })));
    }
    if (call.output !== null) {
      a[ATTR.outputMessages] = JSON.stringify([{ role: 'assistant', parts: textParts(call.output) }]);
    }
  }
  return {
    name: model === null ? op : `${op} ${model}`,
    startMs: call.startedAtMs,
    endMs: call.startedAtMs + call.latencyMs,
    attributes: a,
    error: call.status === 'error' ? (call.errorClass ?? errorType(call)) : null
  };
}

export interface MetricPoint {
  value: number;
  attributes: Record<string, AttributeValue>;
}

/** The attributes gen-ai-metrics.md puts on both client metrics (no conversation id: bounded). */
function metricAttributes(call: CallFacts): Record<string, AttributeValue> {
  const a: Record<string, AttributeValue> = { [ATTR.operationName]: operationName(call.operation), [ATTR.providerName]: providerName(call.provider) };
  if (call.requestModel !== null) {
    a[ATTR.requestModel] = call.requestModel;
  }
  if (call.responseModel !== null) {
    a[ATTR.responseModel] = call.responseModel;
  }
  if (call.status === 'error') {
    a[ATTR.errorType] = errorType(call);
  }
  return a;
}

/** gen_ai.client.operation.duration: one point, seconds. */
export function durationPoint(call: CallFacts): MetricPoint {
  return { value: call.latencyMs / 1000, attributes: metricAttributes(call) };
}

/** gen_ai.client.token.usage: input and output, only when the call reported usage (never a made-up 0). */
export function tokenUsagePoints(call: CallFacts): MetricPoint[] {
  if (!call.tokens) {
    return [];
  }
  const base = metricAttributes(call);
  delete base[ATTR.errorType];
  return [
    { value: call.tokens.inputTokens, attributes: { ...base, [ATTR.tokenType]: 'input' } },
    { value: call.tokens.outputTokens, attributes: { ...base, [ATTR.tokenType]: 'output' } }
  ];
}
