import { createHash } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/**
 * One sidecar per data dir, by construction: the sidecar claims its data dir
 * for its whole life by listening on a local socket that only one process can
 * hold, and that the kernel takes back the moment the holder dies (kill -9
 * included), so a claim is never left behind.
 *
 * - Linux: an abstract-namespace Unix socket (no file) named after the data
 *   dir's device and inode, so two spellings of one directory (a symlink, a
 *   relative path) are one claim.
 * - Windows: a named pipe, same name.
 * - macOS and other systems: `<data dir>/sidecar.sock`; a socket file that
 *   nobody listens on (its holder died) is removed and claimed again.
 *
 * Whoever connects to a claim reads the holder's pid (one line), which the
 * loser names when it attaches. The start lock of the Python launcher
 * (`<data dir>/start.lock`, vigilo/_sidecar.py) queues the notebook starters in
 * front of this; the claim also covers `vigilo serve` run by hand.
 */
export interface DataDirClaim {
  /** Give the claim back (the process exiting does the same). */
  release(): Promise<void>;
}

export type ClaimResult = { claimed: true; claim: DataDirClaim } | { claimed: false; holderPid: number | null };

/** The socket address that stands for this data dir (which must exist). */
export function claimAddress(dataDir: string, platform: NodeJS.Platform = process.platform): string {
  const st = statSync(dataDir);
  const id = createHash('sha256').update(`${st.dev}:${st.ino}`).digest('hex').slice(0, 32);
  if (platform === 'linux') {
    return `\0vigilo-sidecar-${id}`;
  }
  if (platform === 'win32') {
    return `\\\\.\\pipe\\vigilo-sidecar-${id}`;
  }
  return join(dataDir, 'sidecar.sock');
}

function listen(address: string, pid: number): Promise<Server | NodeJS.ErrnoException> {
  return new Promise(resolve => {
    const server = createServer(socket => {
      socket.on('error', () => undefined);
      socket.end(`${pid}\n`);
    });
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ path: address, exclusive: true }, () => resolve(server));
  });
}

/** The pid a live claim announces, or 'nobody' when nothing listens on it (a socket file left by a dead holder). */
export function askHolder(address: string, timeoutMs = 1000): Promise<number | null | 'nobody'> {
  return new Promise(resolve => {
    let text = '';
    const socket = connect({ path: address });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', chunk => (text += chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      const pid = Number.parseInt(text, 10);
      resolve(Number.isInteger(pid) ? pid : null);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'nobody' : null);
    });
  });
}

/** Claim the data dir for this process, or say who holds it. */
export async function claimDataDir(dataDir: string, pid: number = process.pid, platform: NodeJS.Platform = process.platform): Promise<ClaimResult> {
  const address = claimAddress(dataDir, platform);
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await listen(address, pid);
    if (!(result instanceof Error)) {
      const server = result;
      server.unref();
      return {
        claimed: true,
        claim: { release: () => new Promise<void>(resolve => server.close(() => resolve())) }
      };
    }
    if (result.code !== 'EADDRINUSE') {
      throw result;
    }
    const holder = await askHolder(address);
    if (holder !== 'nobody') {
      return { claimed: false, holderPid: holder };
    }
    // A socket file whose holder died (only where the claim is a file): remove it, claim again once.
    try {
      unlinkSync(address);
    } catch {
      // Someone else removed it first; the second listen decides.
    }
  }
  return { claimed: false, holderPid: null };
}
