import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseBusyError, defaultEngine, openDatabase } from './engine';

let dir: string;
let bundleDir: string;
/** engine.ts as a CommonJS file, for the real child processes below. */
let engineBundle: string;
beforeAll(async () => {
  // Inside the project, so the bundle resolves node-sqlite3-wasm from node_modules.
  const cache = join(__dirname, '..', '..', '..', 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  bundleDir = mkdtempSync(join(cache, 'vigilo-engine-bundle-'));
  engineBundle = join(bundleDir, 'engine.cjs');
  await build({ entryPoints: [join(__dirname, 'engine.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: engineBundle, logLevel: 'error' });
});
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigilo-engine-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A pid that is certainly not running: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

const engines = (['wasm', ...(defaultEngine() === 'node:sqlite' ? ['node'] : [])] as const).map(e => e as 'wasm' | 'node');

describe.each(engines)('openDatabase (%s engine)', engine => {
  it('stores rows that a reopen reads back, in a 0600 file, in WAL mode', () => {
    const file = join(dir, 'a.sqlite');
    const db = openDatabase(file, { engine });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.transaction(() => {
      for (let i = 0; i < 10; i++) {
        db.run('INSERT INTO t (v) VALUES (?)', [`v${i}`]);
      }
    });
    expect(String(db.get('PRAGMA journal_mode')?.journal_mode)).toBe('wal');
    db.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = openDatabase(file, { engine });
    expect(again.get('SELECT COUNT(*) AS n FROM t')?.n).toBe(10);
    expect(again.all('SELECT v FROM t WHERE id > ? ORDER BY id', [8])).toEqual([expect.objectContaining({ v: 'v8' }), expect.objectContaining({ v: 'v9' })]);
    again.close();
  });

  it('rolls a failed transaction back whole', () => {
    const db = openDatabase(join(dir, 'b.sqlite'), { engine });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    expect(() =>
      db.transaction(() => {
        db.run('INSERT INTO t (id) VALUES (1)');
        db.run('INSERT INTO t (id) VALUES (1)');
      })
    ).toThrow(/UNIQUE/);
    expect(db.get('SELECT COUNT(*) AS n FROM t')?.n).toBe(0);
    db.close();
  });

  it('shares one connection between modules that open the same file', () => {
    const file = join(dir, 'c.sqlite');
    const a = openDatabase(file, { engine });
    const b = openDatabase(file, { engine });
    a.exec('CREATE TABLE t (x INTEGER)');
    b.run('INSERT INTO t VALUES (1)');
    a.close();
    expect(b.get('SELECT COUNT(*) AS n FROM t')?.n).toBe(1);
    b.close();
  });

  it('opens after a process holding the database was killed with SIGKILL mid-transaction', async () => {
    const file = join(dir, 'd.sqlite');
    const setup = openDatabase(file, { engine });
    setup.exec('CREATE TABLE t (x INTEGER)');
    setup.run('INSERT INTO t VALUES (1)');
    setup.close();
    // A real second process opens the database, starts a transaction and is killed inside it.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const { openDatabase } = require(${JSON.stringify(engineBundle)});
         const db = openDatabase(${JSON.stringify(file)}, { engine: ${JSON.stringify(engine)} });
         db.exec('BEGIN IMMEDIATE'); db.run('INSERT INTO t VALUES (2)'); process.stdout.write('in-transaction\\n'); setInterval(() => {}, 1000);`
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(__dirname, '..', '..', '..') }
    );
    await new Promise<void>((resolveReady, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('in-transaction') && resolveReady());
      child.on('exit', code => reject(new Error(`child exited ${code}`)));
    });
    if (engine === 'wasm') {
      expect(existsSync(`${file}.lock`)).toBe(true);
      // A live owner's lock is never broken.
      expect(() => openDatabase(file, { engine })).toThrow(DatabaseBusyError);
    }
    child.kill('SIGKILL');
    await new Promise(r => child.on('exit', r));
    const db = openDatabase(file, { engine });
    expect(db.all('SELECT x FROM t')).toEqual([expect.objectContaining({ x: 1 })]);
    db.close();
  }, 20_000);
});

describe('WASM lock recovery', () => {
  it('removes a lock whose recorded owner is dead, then releases its own on close', () => {
    const file = join(dir, 'e.sqlite');
    mkdirSync(`${file}.lock`);
    writeFileSync(`${file}.owner`, JSON.stringify({ pid: deadPid(), start: null }));
    const db = openDatabase(file, { engine: 'wasm' });
    db.exec('CREATE TABLE t (x INTEGER)');
    db.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(existsSync(`${file}.owner`)).toBe(false);
  });

  it('treats a lock with no owner that stays unchanged as left by an older sidecar', () => {
    const file = join(dir, 'f.sqlite');
    mkdirSync(`${file}.lock`);
    const db = openDatabase(file, { engine: 'wasm', staleLockSettleMs: 200 });
    db.exec('CREATE TABLE t (x INTEGER)');
    db.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('recovers from an owner file left empty by a process killed while writing it', () => {
    const file = join(dir, 'h.sqlite');
    writeFileSync(`${file}.owner`, '');
    const db = openDatabase(file, { engine: 'wasm', staleLockSettleMs: 200 });
    db.exec('CREATE TABLE t (x INTEGER)');
    db.close();
    expect(existsSync(`${file}.owner`)).toBe(false);
  });

  it('refuses a database whose owner is alive, naming it', () => {
    const file = join(dir, 'g.sqlite');
    writeFileSync(`${file}.owner`, JSON.stringify({ pid: process.ppid, start: null }));
    expect(() => openDatabase(file, { engine: 'wasm' })).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });
});
