import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSizes } from '../../shared/api';
import { walLimitBytes } from './engine';

/**
 * What the SQLite databases of a data dir take on disk (GET /status
 * `database`): each `*.sqlite` file and its write-ahead log, as they are now.
 */
export function databaseSizes(dataDir: string, limitBytes = walLimitBytes()): DatabaseSizes {
  const size = (file: string) => statSync(join(dataDir, file), { throwIfNoEntry: false })?.size ?? 0;
  let names: string[] = [];
  try {
    names = readdirSync(dataDir).filter(n => n.endsWith('.sqlite')).sort();
  } catch {
    // no data dir yet: nothing stored
  }
  const files = names.map(name => ({ name, dbBytes: size(name), walBytes: size(`${name}-wal`) }));
  return {
    dbBytes: files.reduce((a, f) => a + f.dbBytes, 0),
    walBytes: files.reduce((a, f) => a + f.walBytes, 0),
    walLimitBytes: limitBytes,
    files
  };
}
