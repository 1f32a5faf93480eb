#!/usr/bin/env node
// SQLite engines side by side on the LLM history's write pattern: one call row
// plus its running totals (7 upserts) per event, batched (500 events per
// transaction) and one event per transaction, then a point lookup and an
// indexed "latest 64 of a conversation" read, on a file in WAL mode.
//   node bench/history-engines.mjs [--events 20000] [--better /path/to/node_modules/better-sqlite3]
// Run it with each Node you care about (node:sqlite needs Node >= 22.13; better-sqlite3 13 needs >= 22).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliArgs, ROOT, summary } from './lib.mjs';

const args = cliArgs();
const events = Number(args.events ?? 20000);
const require = createRequire(join(ROOT, 'package.json'));

const SCHEMA = `
CREATE TABLE calls (id TEXT PRIMARY KEY, conv TEXT, started INTEGER, provider TEXT, model TEXT, input INTEGER, output INTEGER, cost REAL, latency REAL, tags TEXT, messages TEXT);
CREATE INDEX calls_conv ON calls(conv, started);
CREATE TABLE agg (dim TEXT, key TEXT, bucket TEXT, calls INTEGER, cost REAL, input INTEGER, output INTEGER, PRIMARY KEY (dim, key, bucket)) WITHOUT ROWID;`;
const INSERT = 'INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const UPSERT = 'INSERT INTO agg VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (dim, key, bucket) DO UPDATE SET calls = calls + 1, cost = cost + excluded.cost, input = input + excluded.input, output = output + excluded.output';
const DIMS = ['run', 'run_provider', 'day', 'day_provider', 'day_model', 'conv', 'run_model'];

/** Each engine as { name, exec(sql), stmt(sql) → { run(...p), get(...p), all(...p) }, close() }. */
const engines = {
  wasm: file => {
    const { Database } = require('node-sqlite3-wasm');
    const db = new Database(file);
    db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;');
    return { exec: s => db.exec(s), stmt: s => { const p = db.prepare(s); return { run: (...v) => p.run(v), get: (...v) => p.get(v), all: (...v) => p.all(v) }; }, close: () => db.close() };
  },
  'wasm (rollback journal, as 0.1.0)': file => {
    const { Database } = require('node-sqlite3-wasm');
    const db = new Database(file);
    return { exec: s => db.exec(s), stmt: s => { const p = db.prepare(s); return { run: (...v) => p.run(v), get: (...v) => p.get(v), all: (...v) => p.all(v) }; }, close: () => db.close() };
  },
  'node:sqlite': file => {
    const mod = process.getBuiltinModule?.('node:sqlite');
    if (!mod) throw new Error(`not in Node ${process.version}`);
    const db = new mod.DatabaseSync(file);
    db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;');
    return { exec: s => db.exec(s), stmt: s => db.prepare(s), close: () => db.close() };
  },
  'better-sqlite3': file => {
    if (!args.better) throw new Error('pass --better <path to better-sqlite3>');
    // better-sqlite3 13 declares Node >= 22 and crashes the process (SIGSEGV) on Node 20.
    if (Number(process.versions.node.split('.')[0]) < 22) throw new Error(`better-sqlite3 13 needs Node >= 22 (segfaults on ${process.version})`);
    const Database = createRequire(import.meta.url)(args.better);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return { exec: s => db.exec(s), stmt: s => db.prepare(s), close: () => db.close() };
  }
};

function event(i) {
  return [`id-${i}-${Math.random().toString(36).slice(2)}`, `conv-${i % 500}`, 1_760_000_000_000 + i * 1000, ['openai', 'anthropic', 'google'][i % 3], `model-${i % 7}`, 1200, 300, 0.00042, 812.5, '{"bench":"1"}', JSON.stringify([{ role: 'user', content: `Question ${i}` }])];
}

function write(db, s, e) {
  s.insert.run(...e);
  for (const d of DIMS) s.upsert.run(d, e[1].slice(0, 6), d.includes('model') ? e[4] : e[3], e[7], e[5], e[6]);
}

function bench(name, open) {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-engines-'));
  try {
    const t0 = performance.now();
    const db = open(join(dir, 'db.sqlite'));
    const openMs = performance.now() - t0;
    db.exec(SCHEMA);
    const s = { insert: db.stmt(INSERT), upsert: db.stmt(UPSERT) };
    let i = 0;
    let t = performance.now();
    while (i < events) {
      db.exec('BEGIN');
      for (let k = 0; k < 500 && i < events; k++) write(db, s, event(i++));
      db.exec('COMMIT');
    }
    const batched = events / ((performance.now() - t) / 1000);
    const singles = Math.min(events, 5000);
    t = performance.now();
    for (let k = 0; k < singles; k++) {
      db.exec('BEGIN');
      write(db, s, event(i++));
      db.exec('COMMIT');
    }
    const single = singles / ((performance.now() - t) / 1000);
    const point = db.stmt('SELECT * FROM agg WHERE dim = ? AND key = ? AND bucket = ?');
    const window = db.stmt('SELECT * FROM calls WHERE conv = ? ORDER BY started DESC LIMIT 64');
    const lat = (fn) => { const v = []; for (let k = 0; k < 200; k++) { const a = performance.now(); fn(k); v.push(performance.now() - a); } return summary(v); };
    const p = lat(k => point.get('day', `conv-${k % 500}`.slice(0, 6), 'openai'));
    const w = lat(k => window.all(`conv-${k % 500}`));
    db.close();
    console.log(`${name.padEnd(34)} open ${openMs.toFixed(1).padStart(6)} ms | batched ${Math.round(batched).toLocaleString('en-US').padStart(7)} ev/s | one per txn ${Math.round(single).toLocaleString('en-US').padStart(7)} ev/s | point p50 ${p.p50.toFixed(3)} ms | latest-64 p50 ${w.p50.toFixed(3)} ms p99 ${w.p99.toFixed(3)} ms`);
  } catch (error) {
    console.log(`${name.padEnd(34)} unavailable: ${error.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`Node ${process.version}, ${events} events, each = 1 row + ${DIMS.length} upserts`);
for (const [name, open] of Object.entries(engines)) bench(name, open);
