import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

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

/** Create the data dir (0700) if needed and tighten it if it already exists. */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Write a state file atomically with mode 0600: a temp file in the same
 * directory, fsync, rename. Readers never see half a file.
 */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
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
    unlinkSync(discoveryPath(dataDir));
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
