import type { ConversationHealth, LlmProvider, PriceEntry, TokenCounts, TrendView } from '../../shared/llm-api';
import { callCost } from './pricing';
import { trend, type Trend } from './trend';
import { formatCount, formatMoney } from '../../shared/format';

/** One call of a conversation as the health score sees it (already normalised and priced). */
export interface HealthCall {
  startedAtMs: number;
  latencyMs: number;
  ttftMs: number | null;
  status: 'ok' | 'error';
  tokens: TokenCounts | null;
  costUsd: number | null;
  model: string | null;
}

export interface HealthInput {
  conversationId: string;
  provider: LlmProvider;
  /** Calls in time order. */
  calls: HealthCall[];
  /** Context window of the conversation's model, null when the model is unknown. */
  contextWindow: number | null;
  /** The model's prices, for the cost of a fresh start (advice); null when unknown. */
  price?: PriceEntry | null;
  /** Size of the summary a fresh conversation would start from (default 800 tokens, the summary endpoint's default). */
  summaryTokens?: number;
  /** Whether message content was captured, so a summary can be made. */
  hasContent: boolean;
}

/**
 * Context exhaustion: the last call's prompt plus completion against the
 * window, and how many more exchanges fit at the average growth per exchange
 * (growth of the prompt from one call to the next, which carries the
 * previous answer and the new question).
 */
export function contextForecast(calls: HealthCall[], window: number | null): ConversationHealth['context'] {
  const withTokens = calls.filter(c => c.tokens && c.tokens.inputTokens + c.tokens.outputTokens > 0);
  const last = withTokens[withTokens.length - 1];
  if (!last || !last.tokens) {
    return { usedTokens: null, windowTokens: window, percent: null, growthPerMessage: null, messagesLeft: null, text: 'no token counts yet' };
  }
  const used = last.tokens.inputTokens + last.tokens.outputTokens;
  let growth: number | null = null;
  if (withTokens.length >= 2) {
    const first = withTokens[0].tokens!;
    growth = (last.tokens.inputTokens - first.inputTokens) / (withTokens.length - 1);
    if (!(growth > 0)) {
      growth = null;
    }
  }
  if (!window) {
    return { usedTokens: used, windowTokens: null, percent: null, growthPerMessage: growth, messagesLeft: null, text: `${formatCount(used)} used; context window unknown for this model` };
  }
  const percent = Math.min(100, (used / window) * 100);
  const messagesLeft = growth ? Math.max(0, Math.floor((window - used) / growth)) : null;
  const left = messagesLeft === null ? '' : messagesLeft === 0 ? ' — the next message may not fit' : ` — about ${messagesLeft} message${messagesLeft === 1 ? '' : 's'} left`;
  return { usedTokens: used, windowTokens: window, percent, growthPerMessage: growth, messagesLeft, text: `${formatCount(used)} of ${formatCount(window)} used${left}` };
}

function view(t: Trend): TrendView {
  return { slopePerMessage: t.slope, relativeChange: t.relativeChange, pValue: t.pValue, rising: t.rising, samples: t.samples };
}

/**
 * The per-message latency series: time to first token when every call
 * streamed (it grows with the prompt and not with the answer's length),
 * otherwise total latency. Failed calls are left out.
 */
export function latencySeries(calls: HealthCall[]): number[] {
  const ok = calls.filter(c => c.status === 'ok');
  const allTtft = ok.length > 0 && ok.every(c => c.ttftMs !== null);
  return ok.map(c => (allTtft ? c.ttftMs! : c.latencyMs));
}

/** Penalty for rising latency: grows with the size of the rise (2× → 35, 4× → 50, 8× → 65, capped at 70). */
function latencyPenalty(t: Trend): number {
  const ratio = Math.max(1, t.ratio ?? 1 + (t.relativeChange ?? 0), 1 + (t.relativeChange ?? 0));
  return Math.min(70, 20 + 15 * Math.log2(ratio));
}

/**
 * What the last message cost against what it would cost in a fresh
 * conversation that starts from the summary: the summary plus one message's
 * growth as the prompt, the same answer length, at the same model's prices.
 */
