import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { openaiEvent } from '../../../test/fakes/events';
import { removeDir, startSidecar, tempDir } from '../../../test/fakes/sidecar';
import { cliPath, runCli } from '../../../test/sidecarProcess';
import { createApp } from './app';
import { DataDirError, discoveryPath, ensureDataDir, readDiscovery, stateFs, writePrivateFile } from './discovery';
import { storageError, type DiskProbe } from './errors';
import { jsonRoute } from './route';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = tempDir('vigilo-storage-');
  cleanups.push(() => removeDir(d));
  return d;
}

const errno = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}`), { code });
const enospc = () => errno('ENOSPC', 'no space left on device, write');
const erofs = () => errno('EROFS', 'read-only file system, open');

const probe = (freeBytes: number | null, writable = true): DiskProbe => ({ freeBytes: () => freeBytes, writable: () => writable });

/** Root ignores chmod; a real read-only or full disk then needs a mount. */
const isRoot = process.getuid?.() === 0;
function canMount(): boolean {
  if (!isRoot) return false;
  const d = tempDir('vigilo-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], { stdio: 'ignore' });
    execFileSync('umount', [d], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    removeDir(d);
  }
}
const mountable = canMount();

function mount(args: string[], target: string): void {
  execFileSync('mount', [...args, target], { stdio: 'ignore' });
  cleanups.push(() => spawnSync('umount', ['-l', target], { stdio: 'ignore' }));
}

describe('storageError: every way a full or read-only disk shows up, one answer', () => {
  it('maps ENOSPC, SQLITE_FULL and EROFS to 507 answers that name the data dir', () => {
    expect(storageError(enospc(), '/data/vigilo')).toMatchObject({ status: 507, code: 'disk_full', message: expect.stringMatching(/^The disk holding \/data\/vigilo is full/) });
    expect(storageError(new Error('SQLITE_FULL: database or disk is full'), '/d')).toMatchObject({ code: 'disk_full' });
    expect(storageError(erofs(), '/d')).toMatchObject({ status: 507, code: 'read_only', message: expect.stringMatching(/\/d is read-only/) });
    expect(storageError(new Error('attempt to write a readonly database'), '/d')).toMatchObject({ code: 'read_only' });
    expect(storageError(new Error('something else'), '/d')).toBeNull();
  });

  it('asks the disk what a bare "disk I/O error" was', () => {
    const io = new Error('disk I/O error');
    expect(storageError(io, '/d', probe(0))!.code).toBe('disk_full');
    expect(storageError(io, '/d', probe(10e9, false))!.code).toBe('read_only');
    expect(storageError(io, '/d', probe(10e9))).toMatchObject({ status: 507, code: 'storage_failed', message: expect.stringMatching(/Writing to \/d failed \(disk I\/O error\)/) });
  });

  it('answers a route that hits a full disk with 507 and one log line, not a stack', async () => {
    const lines: string[] = [];
    const app = createApp({
      token: 't',
      version: '0',
      dataDir: '/data/vigilo',
      diskProbe: probe(0),
      log: l => lines.push(l),
      modules: [{ name: 'x', routes: [jsonRoute({ method: 'post', path: '/write', summary: 'x', body: z.object({}), response: z.object({}), handler: () => { throw new Error('disk I/O error'); } })] }]
    });
    const server: Server = await new Promise(r => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    cleanups.push(() => new Promise(r => server.close(r)));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/write`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(507);
    expect(((await res.json()) as any).error.message).toMatch(/^The disk holding \/data\/vigilo is full/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/\n\s+at /);
  });
});

describe('atomic state writes on a failing disk', () => {
  it('keep the old file and leave no temp file when the write fails (ENOSPC) or the rename fails (EROFS)', () => {
    const d = dir();
    const file = join(d, 'budgets.json');
    writePrivateFile(file, '{"old":true}\n');
    vi.spyOn(stateFs, 'writeSync').mockImplementation(() => {
      throw enospc();
    });
    expect(() => writePrivateFile(file, '{"new":true}\n')).toThrow(/ENOSPC/);
    vi.restoreAllMocks();
    vi.spyOn(stateFs, 'renameSync').mockImplementation(() => {
      throw erofs();
    });
    expect(() => writePrivateFile(file, '{"new":true}\n')).toThrow(/EROFS/);
    expect(readFileSync(file, 'utf8')).toBe('{"old":true}\n');
    expect(readdirSync(d)).toEqual(['budgets.json']);
  });
});

