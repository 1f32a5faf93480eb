import { isoWeekKey, utcDayKey, utcDayStart } from '../../shared/costBuckets';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  BudgetLimits,
  BudgetsResponse,
  LLM_COST_CHART_DAYS,
  LLM_MAX_EVENTS_PER_BATCH,
  ConversationHealth,
  LlmCallsQuery,
  LlmCallsResponse,
  LlmConversationsResponse,
  LlmCostQuery,
  LlmCostResponse,
  LlmEventsBody,
  LlmEventsResponse,
  LlmPricingResponse,
  LlmSummaryResponse,
  LlmTranscriptResponse,
  LlmUsageResponse,
  PricingImportBody,
  PricingUpdateBody,
  PricingUpdateResponse,
  SummaryQuery,
  type CostBucket,
  type LlmCallEvent,
  type LlmMessage,
  type LlmProvider,
  type PriceEntry
} from '../../shared/llm-api';
import { ConversationIndex } from '../../core/llm/fingerprint';
import { conversationHealth } from '../../core/llm/health';
import { contextWindowFor, groundingCost, lookupPrice, usageCost, type PricingTable } from '../../core/llm/pricing';
import { summarizeConversation } from '../../core/llm/summary';
import { readUsage, ZERO_TOKENS } from '../../core/llm/usage';
import type { SidecarContext } from '../core/context';
import { ApiError } from '../core/errors';
import { writePrivateFile } from '../core/discovery';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import { LlmStore, reportedModel as modelOf, type BucketTotals, type StoredCall } from '../store/llmStore';
import { Budgets } from './budget';
import { transferRoutes } from './transfer';
import { untrackedCalls } from './untracked';
import { lostCallsTracker } from './lostCalls';
import { buildTable, fetchLiteLLM, readOverrides } from './pricingConfig';
import { describePricingUpdate, pricingUpdateSource, readPricingUpdate, updatePricing } from './pricingUpdate';

export const LLM_DB_FILE = 'llm.sqlite';
/** Conversation identity index kept across restarts (written at a clean stop, 0600). */
export const IDENTITY_FILE = 'llm-identity.json';
const DAY_MS = 86_400_000;
/** Calls of a conversation its health is computed from: the latest ones, read by index (totals come from the aggregates). */
export const HEALTH_WINDOW = 64;
/** Raw call rows older than this many days are deleted (totals are kept); `VIGILO_LLM_RETENTION_DAYS`, 0 keeps them forever. */
export const DEFAULT_RETENTION_DAYS = 90;
const PRUNE_CHUNK = 2000;
/** Rows written per group commit at most: one full batch (a few ms of work), so a commit never holds the event loop long. */
const GROUP_ROWS = LLM_MAX_EVENTS_PER_BATCH;
/** Conversations whose health GET /llm/conversations computes per turn of the event loop. */
const LIST_SLICE = 10;
const PRUNE_INTERVAL_MS = 3_600_000;
/** Free pages (4 KiB) given back to the disk per turn of the event loop after a retention pass. */
const VACUUM_PAGES = 1024;

/** Price one event against the table: null cost for an unknown model, never $0. */
export function priceEvent(table: PricingTable, event: LlmCallEvent): Pick<StoredCall, 'tokens' | 'pricedModel' | 'costUsd'> {
  const usage = readUsage(event.provider, event.usage, event.usageEvents);
  const tokens = usage?.tokens ?? null;
  const price = lookupPrice(table, event.provider, event.responseModel) ?? lookupPrice(table, event.provider, event.requestModel);
  let costUsd: number | null = null;
  if (price && usage) {
    costUsd =
      usageCost(price.entry, usage, contextWindowFor(price.entry, event.betas, price.key)) +
      groundingCost(price.entry, event.groundingQueries, table.googleSearchGrounding);
  } else if (price && event.status === 'error') {
    // A refused call (429, 500) without usage is not billed.
    costUsd = 0;
  }
  return { tokens, pricedModel: price?.key ?? null, costUsd };
}

