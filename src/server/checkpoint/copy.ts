/**
 * Copy a file or folder to the durable destination and prove the copy is good:
 * write under a temporary name in the destination, fsync, read it back and
 * compare size and sha256 with what was read from the source, then rename
 * atomically. Nothing here blocks the event loop: Node streams and fs.promises
 * only. Until the rename, the destination shows nothing new under the final
 * name, so a failure at any point leaves the previous checkpoint as it was.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';

export interface CopyProgress {
  phase: 'copying' | 'verifying';
  bytesDone: number;
  bytesTotal: number;
}

export interface CopyOptions {
  /** Called at most every `progressEveryBytes` (default 8 MiB) and at each phase end. */
  onProgress?(p: CopyProgress): void;
  progressEveryBytes?: number;
  /** Called after the copy is verified and before the rename; throw to abandon (e.g. the source changed meanwhile). */
  beforeCommit?(): Promise<void>;
  /** A size limit of the destination beyond free space (Kaggle's output limit), bytes left under it. */
  limitFreeBytes?: number | null;
  /** Room kept free on the destination besides the copy (default 16 MiB). */
  reserveBytes?: number;
  /** Replace an existing file of the same name (the mirror); otherwise the name must be new. */
  replace?: boolean;
  /**
   * A folder that must already exist (the Drive mount's MyDrive, /kaggle/working): folders are
   * created below it, never it, so an unmounted Drive is never recreated on the ephemeral disk.
   */
  mustExist?: string;
}

export interface CopyResult {
  path: string;
  bytes: number;
  /** sha256 of the file; for a folder, of the sorted "sha256  relpath" lines of its files. */
  sha256: string;
  files: number;
}

/** Room kept free on the destination besides a checkpoint. */
export const RESERVE_BYTES = 16 * 1024 * 1024;

export const CHANGED_FIX = 'Nothing to do: it is copied again once it stops changing.';

/** Why a copy failed, in the user's terms, and whether retrying can help. */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly fix: string,
    readonly retryable: boolean,
    readonly code: string | null
  ) {
    super(message);
  }
}

interface FileEntry {
  rel: string;
  size: number;
  mtimeMs: number;
}

