import { chmodSync, closeSync, openSync } from 'node:fs';
import { Database } from 'node-sqlite3-wasm';
import type { LlmMessage, LlmProvider, TokenCounts } from '../../shared/llm-api';

/** One LLM call as persisted: the event's facts plus what the sidecar decided at ingest. */
export interface StoredCall {
  id: string;
  runId: string;
  provider: LlmProvider;
  operation: string;
  requestModel: string | null;
  responseModel: string | null;
  /** Pricing-table key the call was priced with, null when unknown. */
  pricedModel: string | null;
  startedAtMs: number;
  ttftMs: number | null;
  latencyMs: number;
  stream: boolean;
  status: 'ok' | 'error';
  errorClass: string | null;
  httpStatus: number | null;
  tokens: TokenCounts | null;
  usageEstimated: boolean;
  costUsd: number | null;
  conversationKey: string | null;
  fingerprint: string | null;
  tags: Record<string, string>;
  messages: LlmMessage[] | null;
  output: string | null;
  sdk: string;
}

const SCHEMA = `
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

const COLUMNS = [
  'id', 'run_id', 'provider', 'operation', 'request_model', 'response_model', 'priced_model', 'started_at_ms', 'ttft_ms', 'latency_ms',
  'stream', 'status', 'error_class', 'http_status', 'has_usage', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens',
  'reasoning_tokens', 'usage_estimated', 'cost_usd', 'conversation_key', 'fingerprint', 'tags', 'messages', 'output', 'sdk'
];

type Row = Record<string, number | bigint | string | Uint8Array | null>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

function rowToCall(r: Row): StoredCall {
  const hasUsage = num(r.has_usage) === 1;
  return {
    id: String(r.id),
    runId: String(r.run_id),
    provider: r.provider as LlmProvider,
    operation: String(r.operation),
    requestModel: (r.request_model as string | null) ?? null,
    responseModel: (r.response_model as string | null) ?? null,
    pricedModel: (r.priced_model as string | null) ?? null,
    startedAtMs: num(r.started_at_ms),
    ttftMs: r.ttft_ms === null ? null : num(r.ttft_ms),
    latencyMs: num(r.latency_ms),
    stream: num(r.stream) === 1,
    status: r.status as 'ok' | 'error',
    errorClass: (r.error_class as string | null) ?? null,
    httpStatus: r.http_status === null ? null : num(r.http_status),
    tokens: hasUsage
      ? {
          inputTokens: num(r.input_tokens),
          outputTokens: num(r.output_tokens),
          cachedInputTokens: num(r.cached_input_tokens),
          cacheWriteTokens: num(r.cache_write_tokens),
          reasoningTokens: num(r.reasoning_tokens)
        }
      : null,
    usageEstimated: num(r.usage_estimated) === 1,
    costUsd: r.cost_usd === null ? null : num(r.cost_usd),
    conversationKey: (r.conversation_key as string | null) ?? null,
    fingerprint: (r.fingerprint as string | null) ?? null,
    tags: JSON.parse(String(r.tags)) as Record<string, string>,
    messages: r.messages === null ? null : (JSON.parse(String(r.messages)) as LlmMessage[]),
    output: (r.output as string | null) ?? null,
    sdk: String(r.sdk)
  };
}

export interface CallFilter {
  sinceMs?: number;
  runId?: string;
  conversationKey?: string;
}

/** A CallFilter as SQL conditions (after `base`) and their values, in order. */
function filterWhere(filter: CallFilter, base: string[] = []): { where: string[]; values: Array<string | number> } {
  const where = [...base];
  const values: Array<string | number> = [];
  if (filter.sinceMs !== undefined) {
    where.push('started_at_ms >= ?');
    values.push(filter.sinceMs);
  }
  if (filter.runId !== undefined) {
    where.push('run_id = ?');
    values.push(filter.runId);
  }
  if (filter.conversationKey !== undefined) {
    where.push('conversation_key = ?');
    values.push(filter.conversationKey);
  }
  return { where, values };
}

/**
 * LLM call history in SQLite (node-sqlite3-wasm: real SQLite compiled to
 * WebAssembly, see docs/ARCHITECTURE.md). The file is created 0600 in the
 * data dir; daily and weekly history survive restarts.
 */
export class LlmStore {
  private readonly db: Database;

  constructor(readonly path: string) {
    // Create the file ourselves so it is 0600 before SQLite writes anything into it.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path);
    this.db.exec(SCHEMA);
  }

  /** Insert calls; ids already stored are ignored (idempotent retries). */
  insert(calls: StoredCall[]): { inserted: number; duplicates: number } {
    if (calls.length === 0) {
      return { inserted: 0, duplicates: 0 };
    }
    const sql = `INSERT OR IGNORE INTO llm_calls (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
    const statement = this.db.prepare(sql);
    let inserted = 0;
    this.db.exec('BEGIN');
    try {
      for (const c of calls) {
        const t = c.tokens;
        const result = statement.run([
          c.id, c.runId, c.provider, c.operation, c.requestModel, c.responseModel, c.pricedModel, c.startedAtMs, c.ttftMs, c.latencyMs,
          c.stream ? 1 : 0, c.status, c.errorClass, c.httpStatus, t ? 1 : 0, t?.inputTokens ?? 0, t?.outputTokens ?? 0,
          t?.cachedInputTokens ?? 0, t?.cacheWriteTokens ?? 0, t?.reasoningTokens ?? 0, c.usageEstimated ? 1 : 0, c.costUsd,
          c.conversationKey, c.fingerprint, JSON.stringify(c.tags), c.messages ? JSON.stringify(c.messages) : null, c.output, c.sdk
        ]);
        inserted += result.changes;
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    } finally {
      statement.finalize();
    }
    return { inserted, duplicates: calls.length - inserted };
  }

  calls(filter: CallFilter = {}): StoredCall[] {
    const { where, values } = filterWhere(filter);
    const sql = `SELECT * FROM llm_calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at_ms, rowid`;
    return (this.db.all(sql, values) as Row[]).map(rowToCall);
  }

  /** The latest calls, newest first. */
  recent(limit: number, conversationKey?: string): StoredCall[] {
    const rows = (
      conversationKey === undefined
        ? this.db.all('SELECT * FROM llm_calls ORDER BY started_at_ms DESC, rowid DESC LIMIT ?', [limit])
        : this.db.all('SELECT * FROM llm_calls WHERE conversation_key = ? ORDER BY started_at_ms DESC, rowid DESC LIMIT ?', [conversationKey, limit])
    ) as Row[];
    return rows.map(rowToCall);
  }

  /** Conversation keys with their last activity, most recent first. */
  conversations(limit: number): Array<{ key: string; lastMs: number }> {
    const rows = this.db.all(
      'SELECT conversation_key AS key, MAX(started_at_ms) AS last FROM llm_calls WHERE conversation_key IS NOT NULL GROUP BY conversation_key ORDER BY last DESC LIMIT ?',
      [limit]
    ) as Row[];
    return rows.map(r => ({ key: String(r.key), lastMs: num(r.last) }));
  }

  /** Sum of known costs matching the filter. */
  spent(filter: CallFilter): number {
    const { where, values } = filterWhere(filter, ['cost_usd IS NOT NULL']);
    const row = this.db.get(`SELECT COALESCE(SUM(cost_usd), 0) AS total FROM llm_calls WHERE ${where.join(' AND ')}`, values) as Row | null;
    return num(row?.total);
  }

  count(): number {
    return num((this.db.get('SELECT COUNT(*) AS n FROM llm_calls') as Row | null)?.n);
  }

  close(): void {
    if (this.db.isOpen) {
      this.db.close();
    }
  }
}
