import { utcDayKey } from '../../shared/costBuckets';
import type { LlmCallFacts, LlmMessage, LlmProvider, TokenCounts } from '../../shared/llm-api';
import { ZERO_TOKENS } from '../../core/llm/usage';
import { migrate, openDatabase, type Database, type OpenOptions, type SqlRow, type SqlValue } from './engine';

/** One LLM call as persisted: the call's facts (shared with the OpenTelemetry mapping) plus the store's bookkeeping. */
export interface StoredCall extends LlmCallFacts {
  runId: string;
  fingerprint: string | null;
}

/** Version 1: the raw call table as the first release created it. */
const CALLS_TABLE = `
CREATE TABLE IF NOT EXISTS llm_calls (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  operation TEXT NOT NULL,
  request_model TEXT,
  response_model TEXT,
  priced_model TEXT,
  started_at_ms INTEGER NOT NULL,
  ttft_ms REAL,
  latency_ms REAL NOT NULL,
  stream INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_class TEXT,
  http_status INTEGER,
  has_usage INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  usage_estimated INTEGER NOT NULL,
  cost_usd REAL,
  conversation_key TEXT,
  fingerprint TEXT,
  tags TEXT NOT NULL,
  messages TEXT,
  output TEXT,
  sdk TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_calls_started ON llm_calls(started_at_ms);
CREATE INDEX IF NOT EXISTS llm_calls_conversation ON llm_calls(conversation_key, started_at_ms);
CREATE INDEX IF NOT EXISTS llm_calls_run ON llm_calls(run_id);
`;

/**
 * Version 2: running totals, kept in the same transaction as the rows they
 * count, so every read and every budget check is a lookup instead of a scan.
 * `llm_agg` rows are (dimension, key, bucket) → totals:
 *   run          runId          ''                 this session (/llm/usage, session budget)
 *   run_provider runId          provider
 *   run_unpriced runId          provider \0 model  calls without a price (warnings)
 *   day          YYYY-MM-DD     ''                 UTC day (day budget, /llm/cost byDay/byWeek)
 *   day_provider YYYY-MM-DD     provider
 *   day_model    YYYY-MM-DD     priced or reported model
 *   day_unpriced YYYY-MM-DD     provider \0 model
 * and `llm_conversations` holds one row per conversation (list, budget,
 * totals, the call holding its latest transcript).
 */
const AGGREGATE_TABLES = `
CREATE TABLE IF NOT EXISTS llm_agg (
  dim TEXT NOT NULL,
  key TEXT NOT NULL,
  bucket TEXT NOT NULL,
  calls INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  priced_calls INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  estimated_calls INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  PRIMARY KEY (dim, key, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS llm_conversations (
  key TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  calls INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  priced_calls INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  content_call_id TEXT,
  content_ms INTEGER
);
CREATE INDEX IF NOT EXISTS llm_conversations_last ON llm_conversations(last_ms);
-- Sessions are read from the totals: the per-run index only cost every insert.
DROP INDEX IF EXISTS llm_calls_run;
`;

const COLUMNS = [
  'id', 'run_id', 'provider', 'operation', 'request_model', 'response_model', 'priced_model', 'started_at_ms', 'ttft_ms', 'latency_ms',
  'stream', 'status', 'error_class', 'http_status', 'has_usage', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'usage_estimated', 'cost_usd', 'conversation_key', 'fingerprint', 'tags', 'messages', 'output', 'sdk'
];
/** Every column but the captured content: what lists and health read. */
const FACT_COLUMNS = COLUMNS.filter(c => c !== 'messages' && c !== 'output').join(', ');
/** What a conversation's health reads of each call. */
const HEALTH_COLUMNS =
  'provider, request_model, response_model, started_at_ms, ttft_ms, latency_ms, status, has_usage, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd';
