import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LlmCallEvent } from '../shared/llm-api';

/**
 * The client's undelivered events on disk: `<data dir>/outbox/ts-*.jsonl`
 * (dir 0700, files 0600, one event per line, written whole: temp file, then
 * rename, so a process killed mid-write leaves no torn file; no fsync: what
 * it guards against, the machine itself going down, takes a notebook's
 * runtime and its sidecar with it, and it would cost the user's call). Written when the in-memory buffer would overflow and at process
 * exit; read back and sent by any TypeScript client of the data dir once a
 * sidecar answers (this process, or the next one). A file is taken for sending
 * by renaming it to `….sending-<pid>`, so two processes never send one file at
 * the same time; one whose taker died is put back. Events keep their ids, and
 * the sidecar stores an id once, so a file sent twice is still counted once.
 */
export interface OutboxFile {
  path: string;
  bytes: number;
}

const PREFIX = 'ts-';
const SUFFIX = '.jsonl';
const TAKEN = /\.sending-(\d+)$/;

/** Whether a pid lives (the client library does not import the sidecar's core/discovery.isPidAlive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Outbox {
  constructor(readonly dir: string) {}

  /** Write events as one new file; returns its size in bytes. Throws when the disk refuses. */
  write(events: LlmCallEvent[]): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const text = events.map(e => JSON.stringify(e)).join('\n') + '\n';
    const name = `${PREFIX}${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}${SUFFIX}`;
    const tmp = join(this.dir, `.${name}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    return Buffer.byteLength(text);
  }

  /** The files waiting (oldest first), after putting back those whose taker died. */
  list(): OutboxFile[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const files: OutboxFile[] = [];
    for (const name of names) {
      if (!name.startsWith(PREFIX)) {
        continue;
      }
      const taken = TAKEN.exec(name);
      let path = join(this.dir, name);
      if (taken) {
        if (alive(Number(taken[1]))) {
          continue;
        }
        const back = path.replace(TAKEN, '');
        try {
          renameSync(path, back);
          path = back;
        } catch {
          continue;
        }
      }
      if (!path.endsWith(SUFFIX)) {
        continue;
      }
      try {
        files.push({ path, bytes: statSync(path).size });
      } catch {
        // Taken by another process meanwhile.
      }
    }
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Take a file for sending: its events, or null when another process took it first. A damaged line is skipped. */
  take(file: OutboxFile): { events: LlmCallEvent[]; taken: string } | null {
    const taken = `${file.path}.sending-${process.pid}`;
    try {
      renameSync(file.path, taken);
    } catch {
      return null;
    }
    const events: LlmCallEvent[] = [];
    for (const line of readFileSync(taken, 'utf8').split('\n')) {
      if (line.trim()) {
        try {
          events.push(JSON.parse(line) as LlmCallEvent);
        } catch {
          // A torn line cannot happen (files are renamed whole); anything else unreadable is skipped.
        }
      }
    }
    return { events, taken };
  }

  /** The file's events are stored: remove it. */
  done(taken: string): void {
    try {
      unlinkSync(taken);
    } catch {
      // Already gone.
    }
  }

  /** Sending failed: put the file back for a later try. */
  giveBack(taken: string): void {
    try {
      renameSync(taken, taken.replace(TAKEN, ''));
    } catch {
      // Gone; its events were sent by then or are lost with the file.
    }
  }
}