/** Unknown-model warnings from `run_unpriced` / `day_unpriced` totals (several days of one model add up). */
function unknownModelWarnings(unpriced: BucketTotals[]) {
  const groups = new Map<string, { provider: LlmProvider; model: string; calls: number }>();
  for (const u of unpriced) {
    const g = groups.get(u.bucket) ?? { ...LlmStore.unpricedBucket(u.bucket), calls: 0 };
    g.calls += u.calls;
    groups.set(u.bucket, g);
  }
  return [...groups.values()].map(g => ({
    ...g,
    message: `No price for ${g.provider} model "${g.model}": its ${g.calls} call${g.calls === 1 ? '' : 's'} have unknown cost. Add it to <dataDir>/pricing.json or import a LiteLLM price file (POST /llm/pricing/import).`
  }));
}

/** Cost buckets from per-day totals, regrouped under `keyOf` (day, ISO week, provider, model). */
function buckets(totals: BucketTotals[], keyOf: (t: BucketTotals) => string): CostBucket[] {
  const map = new Map<string, CostBucket>();
  for (const t of totals) {
    const key = keyOf(t);
    const b = map.get(key) ?? { key, calls: 0, costUsd: null, unpricedCalls: 0, inputTokens: 0, outputTokens: 0 };
    b.calls += t.calls;
    b.unpricedCalls += t.calls - t.pricedCalls;
    if (t.pricedCalls > 0) {
      // Stays null while only unknown models were seen: an unpriced bucket is not a $0 bucket.
      b.costUsd = (b.costUsd ?? 0) + t.costUsd;
    }
    b.inputTokens += t.tokens.inputTokens;
    b.outputTokens += t.tokens.outputTokens;
    map.set(key, b);
  }
  return [...map.values()];
}

/** The whole conversation as its latest captured call saw it: its messages plus its answer. */
export function conversationTranscript(call: StoredCall | null): LlmMessage[] | null {
  if (!call?.messages || call.messages.length === 0) {
    return null;
  }
  return call.output ? [...call.messages, { role: 'assistant', content: call.output }] : call.messages;
}

/** `VIGILO_LLM_RETENTION_DAYS`: whole days ≥ 0 (0 keeps raw calls forever); anything else falls back to the default, said in the log. */
export function retentionSetting(raw: string | undefined, log: (line: string) => void): number {
  if (raw === undefined || raw.trim() === '') {
    return DEFAULT_RETENTION_DAYS;
  }
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0) {
    log(`llm: VIGILO_LLM_RETENTION_DAYS=${raw} ignored (whole days, 0 = keep forever); keeping ${DEFAULT_RETENTION_DAYS} days`);
    return DEFAULT_RETENTION_DAYS;
  }
  return days;
}

export interface LlmModuleOptions {
  /** Tests pass a fetch-free table; default: shipped + overrides in the data dir. */
  table?: PricingTable;
}