const INSERT_CALL = `INSERT OR IGNORE INTO llm_calls (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

const TOTAL_COLUMNS = [
  'calls', 'errors', 'priced_calls', 'cost_usd', 'estimated_calls', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens'
] as const;
const UPSERT_AGG = `INSERT INTO llm_agg (dim, key, bucket, ${TOTAL_COLUMNS.join(', ')}, first_ms, last_ms)
  VALUES (?, ?, ?, ${TOTAL_COLUMNS.map(() => '?').join(', ')}, ?, ?)
  ON CONFLICT (dim, key, bucket) DO UPDATE SET ${TOTAL_COLUMNS.map(c => `${c} = ${c} + excluded.${c}`).join(', ')},
  first_ms = MIN(first_ms, excluded.first_ms), last_ms = MAX(last_ms, excluded.last_ms)`;
const UPSERT_CONVERSATION = `INSERT INTO llm_conversations (key, provider, calls, errors, priced_calls, cost_usd, first_ms, last_ms, content_call_id, content_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET
  provider = CASE WHEN excluded.last_ms >= last_ms THEN excluded.provider ELSE provider END,
  calls = calls + excluded.calls, errors = errors + excluded.errors, priced_calls = priced_calls + excluded.priced_calls,
  cost_usd = cost_usd + excluded.cost_usd, first_ms = MIN(first_ms, excluded.first_ms), last_ms = MAX(last_ms, excluded.last_ms),
  content_call_id = CASE WHEN excluded.content_ms IS NOT NULL AND (content_ms IS NULL OR excluded.content_ms >= content_ms) THEN excluded.content_call_id ELSE content_call_id END,
  content_ms = CASE WHEN excluded.content_ms IS NOT NULL AND (content_ms IS NULL OR excluded.content_ms >= content_ms) THEN excluded.content_ms ELSE content_ms END`;

/**
 * Every query a request runs against the history. Each is a primary-key or
 * index lookup, or an index-ordered scan cut by LIMIT: none reads the whole
 * table (llmStore.spec.ts checks their query plans).
 */
/** Ids per `callsById` statement. */
export const CALLS_PER_READ = 64;

export const LLM_QUERIES = {
  recent: `SELECT ${FACT_COLUMNS} FROM llm_calls ORDER BY started_at_ms DESC, rowid DESC LIMIT ?`,
  recentOfConversation: `SELECT ${FACT_COLUMNS} FROM llm_calls WHERE conversation_key = ? ORDER BY started_at_ms DESC, rowid DESC LIMIT ?`,
  healthWindow: `SELECT ${HEALTH_COLUMNS} FROM llm_calls WHERE conversation_key = ? ORDER BY started_at_ms DESC, rowid DESC LIMIT ?`,
  totals: 'SELECT * FROM llm_agg WHERE dim = ? AND key = ? AND bucket = ?',
  buckets: 'SELECT * FROM llm_agg WHERE dim = ? AND key = ?',
  daysSince: 'SELECT * FROM llm_agg WHERE dim = ? AND key >= ? ORDER BY key',
  conversations: 'SELECT * FROM llm_conversations ORDER BY last_ms DESC LIMIT ?',
  conversation: 'SELECT * FROM llm_conversations WHERE key = ?',
  call: `SELECT ${COLUMNS.join(', ')} FROM llm_calls WHERE id = ?`,
  /** Up to CALLS_PER_READ calls by id in one statement (the OTLP export reads a batch; unused slots are ''). */
  callsById: `SELECT ${COLUMNS.join(', ')} FROM llm_calls WHERE id IN (${Array(CALLS_PER_READ).fill('?').join(', ')})`,
  // Never the row with the highest rowid: SQLite gives a new row MAX(rowid) + 1, and rowids
  // must keep increasing for llm_totals_mark to say which rows the totals count.
  prune: 'DELETE FROM llm_calls WHERE rowid IN (SELECT rowid FROM llm_calls WHERE started_at_ms < ? AND rowid < (SELECT MAX(rowid) FROM llm_calls) ORDER BY started_at_ms LIMIT ?)'
} as const;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

function str(v: SqlValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A call as a conversation's health sees it. */
export type HealthRow = Pick<StoredCall, 'provider' | 'requestModel' | 'responseModel' | 'startedAtMs' | 'ttftMs' | 'latencyMs' | 'status' | 'tokens' | 'costUsd'>;

function rowToHealth(r: SqlRow): HealthRow {
  return {
    provider: r.provider as LlmProvider,
    requestModel: str(r.request_model),
    responseModel: str(r.response_model),
    startedAtMs: num(r.started_at_ms),
    ttftMs: r.ttft_ms === null ? null : num(r.ttft_ms),
    latencyMs: num(r.latency_ms),
    status: r.status as 'ok' | 'error',
    tokens: rowTokens(r),
    costUsd: r.cost_usd === null ? null : num(r.cost_usd)
  };
}

/** The five token columns (a call row's and a totals row's share their names). */
function tokenColumns(r: SqlRow): TokenCounts {
  return {
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    cachedInputTokens: num(r.cached_input_tokens),
    cacheWriteTokens: num(r.cache_write_tokens),
    reasoningTokens: num(r.reasoning_tokens)
  };
}

function rowTokens(r: SqlRow): TokenCounts | null {
  return num(r.has_usage) === 1 ? tokenColumns(r) : null;
}

function rowToCall(r: SqlRow): StoredCall {
  return {
    ...rowToHealth(r),
    id: String(r.id),
    runId: String(r.run_id),
    operation: String(r.operation),
    pricedModel: str(r.priced_model),
    stream: num(r.stream) === 1,
    errorClass: str(r.error_class),
    httpStatus: r.http_status === null ? null : num(r.http_status),
    usageEstimated: num(r.usage_estimated) === 1,
    conversationKey: str(r.conversation_key),
    fingerprint: str(r.fingerprint),
    tags: JSON.parse(String(r.tags)) as Record<string, string>,
    messages: r.messages === null || r.messages === undefined ? null : (JSON.parse(String(r.messages)) as LlmMessage[]),
    output: str(r.output),
    sdk: String(r.sdk)
  };
}

/** Running totals of a set of calls. `costUsd` sums the known costs; `pricedCalls` says how many there were. */
export interface Totals {
  calls: number;
  errors: number;
  pricedCalls: number;
  costUsd: number;
  estimatedCalls: number;
  tokens: TokenCounts;
  firstMs: number;
  lastMs: number;
}

/** Totals under one bucket of a dimension (a provider, a model, a day). */
export interface BucketTotals extends Totals {
  key: string;
  bucket: string;
}

export interface ConversationTotals {
  key: string;
  provider: LlmProvider;
  calls: number;
  errors: number;
  pricedCalls: number;
  costUsd: number;
  firstMs: number;
  lastMs: number;
  /** Id of the latest call that carried message content, null when capture was off. */
  contentCallId: string | null;
}

function emptyTotals(ms: number): Totals {
  return { calls: 0, errors: 0, pricedCalls: 0, costUsd: 0, estimatedCalls: 0, tokens: { ...ZERO_TOKENS }, firstMs: ms, lastMs: ms };
}

/** Entries `totals()` keeps (the budget check reads two: this run and today). */
const TOTALS_CACHE_SIZE = 256;

/** Add the delta `d` into `a`, as UPSERT_AGG adds them (a with no calls takes d's first/last). */
function addInto(a: Totals, d: Totals): void {
  for (const k of Object.keys(a.tokens) as Array<keyof TokenCounts>) {
    a.tokens[k] += d.tokens[k];
  }
  a.firstMs = a.calls === 0 ? d.firstMs : Math.min(a.firstMs, d.firstMs);
  a.lastMs = a.calls === 0 ? d.lastMs : Math.max(a.lastMs, d.lastMs);
  a.calls += d.calls;
  a.errors += d.errors;
  a.pricedCalls += d.pricedCalls;
  a.costUsd += d.costUsd;
  a.estimatedCalls += d.estimatedCalls;
}

function rowToTotals(r: SqlRow): BucketTotals {
  return {
    key: String(r.key),
    bucket: String(r.bucket),
    calls: num(r.calls),
    errors: num(r.errors),
    pricedCalls: num(r.priced_calls),
    costUsd: num(r.cost_usd),
    estimatedCalls: num(r.estimated_calls),
    tokens: tokenColumns(r),
    firstMs: num(r.first_ms),
    lastMs: num(r.last_ms)
  };
}

function rowToConversation(r: SqlRow): ConversationTotals {
  return {
    key: String(r.key),
    provider: r.provider as LlmProvider,
    calls: num(r.calls),
    errors: num(r.errors),
    pricedCalls: num(r.priced_calls),
    costUsd: num(r.cost_usd),
    firstMs: num(r.first_ms),
    lastMs: num(r.last_ms),
    contentCallId: str(r.content_call_id)
  };
}

/** The model a call is reported under: the response's, else the request's. */
export function reportedModel(call: Pick<StoredCall, 'responseModel' | 'requestModel'>): string | null {
  return call.responseModel ?? call.requestModel;
}

/** Does a call without a price count as "unknown model" (a refused call without usage is simply not billed)? */
function lacksPrice(call: Pick<StoredCall, 'pricedModel' | 'status' | 'tokens'>): boolean {
  return call.pricedModel === null && !(call.status === 'error' && !call.tokens);
}

// Not NUL: the WASM engine passes text as C strings.
const SEP = '\u001f';

/** Adds calls into per-(dim, key, bucket) and per-conversation deltas, written in one upsert each. */
class Accumulator {
  readonly agg = new Map<string, { dim: string; key: string; bucket: string; t: Totals }>();
  readonly conversations = new Map<string, ConversationTotals & { contentMs: number | null }>();

  add(c: StoredCall): void {
    const day = utcDayKey(c.startedAtMs);
    const model = reportedModel(c) ?? '(no model)';
    this.bump('run', c.runId, '', c);
    this.bump('run_provider', c.runId, c.provider, c);
    this.bump('day', day, '', c);
    this.bump('day_provider', day, c.provider, c);
    this.bump('day_model', day, c.pricedModel ?? model, c);
    if (lacksPrice(c)) {
      this.bump('run_unpriced', c.runId, `${c.provider}${SEP}${model}`, c);
      this.bump('day_unpriced', day, `${c.provider}${SEP}${model}`, c);
    }
    if (c.conversationKey !== null) {
      const conv = this.conversations.get(c.conversationKey) ?? {
        key: c.conversationKey, provider: c.provider, calls: 0, errors: 0, pricedCalls: 0, costUsd: 0, firstMs: c.startedAtMs, lastMs: c.startedAtMs, contentCallId: null, contentMs: null
      };
      conv.calls++;
      conv.errors += c.status === 'error' ? 1 : 0;
      conv.pricedCalls += c.costUsd === null ? 0 : 1;
      conv.costUsd += c.costUsd ?? 0;
      conv.firstMs = Math.min(conv.firstMs, c.startedAtMs);
      if (c.startedAtMs >= conv.lastMs) {
        conv.lastMs = c.startedAtMs;
        conv.provider = c.provider;
      }
      if (c.messages && c.messages.length > 0 && (conv.contentMs === null || c.startedAtMs >= conv.contentMs)) {
        conv.contentCallId = c.id;
        conv.contentMs = c.startedAtMs;
      }
      this.conversations.set(c.conversationKey, conv);
    }
  }

  /** Add another accumulator's deltas into this one. */
  merge(o: Accumulator): void {
    for (const [id, e] of o.agg) {
      const mine = this.agg.get(id);
      if (mine) {
        addInto(mine.t, e.t);
      } else {
        this.agg.set(id, { dim: e.dim, key: e.key, bucket: e.bucket, t: { ...e.t, tokens: { ...e.t.tokens } } });
      }
    }
    for (const [key, c] of o.conversations) {
      const mine = this.conversations.get(key);
      if (!mine) {
        this.conversations.set(key, { ...c });
        continue;
      }
      mine.calls += c.calls;
      mine.errors += c.errors;
      mine.pricedCalls += c.pricedCalls;
      mine.costUsd += c.costUsd;
      mine.firstMs = Math.min(mine.firstMs, c.firstMs);
      if (c.lastMs >= mine.lastMs) {
        mine.lastMs = c.lastMs;
        mine.provider = c.provider;
      }
      if (c.contentMs !== null && (mine.contentMs === null || c.contentMs >= mine.contentMs)) {
        mine.contentCallId = c.contentCallId;
        mine.contentMs = c.contentMs;
      }
    }
  }

  get empty(): boolean {
    return this.agg.size === 0 && this.conversations.size === 0;
  }

  private bump(dim: string, key: string, bucket: string, c: StoredCall): void {
    const id = `${dim}${SEP}${key}${SEP}${bucket}`;
    const entry = this.agg.get(id) ?? { dim, key, bucket, t: emptyTotals(c.startedAtMs) };
    const t = entry.t;
    t.calls++;
    t.errors += c.status === 'error' ? 1 : 0;
    t.pricedCalls += c.costUsd === null ? 0 : 1;
    t.costUsd += c.costUsd ?? 0;
    t.estimatedCalls += c.usageEstimated ? 1 : 0;
    for (const k of Object.keys(t.tokens) as Array<keyof TokenCounts>) {
      t.tokens[k] += c.tokens?.[k] ?? 0;
    }
    t.firstMs = Math.min(t.firstMs, c.startedAtMs);
    t.lastMs = Math.max(t.lastMs, c.startedAtMs);
    this.agg.set(id, entry);
  }

  write(db: Database): void {
    for (const { dim, key, bucket, t } of this.agg.values()) {
      const k = t.tokens;
      db.run(UPSERT_AGG, [
        dim, key, bucket, t.calls, t.errors, t.pricedCalls, t.costUsd, t.estimatedCalls,
        k.inputTokens, k.outputTokens, k.cachedInputTokens, k.cacheWriteTokens, k.reasoningTokens, t.firstMs, t.lastMs
      ]);
    }
    for (const c of this.conversations.values()) {
      db.run(UPSERT_CONVERSATION, [c.key, c.provider, c.calls, c.errors, c.pricedCalls, c.costUsd, c.firstMs, c.lastMs, c.contentCallId, c.contentMs]);
    }
  }
}

function callValues(c: StoredCall): SqlValue[] {
  const t = c.tokens;
  return [
    c.id, c.runId, c.provider, c.operation, c.requestModel, c.responseModel, c.pricedModel, c.startedAtMs, c.ttftMs, c.latencyMs,
    c.stream ? 1 : 0, c.status, c.errorClass, c.httpStatus, t ? 1 : 0, t?.inputTokens ?? 0, t?.outputTokens ?? 0,
    t?.cachedInputTokens ?? 0, t?.cacheWriteTokens ?? 0, t?.reasoningTokens ?? 0, c.usageEstimated ? 1 : 0, c.costUsd,
    c.conversationKey, c.fingerprint, JSON.stringify(c.tags), c.messages ? JSON.stringify(c.messages) : null, c.output, c.sdk
  ];
}

/** Rows read per step when totals are rebuilt from existing history (upgrade from version 1, recovery after a kill). */
const BACKFILL_CHUNK = 2000;
/** Where the totals stand: every call row up to this rowid is counted in them (schema version 3). */
const MARK_TABLE = `
CREATE TABLE IF NOT EXISTS llm_totals_mark (id INTEGER PRIMARY KEY CHECK (id = 1), through_rowid INTEGER NOT NULL);
INSERT OR IGNORE INTO llm_totals_mark (id, through_rowid) SELECT 1, COALESCE(MAX(rowid), 0) FROM llm_calls;
`;
const SET_MARK = 'UPDATE llm_totals_mark SET through_rowid = MAX(through_rowid, ?) WHERE id = 1';

/**
 * Count the call rows after rowid `after` into the totals, in rowid order,
 * a chunk per transaction; with `mark`, each chunk also moves the mark.
 */
function countCallsAfter(db: Database, after: number, mark: boolean): void {
  for (;;) {
    const rows = db.all(`SELECT rowid AS rid, ${COLUMNS.join(', ')} FROM llm_calls WHERE rowid > ? ORDER BY rowid LIMIT ?`, [after, BACKFILL_CHUNK]);
    if (rows.length === 0) {
      return;
    }
    const acc = new Accumulator();
    for (const r of rows) {
      acc.add(rowToCall(r));
    }
    after = num(rows[rows.length - 1].rid);
    db.transaction(() => {
      acc.write(db);
      if (mark) {
        db.run(SET_MARK, [after]);
      }
    });
  }
}

/**
 * Schema steps, version i → i + 1 (engine.ts `migrate`). To add a field, append a step
 * (`ALTER TABLE llm_calls ADD COLUMN …`, a new total column, a new index) and extend
 * COLUMNS/callValues/rowToCall; never edit a step that has shipped.
 */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  db => db.exec(CALLS_TABLE),
  db => {
    db.exec(AGGREGATE_TABLES);
    // History written before totals existed: count it once, in rowid order.
    countCallsAfter(db, 0, false);
  },
  db => db.exec(MARK_TABLE)
];

/** Calls whose totals may wait in memory before they are written (a few ms of work at most). */
const PENDING_CALLS_MAX = 1000;
/** How long totals may wait in memory after the first call they count. */
export const TOTALS_FLUSH_MS = 1000;

/**
 * The totals' side of one database file, shared by every LlmStore on it
 * (they share its connection): deltas not yet written, and the totals
 * `totals()` has read, kept equal to table + deltas.
 */
interface TotalsState {
  refs: number;
  pending: Accumulator;
  pendingCalls: number;
  /** Highest rowid among the calls in `pending`. */
  pendingMaxRowid: number;
  cache: Map<string, BucketTotals | null>;
  timer: NodeJS.Timeout | null;
}
const totalsStates = new Map<string, TotalsState>();

/**
 * LLM call history in the embedded SQLite (see engine.ts): raw call rows,
 * kept for the retention period, plus running totals that every read
 * endpoint and budget uses, so an insert's cost does not grow with the
 * history and a read never scans it: totals are lookups, lists are index
 * range scans with a LIMIT. The file is 0600 in the data dir.
 *
 * An insert commits its call rows and answers; their totals are written
 * within TOTALS_FLUSH_MS (or PENDING_CALLS_MAX calls), in one transaction for
 * all the calls of that time, and before any read of the totals. Until then
 * they are in memory: a one-event request writes one row instead of nine.
 * `llm_totals_mark` says which rows the written totals count; a process
 * killed before writing them has them counted from the rows at the next open.
 */
export class LlmStore {
  readonly db: Database;
  private readonly state: TotalsState;
  private closed = false;

  /** `options`: the engine and WAL bounds (tests, bench); default as engine.ts decides. */
  constructor(readonly path: string, options: OpenOptions = {}) {
    this.db = openDatabase(path, options);
    try {
      migrate(this.db, 'llm', MIGRATIONS);
      const shared = totalsStates.get(this.db.file);
      if (shared) {
        shared.refs++;
        this.state = shared;
      } else {
        // First opener in this process: rows a killed process stored without writing their totals are counted now.
        countCallsAfter(this.db, num(this.db.get('SELECT through_rowid FROM llm_totals_mark WHERE id = 1')?.through_rowid), true);
        this.state = { refs: 1, pending: new Accumulator(), pendingCalls: 0, pendingMaxRowid: 0, cache: new Map(), timer: null };
        totalsStates.set(this.db.file, this.state);
      }
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** Insert calls; ids already stored are ignored (idempotent retries). */
  insert(calls: StoredCall[]): { inserted: number; duplicates: number } {
    return this.insertGroups([calls])[0];
  }

  /**
   * Several requests' calls in one transaction (group commit: one commit
   * instead of one per request), each group's own count returned in order.
   * All or nothing: when it throws, none of them was stored.
   */
  insertGroups(groups: StoredCall[][]): Array<{ inserted: number; duplicates: number }> {
    if (groups.every(g => g.length === 0)) {
      return groups.map(() => ({ inserted: 0, duplicates: 0 }));
    }
    const acc = new Accumulator();
    let maxRowid = 0;
    let calls = 0;
    const counts = this.db.transaction(() =>
      groups.map(group => {
        let inserted = 0;
        for (const c of group) {
          const r = this.db.run(INSERT_CALL, callValues(c));
          if (r.changes > 0) {
            acc.add(c);
            maxRowid = Math.max(maxRowid, r.lastInsertRowid);
            inserted++;
          }
        }
        calls += inserted;
        return { inserted, duplicates: group.length - inserted };
      })
    );
    if (calls === 0) {
      return counts;
    }
    // Committed: the totals wait in memory, and the ones read take the same deltas.
    const state = this.state;
    for (const [id, { key, bucket, t }] of acc.agg) {
      const cached = state.cache.get(id);
      if (cached !== undefined) {
        const next = cached ? { ...cached, tokens: { ...cached.tokens } } : { key, bucket, ...emptyTotals(t.firstMs) };
        addInto(next, t);
        state.cache.set(id, next);
      }
    }
    state.pending.merge(acc);
    state.pendingCalls += calls;
    state.pendingMaxRowid = Math.max(state.pendingMaxRowid, maxRowid);
    if (state.pendingCalls >= PENDING_CALLS_MAX) {
      this.flushTotals();
    } else if (!state.timer) {
      state.timer = setTimeout(() => {
        try {
          this.flushTotals();
        } catch {
          // Left pending: the next insert or read tries again, and their rows are stored (counted at the next open if need be).
        }
      }, TOTALS_FLUSH_MS);
      state.timer.unref();
    }
    return counts;
  }

  /** Write the totals waiting in memory (and move the mark past their calls), in one transaction. */
  flushTotals(): void {
    const state = this.state;
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
    if (state.pending.empty) {
      return;
    }
    const { pending, pendingMaxRowid } = state;
    this.db.transaction(() => {
      pending.write(this.db);
      this.db.run(SET_MARK, [pendingMaxRowid]);
    });
    state.pending = new Accumulator();
    state.pendingCalls = 0;
    state.pendingMaxRowid = 0;
  }

  /** The latest calls (newest first), without message content; one conversation's when `conversationKey` is given. */
  recent(limit: number, conversationKey?: string): StoredCall[] {
    const rows =
      conversationKey === undefined
        ? this.db.all(LLM_QUERIES.recent, [limit])
        : this.db.all(LLM_QUERIES.recentOfConversation, [conversationKey, limit]);
    return rows.map(rowToCall);
  }

  /** A conversation's latest `limit` calls, newest first, with only what its health reads. */
  healthWindow(conversationKey: string, limit: number): HealthRow[] {
    return this.db.all(LLM_QUERIES.healthWindow, [conversationKey, limit]).map(rowToHealth);
  }

  /**
   * Totals of one (dim, key, bucket), null when nothing was recorded there.
   * Served from memory once read: every insert adds its calls to the cached
   * entries it touches, so the budget check after each ingest costs no query
   * and writes nothing. Treat the answer as read-only.
   */
  totals(dim: string, key: string, bucket = ''): BucketTotals | null {
    const id = `${dim}${SEP}${key}${SEP}${bucket}`;
    const cache = this.state.cache;
    const cached = cache.get(id);
    if (cached !== undefined) {
      return cached;
    }
    this.flushTotals();
    const row = this.db.get(LLM_QUERIES.totals, [dim, key, bucket]);
    const totals = row ? rowToTotals(row) : null;
    if (cache.size >= TOTALS_CACHE_SIZE) {
      cache.clear();
    }
    cache.set(id, totals);
    return totals;
  }

  /** Every bucket of `dim` under `key` (e.g. the providers of a run). */
  buckets(dim: string, key: string): BucketTotals[] {
    this.flushTotals();
    return this.db.all(LLM_QUERIES.buckets, [dim, key]).map(rowToTotals);
  }

  /** Every bucket of a day dimension from UTC day `sinceDay` (YYYY-MM-DD) on. */
  daysSince(dim: 'day' | 'day_provider' | 'day_model' | 'day_unpriced', sinceDay: string): BucketTotals[] {
    this.flushTotals();
    return this.db.all(LLM_QUERIES.daysSince, [dim, sinceDay]).map(rowToTotals);
  }

  /** Split an unpriced bucket into its provider and model. */
  static unpricedBucket(bucket: string): { provider: LlmProvider; model: string } {
    const at = bucket.indexOf(SEP);
    return { provider: bucket.slice(0, at) as LlmProvider, model: bucket.slice(at + 1) };
  }

  /** Conversations, most recent activity first. */
  conversations(limit: number): ConversationTotals[] {
    this.flushTotals();
    return this.db.all(LLM_QUERIES.conversations, [limit]).map(rowToConversation);
  }

  conversation(key: string): ConversationTotals | null {
    this.flushTotals();
    const row = this.db.get(LLM_QUERIES.conversation, [key]);
    return row ? rowToConversation(row) : null;
  }

  /** The call holding a conversation's latest transcript, null when none was captured or it was pruned. */
  call(id: string): StoredCall | null {
    const row = this.db.get(LLM_QUERIES.call, [id]);
    return row ? rowToCall(row) : null;
  }

  /** Calls by id, CALLS_PER_READ per statement (any order; an id no longer stored is absent). */
  calls(ids: readonly string[]): StoredCall[] {
    const out: StoredCall[] = [];
    for (let i = 0; i < ids.length; i += CALLS_PER_READ) {
      const slice = ids.slice(i, i + CALLS_PER_READ);
      const params = slice.concat(Array<string>(CALLS_PER_READ - slice.length).fill(''));
      for (const row of this.db.all(LLM_QUERIES.callsById, params)) {
        out.push(rowToCall(row));
      }
    }
    return out;
  }

  /**
   * Delete up to `limit` raw call rows started before `beforeMs`, oldest first
   * (totals are kept). Returns how many went; call again while it returns `limit`.
   */
  prune(beforeMs: number, limit: number): number {
    this.flushTotals();
    return this.db.run(LLM_QUERIES.prune, [beforeMs, limit]).changes;
  }

  /**
   * Give the pages that deleted rows left free back to the file system, up
   * to `maxPages` (4 KiB each) per call; returns how many went (call again
   * while it returns `maxPages`). A file from before INCREMENTAL auto-vacuum
   * is switched to it first: one VACUUM that rewrites it whole, once.
   */
  giveBackSpace(maxPages: number): number {
    if (this.db.autoVacuum() !== 'incremental') {
      const before = this.db.sizes().dbBytes;
      this.db.compact();
      return Math.max(0, Math.round((before - this.db.sizes().dbBytes) / 4096));
    }
    const freed = this.db.vacuumStep(maxPages);
    if (freed < maxPages) {
      // Done: the pages written back into the file leave the write-ahead log too.
      this.db.checkpoint();
    }
    return freed;
  }

  /** Raw rows stored (tests and bench; counts the whole table). */
  count(): number {
    return num(this.db.get('SELECT COUNT(*) AS n FROM llm_calls')?.n);
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    try {
      this.flushTotals();
    } catch {
      // A full or read-only disk: the rows are stored; the next open counts them from the mark.
    }
    if (--this.state.refs === 0) {
      totalsStates.delete(this.db.file);
    }
    this.db.close();
  }
}
