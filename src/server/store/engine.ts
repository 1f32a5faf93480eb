import { chmodSync, closeSync, existsSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Database as WasmDatabase, Statement as WasmStatement } from 'node-sqlite3-wasm';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isPidAlive } from '../core/discovery';

/**
 * The embedded SQLite behind one small interface, so the rest of the sidecar
 * does not care which engine runs it (docs/ARCHITECTURE.md, "Storage engine"):
 *
 * - `node:sqlite` (Node ≥ 22.13 without a flag; the Node that `pip install
 *   vigilo` brings is 24): native SQLite, WAL, POSIX locks that the kernel
 *   drops when the process dies, so a kill -9 never leaves a lock behind.
 * - `node-sqlite3-wasm` (Node 18 – 22.12): SQLite compiled to WebAssembly. Its
 *   file system layer locks with a `<file>.lock` folder that a kill -9 leaves
 *   behind. We open it in EXCLUSIVE locking mode (which also allows WAL
 *   without shared memory) and record the owner's pid in `<file>.owner`
 *   before taking the lock, so a lock whose owner is dead is provably stale
 *   and is removed; a live owner's lock is never broken.
 *
 * One connection per file per process: opening the same file again returns
 * the same connection (reference counted), so modules that share the
 * database (LLM history, checkpoints) never lock each other out.
 */
export type SqlValue = number | bigint | string | Uint8Array | null;
export type SqlRow = Record<string, SqlValue>;
export type EngineName = 'node:sqlite' | 'wasm';

export interface Database {
  readonly engine: EngineName;
  readonly file: string;
  /** Run one or more statements without parameters (schema, pragmas). */
  exec(sql: string): void;
  /** Statements are prepared once per SQL text and reused. */
  run(sql: string, params?: readonly SqlValue[]): { changes: number; lastInsertRowid: number };
  get(sql: string, params?: readonly SqlValue[]): SqlRow | undefined;
  all(sql: string, params?: readonly SqlValue[]): SqlRow[];
  /** Run `fn` in one transaction (committed when it returns, rolled back when it throws). Nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
  /** Bytes of the database file and of its write-ahead log, as they are on disk now. */
  sizes(): DatabaseSizes;
  /**
   * Copy the write-ahead log into the database and truncate it to 0 bytes
   * (SQLite's TRUNCATE checkpoint). False when a reader in another process
   * kept it from completing; the log is then left as it was.
   */
  checkpoint(): boolean;
  /**
   * Give up to `pages` free pages back to the file system (the database is
   * in INCREMENTAL auto-vacuum mode; see `compact`). Returns the pages given back.
   */
  vacuumStep(pages: number): number;
  /** SQLite's auto_vacuum mode of the file: 'incremental' for every file this version created. */
  autoVacuum(): 'none' | 'full' | 'incremental';
  /**
   * Switch a file created without INCREMENTAL auto-vacuum (by 0.1.0 – 0.2.x)
   * to it, giving all free pages back: one VACUUM, which rewrites the whole
   * file and blocks for as long as that takes. Done once per file.
   */
  compact(): void;
  close(): void;
}

export interface DatabaseSizes {
  dbBytes: number;
  walBytes: number;
}

/**
 * Bounds on the write-ahead log (docs/ARCHITECTURE.md "Bounded disk"). SQLite
 * copies the log back into the database every `autocheckpointPages` pages;
 * after every commit that left the log larger than `limitBytes` (a reader in
 * another process held a checkpoint back, or one huge transaction), it is
 * checkpointed and truncated to 0 bytes.
 */
export const WAL_LIMITS = { limitBytes: 64 * 1024 * 1024, autocheckpointPages: 1000 } as const;

export interface OpenOptions {
  /** Force an engine (tests, bench); default `VIGILO_SQLITE` (`node` or `wasm`), else node:sqlite when this Node has it. */
  engine?: 'node' | 'wasm';
  /** WASM engine: how long a lock with no owner file must stay unchanged to count as stale (default 2000 ms). */
  staleLockSettleMs?: number;
  /** Largest the -wal file may stay after a commit (default WAL_LIMITS.limitBytes, or `VIGILO_WAL_LIMIT_BYTES`). */
  walLimitBytes?: number;
  /** Pages the log grows by between SQLite's own checkpoints (default 1000, 4 MiB); tests pass fewer. */
  walAutocheckpointPages?: number;
}

