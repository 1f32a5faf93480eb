import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LlmCallEvent } from '../shared/llm-api';

/**
 * Undelivered call events on disk, shared with the Python client: `<data dir>/llm-spool/`
 * (the same folder, names and claims as vigilo/llm/_spool.py, so either client delivers
 * what the other left, and one byte bound covers both).
 *
 * - A file `<ns>-<pid>-<hex>-<n>.jsonl` (n: its events) is written whole under `.<name>.tmp`
 *   (0600, in a 0700 folder), then renamed into place: a process killed mid-write leaves no
 *   torn file. No fsync: what it guards against (the machine itself going down) takes the
 *   notebook's runtime and its sidecar with it, and it would cost the user's call.
 * - A reader claims a file by renaming it to `<name>.claimed-<pid>`: of two readers one wins;
 *   a claim whose process died is taken over. Once its events are stored the file is deleted.
 * - Each event keeps its id, and the sidecar stores an id once: a file sent twice counts once.
 */
export const SPOOL_FOLDER = 'llm-spool';
const SUFFIX = '.jsonl';
const CLAIM = '.claimed-';

export interface SpoolFile {
  name: string;
  bytes: number;
}

/** Whether a pid lives (the client library does not import the sidecar's core/discovery.isPidAlive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let sequence = 0;

export class Outbox {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, SPOOL_FOLDER);
  }

  /** Write events (oldest first) as one new file; returns its size in bytes. Throws when the disk refuses. */
  write(events: LlmCallEvent[]): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const text = events.map(e => JSON.stringify(e)).join('\n') + '\n';
    // Nanoseconds since the epoch, as Python's time.time_ns() names its files: the two sort together.
    const ns = (BigInt(Date.now()) * 1_000_000n + BigInt(sequence++ % 1_000_000)).toString().padStart(20, '0');
    const name = `${ns}-${process.pid}-${randomBytes(4).toString('hex')}-${events.length}${SUFFIX}`;
    const tmp = join(this.dir, `.${name}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    return Buffer.byteLength(text);
  }

  /** The files waiting, oldest first, claimed ones included (for the byte bound). */
  files(): SpoolFile[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const files: SpoolFile[] = [];
    for (const name of names.filter(n => n.includes(SUFFIX) && !n.startsWith('.')).sort()) {
      try {
        files.push({ name, bytes: statSync(join(this.dir, name)).size });
      } catch {
        // Claimed or deleted by another process meanwhile.
      }
    }
    return files;
  }

  /** Bytes waiting on disk, every client's. */
  bytes(): number {
    return this.files().reduce((sum, f) => sum + f.bytes, 0);
  }

  /** The oldest file no live process holds, claimed by this one, with its events; null when none is left. */
  claim(): { events: LlmCallEvent[]; path: string } | null {
    for (const file of this.files()) {
      const [base, holder] = file.name.split(CLAIM);
      if (holder !== undefined) {
        const pid = Number(holder);
        if (!Number.isInteger(pid) || (pid !== process.pid && alive(pid))) {
          continue; // another live process is sending it
        }
      }
      const path = join(this.dir, `${base}${CLAIM}${process.pid}`);
      try {
        renameSync(join(this.dir, file.name), path);
      } catch {
        continue; // another reader was first
      }
      try {
        const events = readFileSync(path, 'utf8')
          .split('\n')
          .filter(line => line.trim())
          .map(line => JSON.parse(line) as LlmCallEvent);
        return { events, path };
      } catch {
        // Unreadable: set aside, as the Python client does.
        try {
          renameSync(path, join(this.dir, `.${base}.bad`));
        } catch {
          // Gone.
        }
      }
    }
    return null;
  }

  /** The claimed file's events are stored: remove it. */
  done(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}
