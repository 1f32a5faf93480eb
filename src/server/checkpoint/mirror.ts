/**
 * Mirror a folder (a Trainer's output_dir, Lightning's checkpoint dir) to the
 * destination, complete files only: a file is copied once its size and mtime
 * held still across scans for `stableMs`, and the copy is committed only if
 * the source still has that size, mtime and inode afterwards, so a file
 * rewritten during the copy is never mirrored half old, half new; it is
 * copied again once it is stable.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Clock } from '../core/clock';
import { CHANGED_FIX, copyVerified, CopyError, isPartial, type CopyProgress, type CopyResult } from './copy';

/** At most this many files are looked at per scan (a runaway folder never stalls the sidecar). */
export const MIRROR_MAX_FILES = 10_000;

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  sinceMs: number;
}

export interface MirrorOptions {
  source: string;
  clock: Clock;
  stableMs: number;
  /** The folder to mirror into, or null when there is no destination now. */
  destination(): string | null;
  /** Progress of each file copy (the panel; tests use it to act mid-copy). */
  onCopyProgress?(rel: string, p: CopyProgress): void;
  /** The folder that must already exist (see CopyOptions.mustExist). */
  mustExist?(): string | undefined;
  onCopied(rel: string, result: CopyResult, durationMs: number): void;
  onError(rel: string, error: CopyError): void;
}

export class Mirror {
  private readonly seen = new Map<string, Seen>();
  private readonly copied = new Map<string, { size: number; mtimeMs: number; ino: number; bytes: number }>();
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastCopiedAtMs: number | null = null;

  constructor(private readonly options: MirrorOptions) {}

  tick(): void {
    if (!this.running && !this.stopped) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }
  }

  async idle(): Promise<void> {
    await this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  view(): { source: string; files: number; bytes: number; lastCopiedAt: string | null } {
    let bytes = 0;
    for (const c of this.copied.values()) bytes += c.bytes;
    return {
      source: this.options.source,
      files: this.copied.size,
      bytes,
      lastCopiedAt: this.lastCopiedAtMs !== null ? new Date(this.lastCopiedAtMs).toISOString() : null
    };
  }

  private async scan(): Promise<Array<{ rel: string; size: number; mtimeMs: number; ino: number }>> {
    const out: Array<{ rel: string; size: number; mtimeMs: number; ino: number }> = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (out.length >= MIRROR_MAX_FILES) return;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          await walk(full);
        } else if (entry.isFile() && !isPartial(entry.name)) {
          try {
            const st = await stat(full);
            out.push({ rel: relative(this.options.source, full), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
          } catch {
            // vanished between readdir and stat
          }
        }
      }
    };
    await walk(this.options.source);
    return out;
  }

  private async pass(): Promise<void> {
    const now = this.options.clock.now();
    const files = await this.scan();
    const ready: string[] = [];
    for (const f of files) {
      const prev = this.seen.get(f.rel);
      if (!prev || prev.size !== f.size || prev.mtimeMs !== f.mtimeMs || prev.ino !== f.ino) {
        this.seen.set(f.rel, { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino, sinceMs: now });
        continue;
      }
      const done = this.copied.get(f.rel);
      if (now - prev.sinceMs >= this.options.stableMs && (!done || done.size !== f.size || done.mtimeMs !== f.mtimeMs || done.ino !== f.ino)) {
        ready.push(f.rel);
      }
    }
    const dest = this.options.destination();
    if (!dest) return;
    for (const rel of ready) {
      if (this.stopped) return;
      const seen = this.seen.get(rel)!;
      const from = join(this.options.source, rel);
      const started = this.options.clock.now();
      try {
        const result = await copyVerified(from, join(dest, dirname(rel)), rel.split('/').pop()!, {
          replace: true,
          mustExist: this.options.mustExist?.(),
          progressEveryBytes: 1 << 20,
          onProgress: p => this.options.onCopyProgress?.(rel, p),
          beforeCommit: async () => {
            const st = await stat(from);
            if (st.size !== seen.size || st.mtimeMs !== seen.mtimeMs || st.ino !== seen.ino) {
              throw new CopyError(`${rel} changed while it was copied`, CHANGED_FIX, true, 'ECHANGED');
            }
          }
        });
        this.copied.set(rel, { size: seen.size, mtimeMs: seen.mtimeMs, ino: seen.ino, bytes: result.bytes });
        this.lastCopiedAtMs = this.options.clock.now();
        this.options.onCopied(rel, result, this.options.clock.now() - started);
      } catch (error) {
        const e = error instanceof CopyError ? error : new CopyError(String(error), 'See the sidecar log.', true, null);
        if (e.code === 'ECHANGED') {
          // Rewritten while we copied: stable again from its new state on.
          const st = await stat(from).catch(() => null);
          if (st) this.seen.set(rel, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sinceMs: this.options.clock.now() });
        } else {
          this.options.onError(rel, e);
        }
      }
    }
  }
}