/** The WAL bound in effect: the option, else `VIGILO_WAL_LIMIT_BYTES` (bytes, ≥ 1 MiB), else 64 MiB. */
export function walLimitBytes(options: OpenOptions = {}, env: NodeJS.ProcessEnv = process.env): number {
  if (options.walLimitBytes !== undefined) {
    return options.walLimitBytes;
  }
  const fromEnv = Number(env.VIGILO_WAL_LIMIT_BYTES);
  return Number.isInteger(fromEnv) && fromEnv >= 1024 * 1024 ? fromEnv : WAL_LIMITS.limitBytes;
}

/** Thrown when another live process holds the database. */
export class DatabaseBusyError extends Error {}

interface Raw {
  exec(sql: string): void;
  run(sql: string, params: readonly SqlValue[]): { changes: number; lastInsertRowid: number };
  get(sql: string, params: readonly SqlValue[]): SqlRow | undefined;
  all(sql: string, params: readonly SqlValue[]): SqlRow[];
  close(): void;
}

type NodeSqlite = { DatabaseSync: new (path: string, options?: { timeout?: number }) => DatabaseSync };
let nodeSqlite: NodeSqlite | null | undefined;

/** `node:sqlite` when this Node has it without a flag, else null. Its one-time ExperimentalWarning (Node 22/23) is not printed. */
function loadNodeSqlite(): NodeSqlite | null {
  if (nodeSqlite !== undefined) {
    return nodeSqlite;
  }
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!/SQLite/i.test(text)) {
      (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
    }
  }) as typeof process.emitWarning;
  try {
    const mod = typeof getBuiltin === 'function' ? (getBuiltin.call(process, 'node:sqlite') as NodeSqlite | undefined) : undefined;
    nodeSqlite = mod && typeof mod.DatabaseSync === 'function' ? mod : null;
  } catch {
    nodeSqlite = null;
  } finally {
    process.emitWarning = emit;
  }
  return nodeSqlite;
}

/** Which engine `openDatabase` picks on this Node. */
export function defaultEngine(options: OpenOptions = {}): EngineName {
  const wanted = options.engine ?? (process.env.VIGILO_SQLITE === 'wasm' ? 'wasm' : process.env.VIGILO_SQLITE === 'node' ? 'node' : undefined);
  if (wanted === 'wasm') {
    return 'wasm';
  }
  if (loadNodeSqlite()) {
    return 'node:sqlite';
  }
  if (wanted === 'node') {
    throw new Error(`node:sqlite is not available in Node ${process.version} (needs 22.13 or later)`);
  }
  return 'wasm';
}

/** The statement prepared for `sql`, prepared once and kept. */
function cachedStatement<S>(cache: Map<string, S>, sql: string, prepare: () => S): S {
  let s = cache.get(sql);
  if (!s) {
    s = prepare();
    cache.set(sql, s);
  }
  return s;
}

/**
 * Pragmas every connection gets. auto_vacuum=INCREMENTAL takes effect only on
 * a new, empty file (older files are switched once by `compact`); WAL +
 * synchronous=NORMAL: a commit is in the WAL file when it returns, so it
 * survives the process being killed; only a power cut can lose the last
 * commits. journal_size_limit truncates the log when SQLite restarts it.
 */
function pragmas(limitBytes: number, autocheckpointPages: number): string {
  return `PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=${Math.floor(limitBytes)}; PRAGMA wal_autocheckpoint=${Math.floor(autocheckpointPages)};`;
}

function openNode(file: string, setup: string): Raw {
  const { DatabaseSync: Sqlite } = loadNodeSqlite() as NodeSqlite;
  const db = new Sqlite(file, { timeout: 5000 });
  db.exec(setup);
  const cache = new Map<string, StatementSync>();
  const prepared = (sql: string) => cachedStatement(cache, sql, () => db.prepare(sql));
  return {
    exec: sql => db.exec(sql),
    run: (sql, params) => {
      const r = prepared(sql).run(...(params as SqlValue[]));
      return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
    },
    get: (sql, params) => prepared(sql).get(...(params as SqlValue[])) as SqlRow | undefined,
    all: (sql, params) => prepared(sql).all(...(params as SqlValue[])) as SqlRow[],
    close: () => {
      cache.clear();
      db.close();
    }
  };
}

