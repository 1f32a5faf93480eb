// What bench/summary.mjs bundles (esbuild) and runs: the summary, the evaluations and the baselines.
export { summarizeConversation, estimateTokens } from '../../src/core/llm/summary';
export { loadLocomo, retention, pct, toMessages, conversationTokens, CATEGORIES, TUNED_ON } from './locomo';
export { loadWorking, probe } from './working';
export { truncation, centroid } from './baselines';