describe('settings on a full disk: persisted first, applied after, nothing half-applied', () => {
  it('PUT /llm/budgets answers 507 naming the data dir; the old limit stays live and after a restart', async () => {
    const d = dir();
    let sc = await startSidecar(d);
    cleanups.push(() => sc.stop());
    expect((await sc.send('PUT', '/llm/budgets', { sessionUsd: 5 })).status).toBe(200);
    vi.spyOn(stateFs, 'writeSync').mockImplementation(() => {
      throw enospc();
    });
    const refused = await sc.send('PUT', '/llm/budgets', { sessionUsd: 9, hardStop: true });
    expect(refused.status).toBe(507);
    expect(refused.body.error.message).toContain(`The disk holding ${d} is full`);
    expect((await sc.get('/llm/budgets')).body.limits).toEqual({ sessionUsd: 5 });
    vi.restoreAllMocks();
    await sc.stop();
    sc = await startSidecar(d);
    expect((await sc.get('/llm/budgets')).body.limits).toEqual({ sessionUsd: 5 });
    expect(readdirSync(d).filter(f => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe.runIf(mountable)('a real full disk (tmpfs, as root)', () => {
  it('POST /llm/events answers 507 "the disk holding <data dir> is full", then records again once space is freed', async () => {
    const d = dir();
    mount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs'], d);
    const sc = await startSidecar(d);
    cleanups.push(() => sc.stop());
    expect((await sc.send('POST', '/llm/events', { events: [openaiEvent()] })).status).toBe(200);
    // Fill the disk to the last block.
    const filler = join(d, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    const big = Array.from({ length: 200 }, () => openaiEvent({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] }));
    const refused = await sc.send('POST', '/llm/events', { events: big });
    expect(refused.status, JSON.stringify(refused.body)).toBe(507);
    expect(refused.body.error.message).toContain(`The disk holding ${d} is full`);
    rmSync(filler);
    const retried = await sc.send('POST', '/llm/events', { events: big });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.accepted).toBe(200);
  });
});

describe('a read-only data dir', () => {
  it('at start: one clear line and exit code 3, no stack trace', () => {
    const parent = dir();
    let dataDir: string;
    let expected: RegExp;
    if (mountable) {
      // Root ignores chmod: a read-only bind mount is what a read-only disk looks like.
      dataDir = join(parent, 'data');
      mkdirSync(dataDir);
      mount(['--bind', dataDir], dataDir);
      execFileSync('mount', ['-o', 'remount,bind,ro', dataDir], { stdio: 'ignore' });
      expected = new RegExp(`^vigilo: ${dataDir} is read-only; pass --data-dir <writable dir>`);
    } else if (!isRoot) {
      execFileSync('chmod', ['0555', parent]);
      cleanups.push(() => execFileSync('chmod', ['0755', parent]));
      dataDir = join(parent, 'data');
      expected = new RegExp(`^vigilo: cannot use ${dataDir} as the data dir \\(permission denied\\)`);
    } else {
      return; // root without mount: nothing can make a dir read-only for us
    }
    const run = spawnSync(process.execPath, ['-e', 'require(process.argv[1]).main(process.argv)', cliPath(), 'serve', '--port', '0', '--json', '--data-dir', dataDir], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr.trim()).toMatch(expected);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('ensureDataDir names a read-only disk (EROFS injected) in one sentence', () => {
    vi.spyOn(stateFs, 'openSync').mockImplementation(() => {
      throw erofs();
    });
    const d = dir();
    expect(() => ensureDataDir(d)).toThrow(DataDirError);
    expect(() => ensureDataDir(d)).toThrow(`${d} is read-only; pass --data-dir`);
  });

  it('ensureDataDir does not call an I/O error on a writable disk "read-only"', () => {
    vi.spyOn(stateFs, 'openSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' });
    });
    const d = dir();
    expect(() => ensureDataDir(d)).toThrow(`writing to ${d} failed (EIO); check the disk holding it`);
    expect(() => ensureDataDir(d)).not.toThrow(/read-only/);
  });

  it('that turns read-only while serving: stop logs why sidecar.json stays, and the next start replaces it as stale', async () => {
    const d = dir();
    const sc = await startSidecar(d);
    const lines: string[] = [];
    (sc.sidecar.ctx as { log: (l: string) => void }).log = l => lines.push(l);
    vi.spyOn(stateFs, 'unlinkSync').mockImplementation(() => {
      throw erofs();
    });
    await sc.stop();
    vi.restoreAllMocks();
    expect(existsSync(discoveryPath(d))).toBe(true);
    expect(lines.join('\n')).toMatch(/could not remove .*sidecar.json .*the next start will see pid \d+ is gone and replace it/);
    // The listener is closed: the file names a sidecar that does not answer, and a new start takes over.
    const next = await runCli(['serve', '--port', '0', '--json', '--data-dir', d], {});
    cleanups.push(async () => {
      next.child.kill('SIGTERM');
      await next.exited;
    });
    expect(next.announce.event).toBe('listening');
    expect(next.stderr()).toMatch(/replacing a stale sidecar.json \(pid \d+ does not answer\)/);
    expect(readDiscovery(d)!.pid).toBe(next.child.pid);
  });
});