/** POST /llm/events and every /llm/* read: history in SQLite, pricing, health, budgets. */
export function llmModule(ctx: SidecarContext, options: LlmModuleOptions = {}): SidecarModule {
  const runId = `${ctx.startedAtMs.toString(36)}-${randomBytes(4).toString('hex')}`;
  const untracked = untrackedCalls(ctx);
  const lost = lostCallsTracker(ctx);
  let store: LlmStore | null = null;
  let budgets: Budgets | null = null;
  // A kept `vigilo pricing update` (<dataDir>/pricing-update.json) is the import layer from the start.
  const kept = options.table ? { update: null, warning: null } : readPricingUpdate(ctx.config.dataDir);
  let imported: { from: string; models: Record<string, PriceEntry>; at?: string } | null = kept.update ? { from: kept.update.from, models: kept.update.models, at: kept.update.fetchedAt } : null;
  let table: PricingTable = options.table ?? buildTable(ctx.config.dataDir, imported, kept.warning ? [kept.warning] : []);

  const db = (): LlmStore => {
    if (!store) {
      store = new LlmStore(join(ctx.config.dataDir, LLM_DB_FILE));
    }
    return store;
  };
  const retentionDays = retentionSetting(ctx.config.env.VIGILO_LLM_RETENTION_DAYS, ctx.log);
  let pruneTimer: NodeJS.Timeout | null = null;
  /** Delete raw rows past the retention period in small steps, yielding to the event loop between them. */
  const pruneOld = async (): Promise<void> => {
    if (retentionDays === 0) {
      return;
    }
    const before = ctx.clock.now() - retentionDays * DAY_MS;
    let deleted = 0;
    for (let i = 0; i < 10_000 && store; i++) {
      const n = store.prune(before, PRUNE_CHUNK);
      deleted += n;
      if (n < PRUNE_CHUNK) {
        break;
      }
      await new Promise(resolve => setImmediate(resolve));
    }
    // The space the deleted rows held goes back to the disk, a few MB per turn of the event loop.
    for (let i = 0; deleted > 0 && i < 100_000 && store; i++) {
      if (store.giveBackSpace(VACUUM_PAGES) < VACUUM_PAGES) {
        return;
      }
      await new Promise(resolve => setImmediate(resolve));
    }
  };
  const budget = (): Budgets => {
    if (!budgets) {
      budgets = new Budgets({ dataDir: ctx.config.dataDir, store: db(), alerts: ctx.alerts, clock: ctx.clock, runId });
    }
    return budgets;
  };

  /** One conversation's totals, or the API's not_found naming it. */
  const conversationTotals = (key: string) => {
    const totals = db().conversation(key);
    if (!totals) {
      throw new ApiError('not_found', `No LLM calls recorded for conversation "${key}"; GET /llm/conversations lists them.`);
    }
    return totals;
  };
  const transcriptOf = (key: string): LlmMessage[] | null => {
    const { contentCallId } = conversationTotals(key);
    return contentCallId === null ? null : conversationTranscript(db().call(contentCallId));
  };

  /** Health per conversation, reused until the conversation gets a call or the pricing table changes. */
  const healthCache = new Map<string, { calls: number; lastMs: number; table: PricingTable; health: ConversationHealth }>();
  const healthOf = (key: string): ConversationHealth => {
    const totals = conversationTotals(key);
    const cached = healthCache.get(key);
    if (cached && cached.calls === totals.calls && cached.lastMs === totals.lastMs && cached.table === table) {
      return cached.health;
    }
    // The latest HEALTH_WINDOW calls feed the trends and the context forecast;
    // the conversation's own totals (count, first call, cost) come from the aggregates.
    const calls = db().healthWindow(key, HEALTH_WINDOW).reverse();
    if (calls.length === 0) {
      throw new ApiError('not_found', `The calls of conversation "${key}" were deleted by the retention setting; only its totals remain.`);
    }
    const last = calls[calls.length - 1];
    const price = lookupPrice(table, last.provider, modelOf(last));
    const windowed = conversationHealth({
      conversationId: key,
      provider: last.provider,
      calls: calls.map(c => ({
        startedAtMs: c.startedAtMs,
        latencyMs: c.latencyMs,
        ttftMs: c.ttftMs,
        status: c.status,
        tokens: c.tokens,
        costUsd: c.costUsd,
        model: modelOf(c)
      })),
      contextWindow: price ? contextWindowFor(price.entry, identity.tip(key)?.betas, price.key) : null,
      price: price?.entry ?? null,
      hasContent: totals.contentCallId !== null
    });
    const parent = identity.tip(key)?.parent ?? null;
    const health: ConversationHealth = {
      ...windowed,
      parent: parent ? { conversationId: parent.key, sharedMessages: parent.sharedMessages } : null,
      calls: totals.calls,
      firstAt: new Date(totals.firstMs).toISOString(),
      costUsd: totals.pricedCalls > 0 ? totals.costUsd : null
    };
    if (healthCache.size >= 1000) {
      healthCache.clear();
    }
    healthCache.set(key, { calls: totals.calls, lastMs: totals.lastMs, table, health });
    return health;
  };

  /** Health, or null for a conversation whose calls the retention setting deleted (its totals remain). */
  const healthOrPruned = (key: string): ConversationHealth | null => {
    try {
      return healthOf(key);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') {
        return null;
      }
      throw error;
    }
  };

  /**
   * The health of the 100 most recent conversations, a few per turn of the
   * event loop, so a list whose conversations all just changed never holds the
   * loop for long. Also run once after start to fill the cache.
   */
  const listHealth = async (): Promise<ConversationHealth[]> => {
    const listed = db().conversations(100);
    const conversations: ConversationHealth[] = [];
    for (let i = 0; i < listed.length; i += LIST_SLICE) {
      if (i > 0) {
        await new Promise(resolve => setImmediate(resolve));
        if (!store) {
          break; // the module stopped meanwhile
        }
      }
      for (const c of listed.slice(i, i + LIST_SLICE)) {
        const health = healthOrPruned(c.key);
        if (health) {
          conversations.push(health);
        }
      }
    }
    return conversations;
  };

  /** Which conversation each call belongs to (src/core/llm/fingerprint.ts), kept for this run, bounded. */
  const identityFile = join(ctx.config.dataDir, IDENTITY_FILE);
  let identity = new ConversationIndex();
  const conversationOf = (event: LlmCallEvent): string | null => {
    const call = {
      id: event.id,
      provider: event.provider,
      conversationId: event.conversationId,
      fingerprint: event.fingerprint,
      chain: event.chain ?? null,
      replyHash: event.replyHash ?? null,
      model: event.responseModel ?? event.requestModel,
      status: event.status,
      betas: event.betas ?? []
    };
    // A retried batch: the index remembers recent call ids, so a call keeps the conversation it was given.
    const decision = identity.decide(call);
    if (decision.key) {
      identity.record(decision.key, call, decision);
    }
    return decision.key;
  };

  const ingest = (events: LlmCallEvent[]) => {
    const rows: StoredCall[] = events.map(event => ({
      id: event.id,
      runId,
      provider: event.provider,
      operation: event.operation,
      requestModel: event.requestModel,
      responseModel: event.responseModel,
      startedAtMs: Date.parse(event.startedAt),
      ttftMs: event.ttftMs,
      latencyMs: event.latencyMs,
      stream: event.stream,
      status: event.status,
      errorClass: event.error?.class ?? null,
      httpStatus: event.error?.httpStatus ?? null,
      usageEstimated: event.usageEstimated,
      conversationKey: conversationOf(event),
      fingerprint: event.fingerprint,
      tags: event.tags,
      messages: event.messages,
      output: event.output,
      sdk: `${event.sdk.language}:${event.sdk.name}@${event.sdk.version ?? '?'}`,
      ...priceEvent(table, event)
    }));
    return new Promise<z.infer<typeof LlmEventsResponse>>((resolve, reject) => {
      pending.push({ rows, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  };

  /**
   * Group commit: the requests that arrived in the same turn of the event
   * loop are written in one transaction (up to GROUP_ROWS rows; the rest in
   * the next turn), and each is answered only after that commit, so an
   * acknowledged event is on disk. Budgets are evaluated once per commit.
   */
  type Pending = { rows: StoredCall[]; resolve: (r: z.infer<typeof LlmEventsResponse>) => void; reject: (e: unknown) => void };
  let pending: Pending[] = [];
  let flushScheduled = false;
  const flush = (): void => {
    if (pending.length === 0) {
      flushScheduled = false;
      return;
    }
    let take = 0;
    for (let rows = 0; take < pending.length && (take === 0 || rows + pending[take].rows.length <= GROUP_ROWS); take++) {
      rows += pending[take].rows.length;
    }
    const group = pending.slice(0, take);
    pending = pending.slice(take);
    flushScheduled = pending.length > 0;
    if (flushScheduled) {
      setImmediate(flush);
    }
    let results: Array<{ inserted: number; duplicates: number }>;
    try {
      results = db().insertGroups(group.map(g => g.rows));
    } catch (error) {
      for (const g of group) {
        g.reject(error);
      }
      return;
    }
    const touched = [...new Set(group.flatMap(g => g.rows.map(r => r.conversationKey)).filter((k): k is string => !!k))];
    const spent = budget().evaluate(touched);
    const state = budget().state(spent);
    group.forEach(({ rows, resolve }, i) => {
      const result = results[i];
      if (result.inserted > 0) {
        ctx.bus.publish('llm', {
          type: 'calls',
          accepted: result.inserted,
          conversations: [...new Set(rows.map(r => r.conversationKey).filter((k): k is string => !!k))],
          calls: rows.map(r => ({ id: r.id, provider: r.provider, model: modelOf(r), costUsd: r.costUsd, conversationId: r.conversationKey, status: r.status })),
          // The stored rows for in-process listeners (the OTLP export); a symbol key, so never sent on /events.
          [Symbol.for('vigilo.storedCalls')]: rows
        });
      }
      resolve({ accepted: result.inserted, duplicates: result.duplicates, budget: state });
    });
  };

  const pricingView = () => ({ date: table.date, source: table.source, models: table.models, overrides: table.overrides, imported: table.imported, warnings: table.warnings, ...(table.litellm ? { litellm: table.litellm } : {}), googleSearchGrounding: table.googleSearchGrounding ?? 'free' });
  const budgetsView = () => {
    const spent = budget().spent();
    return { limits: budget().current, spent, state: budget().state(spent), file: budget().file };
  };

  /** Use `next` as the import layer from now on, and tell the panel. */
  const useImported = (next: NonNullable<typeof imported>): void => {
    imported = next;
    table = buildTable(ctx.config.dataDir, imported);
    ctx.bus.publish('llm', { type: 'pricing', imported: table.imported });
  };

  const importPricing = async (from: string): Promise<void> => {
    useImported({ from, models: await fetchLiteLLM(from) });
  };

  const routes = [
    jsonRoute({
      method: 'post',
      path: '/llm/events',
      summary: 'Ingest a batch of LLM call events (at most 500). Duplicate ids are ignored, so retries are safe. Answers the budget state.',
      tags: ['llm'],
      body: LlmEventsBody,
      response: LlmEventsResponse,
      // One request per tracked call: no Express on this path (core/directJson.ts).
      direct: true,
      handler: ({ body }) => {
        if (body.client) {
          lost.noteClient(body.client);
        }
        return ingest(body.events);
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/usage',
      summary: "This session's LLM usage: calls, tokens (input, output, cached), cost, unknown-model warnings, calls that passed untracked, and calls the clients lost (dropped past their buffer bound).",
      tags: ['llm'],
      response: LlmUsageResponse,
      handler: (): z.infer<typeof LlmUsageResponse> => {
        const store = db();
        const run = store.totals('run', runId);
        return {
          since: new Date(ctx.startedAtMs).toISOString(),
          calls: run?.calls ?? 0,
          errors: run?.errors ?? 0,
          tokens: run ? { ...run.tokens } : { ...ZERO_TOKENS },
          costUsd: run && run.pricedCalls > 0 ? run.costUsd : null,
          unpricedCalls: run ? run.calls - run.pricedCalls : 0,
          estimatedCalls: run?.estimatedCalls ?? 0,
          byProvider: store.buckets('run_provider', runId).map(p => ({ provider: p.bucket as LlmProvider, calls: p.calls, costUsd: p.pricedCalls > 0 ? p.costUsd : null })),
          warnings: unknownModelWarnings(store.buckets('run_unpriced', runId)),
          untracked: untracked.view(),
          lost: lost.view()
        };
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/calls',
      summary: 'The most recent calls (newest first), each with tokens, cost, latency, time to first token, context used and status. Message content is never included.',
      tags: ['llm'],
      query: LlmCallsQuery,
      response: LlmCallsResponse,
      handler: ({ query }) => ({
        calls: db()
          .recent(query.limit, query.conversationId)
          .map(c => {
            const hit = lookupPrice(table, c.provider, modelOf(c));
            const window = hit ? contextWindowFor(hit.entry, c.conversationKey ? identity.tip(c.conversationKey)?.betas : null, hit.key) : null;
            return {
              id: c.id,
              provider: c.provider,
              operation: c.operation,
              model: modelOf(c),
              pricedModel: c.pricedModel,
              startedAt: new Date(c.startedAtMs).toISOString(),
              ttftMs: c.ttftMs,
              latencyMs: c.latencyMs,
              stream: c.stream,
              status: c.status,
              errorClass: c.errorClass,
              httpStatus: c.httpStatus,
              tokens: c.tokens,
              usageEstimated: c.usageEstimated,
              costUsd: c.costUsd,
              contextPercent: window && c.tokens ? Math.min(100, ((c.tokens.inputTokens + c.tokens.outputTokens) / window) * 100) : null,
              conversationId: c.conversationKey,
              tags: c.tags,
              sdk: c.sdk
            };
          })
      })
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/cost',
      summary: 'Cost over the last `days` days (default 30): by UTC day, ISO week, provider and model, from the stored history.',
      tags: ['llm'],
      query: LlmCostQuery,
      response: LlmCostResponse,
      handler: ({ query }): z.infer<typeof LlmCostResponse> => {
        const now = ctx.clock.now();
        const since = utcDayStart(now) - (query.days - 1) * DAY_MS;
        const sinceDay = utcDayKey(since);
        const store = db();
        const days = store.daysSince('day', sinceDay);
        const byKey = (a: CostBucket, b: CostBucket) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
        const byCost = (a: CostBucket, b: CostBucket) => (b.costUsd ?? -1) - (a.costUsd ?? -1) || byKey(a, b);
        const calls = days.reduce((a, d) => a + d.calls, 0);
        const priced = days.reduce((a, d) => a + d.pricedCalls, 0);
        const perProvider = store.daysSince('day_provider', sinceDay);
        // The chart's days: a range on the (dim, key, bucket) primary key, at most 14 days × 3 providers.
        const chartDay = utcDayKey(utcDayStart(now) - (Math.min(query.days, LLM_COST_CHART_DAYS) - 1) * DAY_MS);
        const byDayProvider = perProvider
          .filter(t => t.key >= chartDay)
          .map(t => ({ ...buckets([t], d => d.key)[0], provider: t.bucket as LlmProvider }))
          .sort((a, b) => byKey(a, b) || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
        return {
          days: query.days,
          byDay: buckets(days, d => d.key).sort(byKey),
          byWeek: buckets(days, d => isoWeekKey(Date.parse(d.key))).sort(byKey),
          byProvider: buckets(perProvider, d => d.bucket).sort(byCost),
          byModel: buckets(store.daysSince('day_model', sinceDay), d => d.bucket).sort(byCost),
          byDayProvider,
          totalUsd: calls > 0 && priced === 0 ? null : days.reduce((a, d) => a + d.costUsd, 0),
          unpricedCalls: calls - priced,
          warnings: unknownModelWarnings(store.daysSince('day_unpriced', sinceDay))
        };
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/conversations',
      summary: 'Tracked conversations (most recent first, at most 100) with their health scores.',
      tags: ['llm'],
      response: LlmConversationsResponse,
      handler: async () => ({ conversations: await listHealth() })
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/health/:conversationId',
      summary: 'Health of one conversation: context used and messages left, latency and cost trends, score, reasons, recommendations.',
      tags: ['llm'],
      params: z.object({ conversationId: z.string().min(1).max(256) }),
      response: ConversationHealth,
      handler: ({ params }) => healthOf(params.conversationId)
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/conversations/:conversationId/summary',
      summary: 'A summary of the conversation (task, decisions, facts, preferences) within budgetTokens, to paste as the system message of a fresh conversation. Deterministic and offline.',
      tags: ['llm'],
      params: z.object({ conversationId: z.string().min(1).max(256) }),
      query: SummaryQuery,
      response: LlmSummaryResponse,
      handler: ({ params, query }) =>
        summarizeConversation({ conversationId: params.conversationId, messages: transcriptOf(params.conversationId), budgetTokens: query.budgetTokens })
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/conversations/:conversationId/messages',
      summary: "The conversation's captured messages (local only; null when content capture was off), for a summary written by the user's own model.",
      tags: ['llm'],
      params: z.object({ conversationId: z.string().min(1).max(256) }),
      response: LlmTranscriptResponse,
      handler: ({ params }) => ({ conversationId: params.conversationId, messages: transcriptOf(params.conversationId) })
    }),
    ...transferRoutes({
      dataDir: ctx.config.dataDir,
      clock: ctx.clock,
      transcriptOf,
      health: healthOf,
      inputUsdPerToken: (provider, model) => {
        const price = lookupPrice(table, provider, model);
        return price ? price.entry.input / 1e6 : null;
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/pricing',
      summary: 'The pricing table in use (USD per 1M tokens), the date it was taken, user overrides, imports and warnings.',
      tags: ['llm'],
      response: LlmPricingResponse,
      handler: pricingView
    }),
    jsonRoute({
      method: 'post',
      path: '/llm/pricing/import',
      summary: "Import a LiteLLM model_prices_and_context_window.json (file path or http(s) URL) over the shipped table; <dataDir>/pricing.json overrides still win.",
      tags: ['llm'],
      body: PricingImportBody,
      response: LlmPricingResponse,
      handler: async ({ body }) => {
        try {
          await importPricing(body.from);
        } catch (error) {
          // A refused source keeps its own code (400 bad source, 413 too large, 502/504 upstream).
          throw new ApiError(error instanceof ApiError ? error.code : 'invalid_request', `Could not import prices from ${body.from}: ${(error as Error).message}`);
        }
        return pricingView();
      }
    }),
    jsonRoute({
      method: 'post',
      path: '/llm/pricing/update',
      summary:
        "Fetch the current LiteLLM price file (default https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json, or `from`), validate it, use it from now on (kept in <dataDir>/pricing-update.json) and say what changed. On any failure the previous prices stay.",
      tags: ['llm'],
      body: PricingUpdateBody,
      response: PricingUpdateResponse,
      handler: async ({ body }) => {
        const from = pricingUpdateSource(body.from, ctx.config.env);
        let done;
        try {
          done = await updatePricing(ctx.config.dataDir, from, table.models, new Date(ctx.clock.now()));
        } catch (error) {
          throw new ApiError(error instanceof ApiError ? error.code : 'storage_failed', `Prices not updated (the previous ones are kept): ${(error as Error).message}`);
        }
        useImported({ from, models: done.update.models, at: done.update.fetchedAt });
        return { ...done.result, summary: describePricingUpdate(done.result) };
      }
    }),
    jsonRoute({
      method: 'get',
      path: '/llm/budgets',
      summary: 'Spend budgets (session, UTC day, conversation; USD), what was spent, and the hard-stop state.',
      tags: ['llm'],
      response: BudgetsResponse,
      handler: budgetsView
    }),
    jsonRoute({
      method: 'put',
      path: '/llm/budgets',
      summary: 'Replace the spend budgets (persisted to <dataDir>/budgets.json). Alerts fire at 50, 80 and 100 %; hardStop (off by default) makes clients that enabled it refuse calls once a session or day budget is spent.',
      tags: ['llm'],
      body: BudgetLimits,
      response: BudgetsResponse,
      handler: ({ body }) => {
        budget().set(body);
        return budgetsView();
      }
    })
  ];

  return {
    name: 'llm',
    routes,
    start() {
      db();
      budget();
      // Conversation identity kept from the last clean stop, so a chat continues under its id.
      try {
        if (existsSync(identityFile)) {
          identity = ConversationIndex.fromJSON(JSON.parse(readFileSync(identityFile, 'utf8')));
        }
      } catch (error) {
        ctx.log(`llm: ${identityFile} ignored: ${(error as Error).message}`);
      }
      const prune = () => void pruneOld().catch(error => ctx.log(`llm: pruning old calls failed: ${(error as Error).message}`));
      prune();
      pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
      pruneTimer.unref();
      // Warm the health cache in the background, so the panel's first list is not computed cold.
      setImmediate(() => store && void listHealth().catch(error => ctx.log(`llm: computing conversation health failed: ${(error as Error).message}`)));
      for (const w of budget().warnings) {
        ctx.log(w);
      }
      const source = readOverrides(ctx.config.dataDir).overrides?.litellm;
      if (source && !options.table) {
        // A slow or failing price source never delays or breaks the start.
        void importPricing(source).catch(error => {
          table = buildTable(ctx.config.dataDir, imported, [`LiteLLM import from ${source} failed: ${(error as Error).message}`]);
          ctx.log(`llm: LiteLLM import from ${source} failed: ${(error as Error).message}`);
        });
      }
    },
    stop() {
      untracked.stop();
      lost.stop();
      // Requests already received are written before the store closes.
      while (pending.length > 0) {
        flush();
      }
      if (pruneTimer) {
        clearInterval(pruneTimer);
        pruneTimer = null;
      }
      if (identity.size > 0) {
        try {
          writePrivateFile(identityFile, JSON.stringify(identity));
        } catch (error) {
          ctx.log(`llm: could not keep conversation identity in ${identityFile}: ${(error as Error).message}`);
        }
      }
      store?.close();
      store = null;
      budgets = null;
    }
  };
}