/** /proc start time of a pid (Linux), to tell a live owner from a reused pid; null where unknown. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function ownerAlive(owner: { pid: number; start: string | null }): boolean {
  if (!isPidAlive(owner.pid)) {
    return false;
  }
  // The pid is in use: it is the owner unless /proc proves it is a newer process.
  const start = processStart(owner.pid);
  return owner.start === null || start === null || start === owner.start;
}

function readOwner(path: string): { pid: number; start: string | null } | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; start?: unknown };
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, start: typeof parsed.start === 'string' ? parsed.start : null } : null;
  } catch {
    return null;
  }
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));

/** Does `path` stay in place, unmodified, for `ms`? (Polled every 50 ms; false as soon as it goes or changes.) */
function unchangedFor(path: string, ms: number): boolean {
  const before = statSync(path, { throwIfNoEntry: false });
  for (let waited = 0; before && waited < ms; waited += 50) {
    Atomics.wait(sleepBuffer, 0, 0, 50);
    const now = statSync(path, { throwIfNoEntry: false });
    if (!now || now.ino !== before.ino || now.mtimeMs !== before.mtimeMs || now.size !== before.size) {
      return false;
    }
  }
  return before !== undefined;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Claim `<file>.owner` for this process and clear a stale `<file>.lock`.
 * The owner file is written before the lock is taken and removed after it is
 * released, so a lock without a live owner was left by a dead process. A lock
 * with no owner file at all can only be a sidecar from before this scheme,
 * which held the lock for one transaction at a time: it is stale when it
 * stays unchanged for `settleMs`.
 */
function claimWasmLock(file: string, settleMs = 2000): string {
  const ownerFile = `${file}.owner`;
  const lockDir = `${file}.lock`;
  for (let attempt = 0; attempt < 4; attempt++) {
    const ownerExists = existsSync(ownerFile);
    const owner = ownerExists ? readOwner(ownerFile) : null;
    if (ownerExists && !owner) {
      // Unreadable: its writer was killed between creating and filling it, or is filling it right now.
      if (unchangedFor(ownerFile, settleMs)) {
        removeFile(ownerFile);
      }
      continue;
    }
    if (owner && owner.pid !== process.pid && ownerAlive(owner)) {
      throw new DatabaseBusyError(`${file} is in use by process ${owner.pid}; only one sidecar may use a data dir at a time`);
    }
    if (existsSync(lockDir)) {
      if (!owner && !unchangedFor(lockDir, settleMs)) {
        continue; // someone is actively locking: look again
      }
      try {
        rmdirSync(lockDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw error;
        }
      }
    }
    if (owner) {
      removeFile(ownerFile);
    }
    try {
      writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, start: processStart(process.pid) }), { flag: 'wx', mode: 0o600 });
      return ownerFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
  }
  throw new DatabaseBusyError(`${file} is being opened by another process; only one sidecar may use a data dir at a time`);
}

function openWasm(file: string, setup: string, settleMs?: number): Raw {
  const ownerFile = claimWasmLock(file, settleMs);
  let db: WasmDatabase;
  try {
    // Loaded only when used: instantiating the WebAssembly module costs ~10 MB of RSS.
    const { Database } = require('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
    db = new Database(file);
    // EXCLUSIVE: the lock is taken once and held until close (our owner file
    // vouches for it); it also lets WAL run without shared memory.
    db.exec(`PRAGMA locking_mode=EXCLUSIVE; ${setup}`);
  } catch (error) {
    unlinkSync(ownerFile);
    throw error;
  }
  const cache = new Map<string, WasmStatement>();
  const prepared = (sql: string) => cachedStatement(cache, sql, () => db.prepare(sql));
  const finalize = (s: WasmStatement): void => {
    try {
      s.finalize();
    } catch {
      // finalize repeats the statement's last error; the statement is gone either way
    }
  };
  /** A statement whose step failed cannot be reset by this binding: drop it, so the next call prepares a fresh one. */
  const using = <T>(sql: string, fn: (s: WasmStatement) => T): T => {
    const s = prepared(sql);
    try {
      return fn(s);
    } catch (error) {
      cache.delete(sql);
      finalize(s);
      throw error;
    }
  };
  return {
    exec: sql => db.exec(sql),
    run: (sql, params) => {
      const r = using(sql, s => s.run(params as SqlValue[]));
      return { changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) };
    },
    // Not Statement.get: it steps to the first row and leaves the statement
    // active, and an active statement keeps a read transaction open on the
    // connection, so no checkpoint could ever reset the log (it grew to 532 MB
    // after 100k events). all() steps it to the end, which ends that transaction.
    get: (sql, params) => (using(sql, s => s.all(params as SqlValue[])) as SqlRow[])[0],
    all: (sql, params) => using(sql, s => s.all(params as SqlValue[])) as SqlRow[],
    close: () => {
      for (const s of cache.values()) {
        finalize(s);
      }
      cache.clear();
      db.close();
      removeFile(ownerFile);
    }
  };
}

const open = new Map<string, { db: Database; refs: number; raw: Raw }>();

