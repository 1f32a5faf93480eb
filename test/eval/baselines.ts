import { estimateTokens, sentences, type SummaryMessage } from '../../src/core/llm/summary';

/**
 * The baselines a context-transfer summary is compared with, each given the
 * same token budget (ceil(chars / 4)):
 * - truncation: the last turns, verbatim, as many as fit;
 * - centroid: the classic extractive summary (Radev et al., "Centroid-based
 *   summarization of multiple documents", 2004): sentences scored by the cosine
 *   of their TF-IDF vector with the conversation's centroid, taken best first
 *   while they fit, shown in conversation order. No filtering, no dates.
 */

const line = (m: SummaryMessage) => `${m.speaker ?? m.role}: ${m.content}`;

export function truncation(messages: SummaryMessage[], budgetTokens: number): string {
  const kept: string[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const l = line(messages[i]);
    const cost = estimateTokens(l) + 1;
    if (used + cost > budgetTokens) {
      break;
    }
    kept.unshift(l);
    used += cost;
  }
  return kept.join('\n');
}

const tokenise = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];

export function centroid(messages: SummaryMessage[], budgetTokens: number): string {
  const units = messages.flatMap(m => sentences(m.content).map(s => `${m.speaker ?? m.role}: ${s}`));
  const tf = units.map(u => {
    const counts = new Map<string, number>();
    for (const w of tokenise(u.slice(u.indexOf(':') + 1))) {
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    return counts;
  });
  const df = new Map<string, number>();
  for (const counts of tf) {
    for (const w of counts.keys()) {
      df.set(w, (df.get(w) ?? 0) + 1);
    }
  }
  const idf = (w: string) => Math.log(units.length / (df.get(w) ?? 1));
  const vectors = tf.map(counts => new Map([...counts].map(([w, c]) => [w, c * idf(w)] as const)));
  const centre = new Map<string, number>();
  for (const v of vectors) {
    for (const [w, x] of v) {
      centre.set(w, (centre.get(w) ?? 0) + x / units.length);
    }
  }
  const norm = (v: Map<string, number>) => Math.sqrt([...v.values()].reduce((a, x) => a + x * x, 0)) || 1;
  const centreNorm = norm(centre);
  const scores = vectors.map(v => {
    let dot = 0;
    for (const [w, x] of v) {
      dot += x * (centre.get(w) ?? 0);
    }
    return dot / (norm(v) * centreNorm);
  });
  const order = units.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const chosen: number[] = [];
  let used = 0;
  for (const i of order) {
    const cost = estimateTokens(units[i]) + 1;
    if (used + cost <= budgetTokens) {
      chosen.push(i);
      used += cost;
    }
  }
  return chosen
    .sort((a, b) => a - b)
    .map(i => units[i])
    .join('\n');
}
