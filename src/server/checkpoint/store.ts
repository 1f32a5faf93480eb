/**
 * Checkpoint records and settings in the embedded SQLite database
 * (`<dataDir>/checkpoints.sqlite`, 0600) through the store engine
 * (src/server/store/engine.ts). Every read is indexed and bounded: no request
 * scans the whole history.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointRecord, CheckpointSettings, type CheckpointSettings as Settings } from '../../shared/checkpoint-api';
import { openDatabase, type Database, type SqlRow } from '../store/engine';

export const CHECKPOINT_DB_FILE = 'checkpoints.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  id TEXT PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  step INTEGER,
  trigger TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  verified INTEGER NOT NULL,
  kind TEXT NOT NULL,
  run TEXT NOT NULL,
  kernel_id TEXT,
  error TEXT,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS checkpoints_time ON checkpoints (time_ms);
CREATE INDEX IF NOT EXISTS checkpoints_path ON checkpoints (path);
CREATE INDEX IF NOT EXISTS checkpoints_run_verified ON checkpoints (run, kind, verified, deleted, time_ms);
CREATE TABLE IF NOT EXISTS checkpoint_settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
`;

function toRecord(row: SqlRow): CheckpointRecord {
  return {
    id: String(row.id),
    time: new Date(Number(row.time_ms)).toISOString(),
    step: row.step === null ? null : Number(row.step),
    trigger: row.trigger as CheckpointRecord['trigger'],
    path: String(row.path),
    bytes: Number(row.bytes),
    sha256: String(row.sha256),
    durationMs: Number(row.duration_ms),
    verified: Number(row.verified) === 1,
    kind: row.kind as CheckpointRecord['kind'],
    run: String(row.run),
    kernelId: row.kernel_id === null ? null : String(row.kernel_id),
    error: row.error === null ? null : String(row.error)
  };
}

export class CheckpointStore {
  private readonly db: Database;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.db.exec(SCHEMA);
  }

  add(record: CheckpointRecord): void {
    this.db.run(
      `INSERT INTO checkpoints (id, time_ms, step, trigger, path, bytes, sha256, duration_ms, verified, kind, run, kernel_id, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.id,
        Date.parse(record.time),
        record.step,
        record.trigger,
        record.path,
        record.bytes,
        record.sha256,
        record.durationMs,
        record.verified ? 1 : 0,
        record.kind,
        record.run,
        record.kernelId,
        record.error
      ]
    );
  }

  /** Newest first. */
  list(limit = 100): CheckpointRecord[] {
    return this.db.all('SELECT * FROM checkpoints ORDER BY time_ms DESC LIMIT ?', [limit]).map(toRecord);
  }

  /** The newest verified, not deleted checkpoint of a kind (objects or callback saves), any run when `run` is null. */
  latestVerified(run: string | null = null): CheckpointRecord | null {
    const row =
      run === null
        ? this.db.get("SELECT * FROM checkpoints WHERE verified = 1 AND deleted = 0 AND kind != 'mirror' ORDER BY time_ms DESC LIMIT 1")
        : this.db.get("SELECT * FROM checkpoints WHERE run = ? AND verified = 1 AND deleted = 0 AND kind != 'mirror' ORDER BY time_ms DESC LIMIT 1", [run]);
    return row ? toRecord(row) : null;
  }

  /** Verified, kept checkpoints of a run beyond the newest `keep`, oldest first: the ones to delete. */
  beyondKeep(run: string, kind: 'objects' | 'callback', keep: number): CheckpointRecord[] {
    return this.db
      .all('SELECT * FROM checkpoints WHERE run = ? AND kind = ? AND verified = 1 AND deleted = 0 ORDER BY time_ms DESC LIMIT -1 OFFSET ?', [run, kind, keep])
      .map(toRecord)
      .reverse();
  }

  hasPath(path: string): boolean {
    return this.db.get('SELECT 1 AS one FROM checkpoints WHERE path = ? AND deleted = 0 LIMIT 1', [path]) !== undefined;
  }

  markDeleted(id: string): void {
    this.db.run('UPDATE checkpoints SET deleted = 1 WHERE id = ?', [id]);
  }

  /** Newest verified checkpoint at or before `atMs` (for "last verified checkpoint before the runtime ended"). */
  latestVerifiedBefore(atMs: number): CheckpointRecord | null {
    const row = this.db.get("SELECT * FROM checkpoints WHERE verified = 1 AND kind != 'mirror' AND time_ms <= ? ORDER BY time_ms DESC LIMIT 1", [atMs]);
    return row ? toRecord(row) : null;
  }

  loadSettings(): Partial<Settings> {
    const row = this.db.get('SELECT json FROM checkpoint_settings WHERE id = 1');
    if (!row) {
      return {};
    }
    const parsed = CheckpointSettings.partial().safeParse(JSON.parse(String(row.json)));
    return parsed.success ? parsed.data : {};
  }

  saveSettings(settings: Settings): void {
    this.db.run('INSERT INTO checkpoint_settings (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json', [JSON.stringify(settings)]);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The newest verified checkpoint at or before `atMs` in `<dataDir>/checkpoints.sqlite`, for the
 * previous-session report ("last verified checkpoint at step 4200, 12 min before the runtime
 * ended"). Null when there is no database (never creates one) or no such checkpoint.
 */
export function lastVerifiedCheckpointBefore(dataDir: string, atMs: number): { step: number | null; time: string; path: string } | null {
  const file = join(dataDir, CHECKPOINT_DB_FILE);
  if (!existsSync(file)) return null;
  try {
    const store = new CheckpointStore(file);
    try {
      const r = store.latestVerifiedBefore(atMs);
      return r ? { step: r.step, time: r.time, path: r.path } : null;
    } finally {
      store.close();
    }
  } catch {
    return null; // unreadable or locked: the report goes without it
  }
}
