import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { storageError } from './errors';

export const DISCOVERY_FILE = 'sidecar.json';

export const Discovery = z.object({
  url: z.string(),
  port: z.number().int(),
  pid: z.number().int(),
  token: z.string(),
  version: z.string(),
  apiVersion: z.number().int(),
  started_at: z.string(),
  data_dir: z.string()
});
export type Discovery = z.infer<typeof Discovery>;

/** A data dir the sidecar cannot use (read-only, full, not ours): one line for the user, no stack. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/**
 * Create the data dir (0700) if needed, tighten it if it already exists, and
 * prove it takes a write: a read-only or full disk is found here, at start,
 * with a sentence that says what to do, instead of at the first request.
 */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const probe = join(dir, `.write-check.${process.pid}`);
    writePrivateFile(probe, 'ok\n');
    stateFs.unlinkSync(probe);
  } catch (error) {
    const problem = storageError(error, dir);
    const code = (error as NodeJS.ErrnoException).code;
    if (problem) {
      // A full disk, a read-only one, or another I/O failure on a writable disk: each said as what it is.
      const why: Record<string, string> = {
        disk_full: `the disk holding ${dir} is full; free some space or pass --data-dir <dir on another disk>.`,
        read_only: `${dir} is read-only; pass --data-dir <writable dir> (or set VIGILO_DATA_DIR).`
      };
      throw new DataDirError(
        why[problem.code] ?? `writing to ${dir} failed (${code ?? (error as Error).message}); check the disk holding it, or pass --data-dir <dir on another disk>.`
      );
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EEXIST') {
      throw new DataDirError(`cannot use ${dir} as the data dir (${code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : 'permission denied'}); pass --data-dir <writable dir> (or set VIGILO_DATA_DIR).`);
    }
    throw error;
  }
}

/**
 * The file calls behind every state-file write. A seam, not configuration:
 * tests replace one call to make the disk full (ENOSPC) or read-only (EROFS).
 */
export const stateFs = { openSync, writeSync, fsyncSync, closeSync, chmodSync, renameSync, unlinkSync };

/**
 * Write a state file atomically with mode 0600: a temp file in the same
 * directory, fsync, rename. Readers never see half a file; when any step
 * fails (disk full, read-only) the temp file is removed and the old file is
 * left as it was, then the error is thrown.
 */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = stateFs.openSync(tmp, 'w', 0o600);
  try {
    try {
      stateFs.writeSync(fd, content);
      stateFs.fsyncSync(fd);
    } finally {
      stateFs.closeSync(fd);
    }
    stateFs.chmodSync(tmp, 0o600);
    stateFs.renameSync(tmp, path);
  } catch (error) {
    try {
      stateFs.unlinkSync(tmp);
    } catch {
      // Already gone, or the disk refuses even that: the original error matters.
    }
    throw error;
  }
}

export function discoveryPath(dataDir: string): string {
  return join(dataDir, DISCOVERY_FILE);
}

export function readDiscovery(dataDir: string): Discovery | null {
  try {
    const parsed = Discovery.safeParse(JSON.parse(readFileSync(discoveryPath(dataDir), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function writeDiscovery(dataDir: string, discovery: Discovery): void {
  writePrivateFile(discoveryPath(dataDir), JSON.stringify(discovery, null, 2) + '\n');
}

/** Remove the discovery file, but only if it still describes `pid`. */
export function removeDiscovery(dataDir: string, pid: number): boolean {
  const current = readDiscovery(dataDir);
  if (current && current.pid !== pid) {
    return false;
  }
  try {
    stateFs.unlinkSync(discoveryPath(dataDir));
    return true;
  } catch {
    return false;
  }
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The /status of the sidecar a discovery file describes, when it is alive and
 * answers as itself: dead pid → null; otherwise GET /status with its token
 * within `timeoutMs`, null unless the answer names the same pid.
 */
export async function sidecarStatus(discovery: Discovery, timeoutMs = 1500): Promise<{ pid: number } | null> {
  if (!isPidAlive(discovery.pid)) {
    return null;
  }
  try {
    const response = await fetch(`${discovery.url}/status`, {
      headers: { authorization: `Bearer ${discovery.token}` },
      signal: AbortSignal.timeout(timeoutMs)
    });
    if (!response.ok) {
      return null;
    }
    const body = (await response.json()) as { pid?: number };
    return body.pid === discovery.pid ? (body as { pid: number }) : null;
  } catch {
    return null;
  }
}

/** Is the sidecar a discovery file describes alive and answering? */
export async function probeSidecar(discovery: Discovery, timeoutMs = 1500): Promise<boolean> {
  return (await sidecarStatus(discovery, timeoutMs)) !== null;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}