/**
 * Open (creating it 0600 when missing) the SQLite database at `file`. Callers
 * close what they open; the connection closes when the last one does.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database {
  const path = resolve(file);
  const shared = open.get(path);
  if (shared) {
    shared.refs++;
    return handle(shared);
  }
  // Create the file ourselves so it is 0600 before SQLite writes anything into
  // it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const engine = defaultEngine(options);
  const limitBytes = walLimitBytes(options);
  const setup = pragmas(limitBytes, options.walAutocheckpointPages ?? WAL_LIMITS.autocheckpointPages);
  const raw = engine === 'node:sqlite' ? openNode(path, setup) : openWasm(path, setup, options.staleLockSettleMs);
  const walFile = `${path}-wal`;
  const fileBytes = (f: string): number => statSync(f, { throwIfNoEntry: false })?.size ?? 0;
  /** When the last checkpoint that a reader held back failed (performance.now()); null when none did. */
  let heldBackAt: number | null = null;
  const checkpoint = (): boolean => {
    // Never wait for another process's reader: the event loop must not block on it.
    if (engine === 'node:sqlite') raw.exec('PRAGMA busy_timeout=0');
    try {
      const row = raw.all('PRAGMA wal_checkpoint(TRUNCATE)', [])[0];
      const done = Number(row?.busy ?? 0) === 0;
      heldBackAt = done ? null : performance.now();
      return done;
    } catch {
      heldBackAt = performance.now();
      return false;
    } finally {
      if (engine === 'node:sqlite') raw.exec('PRAGMA busy_timeout=5000');
    }
  };
  /** After a write: a log past the bound is checkpointed and truncated (a held-back one is tried again after 30 s). */
  const boundWal = (): void => {
    if (fileBytes(walFile) > limitBytes && (heldBackAt === null || performance.now() - heldBackAt > 30_000)) {
      checkpoint();
    }
  };
  let depth = 0;
  const db: Database = {
    engine,
    file: path,
    exec: sql => raw.exec(sql),
    run: (sql, params = []) => {
      const result = raw.run(sql, params);
      if (depth === 0) {
        boundWal();
      }
      return result;
    },
    get: (sql, params = []) => raw.get(sql, params),
    all: (sql, params = []) => raw.all(sql, params),
    transaction<T>(fn: () => T): T {
      if (depth > 0) {
        return fn();
      }
      raw.exec('BEGIN IMMEDIATE');
      depth++;
      let result: T;
      try {
        result = fn();
        raw.exec('COMMIT');
      } catch (error) {
        try {
          raw.exec('ROLLBACK');
        } catch {
          // SQLite already rolled back (disk full, I/O error): the original error is the one to report
        }
        throw error;
      } finally {
        depth--;
      }
      boundWal();
      return result;
    },
    sizes: () => ({ dbBytes: fileBytes(path), walBytes: fileBytes(walFile) }),
    checkpoint,
    vacuumStep: pages => {
      const before = Number(raw.get('PRAGMA freelist_count', [])?.freelist_count ?? 0);
      raw.exec(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return before - Number(raw.get('PRAGMA freelist_count', [])?.freelist_count ?? 0);
    },
    autoVacuum: () => (['none', 'full', 'incremental'] as const)[Number(raw.get('PRAGMA auto_vacuum', [])?.auto_vacuum ?? 0)] ?? 'none',
    compact: () => {
      raw.exec('PRAGMA auto_vacuum=INCREMENTAL');
      raw.exec('VACUUM');
      checkpoint();
    },
    close: () => undefined
  };
  const entry = { db, refs: 1, raw };
  open.set(path, entry);
  return handle(entry);
}

/** A caller's own view of a shared connection: its close() releases only its reference, once. */
function handle(entry: { db: Database; refs: number; raw: Raw }): Database {
  let closed = false;
  return {
    ...entry.db,
    transaction: fn => entry.db.transaction(fn),
    close: () => {
      if (closed) {
        return;
      }
      closed = true;
      if (--entry.refs === 0) {
        open.delete(entry.db.file);
        entry.raw.close();
      }
    }
  };
}

/**
 * Bring `component`'s tables to the latest schema: `steps[i]` takes version i
 * to i + 1, each in its own transaction, recorded in `vigilo_schema`. Steps
 * are additive (CREATE TABLE IF NOT EXISTS, ALTER TABLE ADD COLUMN), so a
 * newer sidecar upgrades the file in place and never drops history.
 */
export function migrate(db: Database, component: string, steps: ReadonlyArray<(db: Database) => void>): void {
  db.exec('CREATE TABLE IF NOT EXISTS vigilo_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const current = Number(db.get('SELECT version FROM vigilo_schema WHERE component = ?', [component])?.version ?? 0);
  for (let version = current; version < steps.length; version++) {
    db.transaction(() => {
      steps[version](db);
      db.run('INSERT INTO vigilo_schema (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version', [component, version + 1]);
    });
  }
}