export function freshStartAdvice(calls: HealthCall[], context: ConversationHealth['context'], price: PriceEntry | null | undefined, summaryTokens: number): { text: string; lastUsd: number; freshUsd: number } | null {
  const priced = calls.filter(c => c.status === 'ok' && c.costUsd !== null && c.tokens);
  const last = priced[priced.length - 1];
  if (!price || !last || priced.length < 3 || !last.tokens) {
    return null;
  }
  const growth = Math.max(0, context.growthPerMessage ?? 0);
  const freshInput = summaryTokens + growth;
  if (last.tokens.inputTokens < 4 * freshInput) {
    return null;
  }
  const freshUsd = callCost(price, { inputTokens: freshInput, outputTokens: last.tokens.outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  const lastUsd = last.costUsd!;
  if (!(lastUsd >= 3 * freshUsd) || lastUsd <= 0) {
    return null;
  }
  return {
    lastUsd,
    freshUsd,
    text: `each message now costs ${formatMoney(lastUsd)} because the context is ${formatCount(last.tokens.inputTokens)}; a fresh conversation with the summary would cost about ${formatMoney(freshUsd)}`
  };
}

export function conversationHealth(input: HealthInput): ConversationHealth {
  const { calls } = input;
  const context = contextForecast(calls, input.contextWindow);
  const latency = trend(latencySeries(calls));
  const okPriced = calls.filter(c => c.status === 'ok' && c.costUsd !== null);
  const cost = trend(okPriced.map(c => c.costUsd!));
  // A cost rise that the prompt's own growth explains is the price of a long context, not a degradation.
  const prompt = trend(okPriced.map(c => c.tokens?.inputTokens ?? 0));
  const costFromContext = cost.rising && prompt.rising;
  const errors = calls.filter(c => c.status === 'error').length;
  const errorRate = calls.length ? errors / calls.length : 0;

  let score = 100;
  const reasons: string[] = [];
  const recommendations: string[] = [];
  if (context.percent !== null && context.percent > 50) {
    score -= (context.percent - 50) * 0.8;
    reasons.push(`context ${Math.round(context.percent)} % full (${context.text})`);
  }
  if (context.messagesLeft !== null && context.messagesLeft <= 3) {
    score -= 15;
    if (context.percent === null || context.percent <= 50) {
      reasons.push(context.messagesLeft === 0 ? `the next message may not fit (${context.text})` : `only about ${context.messagesLeft} message${context.messagesLeft === 1 ? '' : 's'} left (${context.text})`);
    }
  }
  if (latency.rising) {
    score -= latencyPenalty(latency);
    const ratio = Math.max(latency.ratio ?? 0, 1 + (latency.relativeChange ?? 0));
    const size = ratio >= 2 ? `${ratio.toFixed(ratio >= 10 ? 0 : 1)}×` : `+${Math.round((ratio - 1) * 100)} %`;
    reasons.push(`latency rising: ${size} over ${latency.samples} messages`);
  }
  if (cost.rising && !costFromContext) {
    score -= 10;
    reasons.push(`cost per message rising: +${Math.round((cost.relativeChange ?? 0) * 100)} % over ${cost.samples} messages with a steady prompt size`);
  }
  if (errors > 0) {
    score -= 30 * errorRate;
    reasons.push(`${errors} of ${calls.length} calls failed`);
  }
  score = Math.max(0, Math.min(100, Math.round(score)));
  const status = score >= 80 ? 'healthy' : score >= 55 ? 'watch' : 'degrading';

  if (context.percent !== null && context.percent >= 90) {
    recommendations.push(
      input.hasContent
        ? `context ${Math.round(context.percent)} % full: a summary is ready to transfer`
        : `context ${Math.round(context.percent)} % full: start a fresh conversation (content capture is off, so no summary can be made)`
    );
  }
  if (context.messagesLeft !== null && context.messagesLeft <= 3) {
    const carry = input.hasContent ? 'the summary' : 'the state';
    recommendations.push(
      context.messagesLeft === 0
        ? `the context window is nearly full and the next message may not fit: carry ${carry} into a fresh conversation`
        : `about ${context.messagesLeft} message${context.messagesLeft === 1 ? '' : 's'} left before the context window is full: carry ${carry} into a fresh conversation`
    );
  }
  const advice = freshStartAdvice(calls, context, input.price, input.summaryTokens ?? 800);
  if (advice) {
    recommendations.push(advice.text);
  }
  if (status === 'degrading' || latency.rising) {
    recommendations.push(`this conversation is ${status === 'degrading' ? 'degrading' : 'slowing down'}: consider starting fresh`);
  }
  if (reasons.length === 0) {
    reasons.push('no sign of degradation');
  }

  const last = calls[calls.length - 1];
  const priced = calls.filter(c => c.costUsd !== null);
  return {
    conversationId: input.conversationId,
    provider: input.provider,
    model: [...calls].reverse().find(c => c.model)?.model ?? null,
    calls: calls.length,
    firstAt: new Date(calls[0]?.startedAtMs ?? 0).toISOString(),
    lastAt: new Date(last?.startedAtMs ?? 0).toISOString(),
    costUsd: priced.length ? priced.reduce((a, c) => a + c.costUsd!, 0) : null,
    context,
    latency: view(latency),
    costPerMessage: view(cost),
    errorRate,
    score,
    status,
    reasons,
    recommendations,
    summaryAvailable: input.hasContent
  };
}