async function listFiles(root: string, st: Stats): Promise<FileEntry[]> {
  if (st.isFile()) {
    return [{ rel: '', size: st.size, mtimeMs: st.mtimeMs }];
  }
  const out: FileEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
      } else if (entry.isFile()) {
        const s = await stat(full);
        out.push({ rel: relative(root, full), size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Copy one file to `to` (created exclusively, 0600) with Node streams, then fsync it. */
async function copyFile(from: string, to: string, count: (n: number) => void): Promise<void> {
  const source = createReadStream(from, { highWaterMark: 1 << 20 });
  source.on('data', chunk => count(chunk.length));
  await pipeline(source, createWriteStream(to, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }));
  // fsync applies to the file, not the descriptor: a fresh one flushes what the stream wrote.
  const handle = await open(to, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Files at least this big are hashed on a worker thread: source and copy in parallel, the event loop free. */
export const WORKER_HASH_BYTES = 16 * 1024 * 1024;

const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
let bytes = 0;
let told = 0;
createReadStream(workerData, { highWaterMark: 1 << 20 })
  .on('data', chunk => {
    hash.update(chunk);
    bytes += chunk.length;
    if (bytes - told >= 4 << 20) { parentPort.postMessage({ bytes: bytes - told }); told = bytes; }
  })
  .on('end', () => parentPort.postMessage({ bytes: bytes - told, sha256: hash.digest('hex'), total: bytes }))
  .on('error', error => parentPort.postMessage({ error: error.message, code: error.code ?? null }));
`;

/** sha256 and size of a file as read from its filesystem now. */
function hashFile(path: string, size: number, count: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  if (size < WORKER_HASH_BYTES) {
    return new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      let bytes = 0;
      createReadStream(path, { highWaterMark: 1 << 20 })
        .on('data', chunk => {
          hash.update(chunk);
          bytes += chunk.length;
          count(chunk.length);
        })
        .on('end', () => resolve({ sha256: hash.digest('hex'), bytes }))
        .on('error', reject);
    });
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: path });
    worker.on('message', (m: { bytes: number; sha256?: string; total?: number; error?: string; code?: string | null }) => {
      if (m.error !== undefined) {
        reject(Object.assign(new Error(m.error), { code: m.code ?? undefined }));
        void worker.terminate();
        return;
      }
      count(m.bytes);
      if (m.sha256 !== undefined) {
        resolve({ sha256: m.sha256, bytes: m.total ?? 0 });
        void worker.terminate();
      }
    });
    worker.on('error', reject);
  });
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems (FUSE, some network mounts) refuse fsync on a folder; the file itself was synced.
  }
}

/** errno codes of a FUSE/network hiccup of the destination: the same copy may well work a moment later. */
export const HICCUP_CODES: ReadonlySet<string> = new Set(['EIO', 'ENOTCONN', 'ETIMEDOUT', 'EAGAIN', 'EBUSY', 'ECONNABORTED']);

/** errno → what happened and what to do. */
export function explain(error: unknown, dest: string): CopyError {
  if (error instanceof CopyError) {
    return error;
  }
  const code = (error as NodeJS.ErrnoException)?.code ?? null;
  const raw = (error as Error)?.message ?? String(error);
  if (code !== null && HICCUP_CODES.has(code)) {
    return new CopyError(`the destination ${dest} failed mid-copy (${raw}): a FUSE/network hiccup`, 'Nothing to do unless it repeats; Vigilo retries with backoff. If it repeats, remount Drive.', true, code);
  }
  switch (code) {
    case 'ENOSPC':
      return new CopyError(`the destination ${dest} is full (${raw})`, 'Free space there (delete old checkpoints or files), lower "keep", or choose another destination.', false, code);
    case 'EDQUOT':
      return new CopyError(`the storage quota of ${dest} is used up (Google Drive full?) (${raw})`, 'Free space in Google Drive (empty its trash too) or choose another destination.', false, code);
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return new CopyError(`the destination ${dest} is read-only or not writable (${raw})`, 'Make it writable, remount Drive (drive.mount(..., force_remount=True)), or choose another destination.', false, code);
    case 'ENOENT':
    case 'ENOTDIR':
      return new CopyError(`the destination ${dest} disappeared during the save (unmounted or deleted) (${raw})`, 'Mount Google Drive again (drive.mount(\'/content/drive\')) or recreate the folder; the next save retries.', true, code);
    default:
      return new CopyError(`copy to ${dest} failed: ${raw}`, 'See the sidecar log; the previous checkpoint is intact and Vigilo retries with backoff.', true, code);
  }
}

/**
 * Copy `source` (file or folder) to `destDir/name`, verified, atomically.
 * Throws CopyError; on failure the temporary copy is removed and nothing under
 * `name` changes.
 */
export async function copyVerified(source: string, destDir: string, name: string, options: CopyOptions = {}): Promise<CopyResult> {
  const final = join(destDir, name);
  const tmp = join(destDir, `.${name}.vigilo-partial-${process.pid}-${Date.now().toString(36)}`);
  let created = false;
  try {
    const st = await stat(source);
    const files = await listFiles(source, st);
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (options.mustExist && !(await stat(options.mustExist).then(s => s.isDirectory(), () => false))) {
      throw new CopyError(
        `the destination ${options.mustExist} is not there (Drive unmounted or the folder removed)`,
        "Mount Google Drive again (drive.mount('/content/drive')) or recreate the folder; Vigilo retries with backoff.",
        true,
        'ENOENT'
      );
    }
    await mkdir(destDir, { recursive: true });
    const fsStat = await statfs(destDir);
    const free = Number(fsStat.bavail) * Number(fsStat.bsize);
    const reserve = options.reserveBytes ?? RESERVE_BYTES;
    if (free < total + reserve) {
      throw new CopyError(
        `not enough room in ${destDir}: the checkpoint needs ${mib(total)}, ${mib(free)} free`,
        'Free space there (delete old checkpoints or files), lower "keep", or choose another destination.',
        false,
        'ENOSPC'
      );
    }
    if (options.limitFreeBytes !== null && options.limitFreeBytes !== undefined && options.limitFreeBytes < total) {
      throw new CopyError(
        `the checkpoint (${mib(total)}) does not fit in the ${mib(options.limitFreeBytes)} left under the destination's size limit`,
        'Delete outputs you do not need from /kaggle/working or lower "keep".',
        false,
        'ENOSPC'
      );
    }
    if (!options.replace && (await stat(final).then(() => true, () => false))) {
      throw new CopyError(`${final} already exists`, 'Use another checkpoint name; existing checkpoints are never overwritten.', false, 'EEXIST');
    }
    let done = 0;
    let lastReported = 0;
    const every = options.progressEveryBytes ?? 8 * 1024 * 1024;
    const report = (phase: CopyProgress['phase'], force = false): void => {
      if (force || done - lastReported >= every) {
        lastReported = done;
        options.onProgress?.({ phase, bytesDone: done, bytesTotal: total });
      }
    };
    created = true;
    if (st.isFile()) {
      await copyFile(source, tmp, n => ((done += n), report('copying')));
    } else {
      await mkdir(tmp, { mode: 0o700 });
      for (const f of files) {
        const to = join(tmp, f.rel);
        await mkdir(dirname(to), { recursive: true });
        await copyFile(join(source, f.rel), to, n => ((done += n), report('copying')));
      }
    }
    report('copying', true);
    const copiedBytes = done;
    if (copiedBytes !== total) {
      throw new CopyError(`${source} changed size while it was copied (${total} → ${copiedBytes} bytes)`, CHANGED_FIX, true, 'ECHANGED');
    }
    // Verify: hash the source and read every byte of the copy back from the destination, in parallel.
    done = 0;
    lastReported = 0;
    const sourceHashes: string[] = [];
    const backHashes: string[] = [];
    let readBytes = 0;
    for (const f of files) {
      const from = f.rel ? join(source, f.rel) : source;
      const [src, back] = await Promise.all([
        hashFile(from, f.size, () => undefined),
        hashFile(f.rel ? join(tmp, f.rel) : tmp, f.size, n => ((done += n), report('verifying')))
      ]);
      const now = await stat(from);
      if (now.size !== f.size || now.mtimeMs !== f.mtimeMs) {
        throw new CopyError(`${from} changed while it was copied`, CHANGED_FIX, true, 'ECHANGED');
      }
      sourceHashes.push(src.sha256);
      backHashes.push(back.sha256);
      readBytes += back.bytes;
    }
    report('verifying', true);
    const combined = (hashes: string[]): string =>
      st.isFile() ? hashes[0] : createHash('sha256').update(files.map((f, i) => `${hashes[i]}  ${f.rel}\n`).join('')).digest('hex');
    const want = combined(sourceHashes);
    const got = combined(backHashes);
    if (readBytes !== total || got !== want) {
      throw new CopyError(
        `the copy read back from ${destDir} does not match (${readBytes} of ${total} bytes, sha256 ${got.slice(0, 12)} ≠ ${want.slice(0, 12)})`,
        'The destination corrupted the data; Vigilo retries. If it repeats, remount Drive or choose another destination.',
        true,
        'EVERIFY'
      );
    }
    await options.beforeCommit?.();
    if (options.replace && !st.isFile()) {
      // rename() replaces a file atomically, but not a non-empty folder.
      await rm(final, { recursive: true, force: true });
    }
    await rename(tmp, final);
    created = false;
    await fsyncDir(destDir);
    return { path: final, bytes: total, sha256: want, files: files.length };
  } catch (error) {
    if (created) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
    throw explain(error, destDir);
  }
}

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Leftover temporary copies from a sidecar killed mid-copy: never a checkpoint, removed on start. */
export async function removePartials(destDir: string): Promise<number> {
  let removed = 0;
  try {
    for (const entry of await readdir(destDir)) {
      if (entry.startsWith('.') && entry.includes('.vigilo-partial-')) {
        await rm(join(destDir, entry), { recursive: true, force: true });
        removed++;
      }
    }
  } catch {
    // no destination yet
  }
  return removed;
}

export const isPartial = (name: string): boolean => basename(name).includes('.vigilo-partial-');
