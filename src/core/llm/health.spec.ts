import { describe, expect, it } from 'vitest';
import { conversationHealth, contextForecast, type HealthCall } from './health';
import { mannKendall, theilSen, trend } from './trend';

/** Deterministic noise (mulberry32), so the test is the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function call(i: number, over: Partial<HealthCall> = {}): HealthCall {
  return {
    startedAtMs: Date.parse('2026-03-01T10:00:00Z') + i * 60_000,
    latencyMs: 1000,
    ttftMs: null,
    status: 'ok',
    tokens: { inputTokens: 1000, outputTokens: 200, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    costUsd: 0.001,
    model: 'gpt-4o',
    ...over
  };
}

describe('trend tests', () => {
  it('find the slope of a line through an outlier', () => {
    const y = [10, 12, 14, 16, 500, 20, 22];
    expect(theilSen(y)?.slope).toBe(2);
  });

  it('see a monotonic rise as significant and a shuffle as not', () => {
    expect(mannKendall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])!.pValue).toBeLessThan(0.001);
    expect(mannKendall([5, 1, 9, 3, 7, 2, 8, 4, 10, 6])!.pValue).toBeGreaterThan(0.3);
  });

  it('ignore a steady but tiny drift (below the minimum effect size)', () => {
    const y = Array.from({ length: 20 }, (_, i) => 1000 + i);
    const t = trend(y);
    expect(t.pValue).toBeLessThan(0.05);
    expect(t.rising).toBe(false);
  });
});

describe('conversation health', () => {
  it('flags rising latency as degradation and recommends starting fresh', () => {
    const noise = rng(7);
    const calls = Array.from({ length: 15 }, (_, i) => call(i, { latencyMs: 800 + i * 120 + (noise() - 0.5) * 300 }));
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.latency.rising).toBe(true);
    expect(h.reasons.join(' ')).toMatch(/latency rising/);
    expect(h.recommendations.join(' ')).toMatch(/consider starting fresh/);
    expect(h.score).toBeLessThan(80);
  });

  it('does not flag noisy but flat latency', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const noise = rng(seed);
      // ±60 % noise around 1 s, with a few big spikes.
      const calls = Array.from({ length: 25 }, (_, i) => call(i, { latencyMs: 1000 * (0.4 + noise() * 1.2) + (i % 9 === 4 ? 4000 : 0) }));
      const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
      expect(h.latency.rising, `seed ${seed}`).toBe(false);
      expect(h.recommendations).not.toContain('this conversation is degrading: consider starting fresh');
    }
  });

  it('predicts the messages left for a conversation growing toward its window, and offers the summary', () => {
    // 128K window; each exchange adds 8K tokens of prompt; the last call used 110K + 1K.
    const calls = Array.from({ length: 12 }, (_, i) =>
      call(i, { tokens: { inputTokens: 22_000 + i * 8_000, outputTokens: 1_000, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } })
    );
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.context.usedTokens).toBe(111_000);
    expect(h.context.growthPerMessage).toBe(8_000);
    expect(h.context.messagesLeft).toBe(2); // floor((128000 - 111000) / 8000)
    expect(h.context.text).toBe('111K of 128K used — about 2 messages left');
    expect(h.recommendations).toContain('about 2 messages left before the context window is full: carry the summary into a fresh conversation');
    expect(h.score).toBeLessThan(80);
  });

  it('says the context is 90 % full and that a summary is ready', () => {
    const calls = [call(0, { tokens: { inputTokens: 100_000, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } }), call(1, { tokens: { inputTokens: 116_000, outputTokens: 1_000, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } })];
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.recommendations[0]).toBe('context 91 % full: a summary is ready to transfer');
    const off = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: false });
    expect(off.recommendations[0]).toMatch(/content capture is off/);
  });

  it('scores a short healthy conversation high with no recommendation', () => {
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls: [call(0), call(1), call(2)], contextWindow: 128_000, hasContent: true });
    expect(h.score).toBe(100);
    expect(h.status).toBe('healthy');
    expect(h.recommendations).toEqual([]);
  });

  it('flags cost per message growing', () => {
    const calls = Array.from({ length: 10 }, (_, i) => call(i, { costUsd: 0.01 * (1 + i * 0.3) }));
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: null, hasContent: true });
    expect(h.costPerMessage.rising).toBe(true);
    expect(h.context.text).toMatch(/window unknown/);
  });

  it('reports no forecast before any tokens are known', () => {
    expect(contextForecast([call(0, { tokens: null })], 1000).messagesLeft).toBeNull();
  });
});

describe('degradation that means something', () => {
  const gpt4o = { provider: 'openai' as const, input: 2.5, output: 10, cachedInput: 1.25, cacheWrite: null, contextWindow: 128_000, maxOutput: 16_384 };
  const tokens = (input: number, output = 500) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });

  it('flags a 13× latency rise over 5 calls at once, and calls it degrading', () => {
    const calls = [800, 2100, 4000, 7500, 10_400].map((ms, i) => call(i, { latencyMs: ms }));
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.latency.rising).toBe(true);
    expect(h.status).toBe('degrading');
    expect(h.reasons.join(' ')).toMatch(/latency rising: 1\d× over 5 messages/);
  });

  it('calls an 8× rise degrading, not "watch"', () => {
    const calls = [1000, 2600, 4300, 6100, 8000].map((ms, i) => call(i, { latencyMs: ms }));
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.latency.rising).toBe(true);
    expect(h.status).toBe('degrading');
    expect(h.recommendations).toContain('this conversation is degrading: consider starting fresh');
  });

  it('does not flag 4 or 5 noisy calls without a strong, steady rise', () => {
    for (const series of [[1000, 900, 2500, 3100], [1200, 700, 1900, 900, 1500], [1000, 1000, 1000, 9000]]) {
      const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls: series.map((ms, i) => call(i, { latencyMs: ms })), contextWindow: 128_000, hasContent: true });
      expect(h.latency.rising, series.join(',')).toBe(false);
    }
  });

  it('keeps the status word in step with the score', () => {
    for (const ms of [[1000, 1100, 1200, 1300, 1400, 1500, 1600], [1000, 2000, 3000, 4000], [500, 5000, 9000, 14_000, 20_000, 26_000]]) {
      const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls: ms.map((m, i) => call(i, { latencyMs: m })), contextWindow: 128_000, hasContent: true });
      expect(h.status).toBe(h.score >= 80 ? 'healthy' : h.score >= 55 ? 'watch' : 'degrading');
    }
  });

  it('turns cost growing with the context into advice with numbers, not a degradation verdict', () => {
    // Flat latency; the prompt grows 11K per exchange up to 101K (gpt-4o, $2.50 in / $10 out).
    const calls = Array.from({ length: 10 }, (_, i) => {
      const t = tokens(2_000 + i * 11_000);
      return call(i, { latencyMs: 1000 + (i % 2) * 50, tokens: t, costUsd: (t.inputTokens * 2.5 + t.outputTokens * 10) / 1e6 });
    });
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true, price: gpt4oPrice() });
    expect(h.costPerMessage.rising).toBe(true);
    expect(h.latency.rising).toBe(false);
    expect(h.reasons.join(' ')).not.toMatch(/cost per message rising/);
    expect(h.recommendations.join(' ')).not.toMatch(/degrading/);
    // Last call: 101,000 × $2.50 + 500 × $10 = $0.2575; fresh: (800 summary + 11,000 growth) × $2.50 + 500 × $10 = $0.0345.
    expect(h.recommendations).toContain('each message now costs $0.26 because the context is 101K; a fresh conversation with the summary would cost about $0.035');
  });

  it('never says "about 0 messages left"', () => {
    const calls = [call(0, { tokens: tokens(60_000) }), call(1, { tokens: tokens(94_000) }), call(2, { tokens: tokens(127_000, 900) })];
    const h = conversationHealth({ conversationId: 'c', provider: 'openai', calls, contextWindow: 128_000, hasContent: true });
    expect(h.context.messagesLeft).toBe(0);
    expect(JSON.stringify(h)).not.toMatch(/about 0 message/);
    expect(h.recommendations.join(' ')).toMatch(/next message may not fit/);
  });

  function gpt4oPrice() {
    return gpt4o;
  }
});

