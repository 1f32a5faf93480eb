import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimAddress, claimDataDir } from './dataDirClaim';

describe('the data dir claim (one sidecar per data dir)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigilo-claim-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the second claimant is refused and told the holder pid; after release it can claim', async () => {
    const first = await claimDataDir(dir, 4242);
    expect(first.claimed).toBe(true);
    const second = await claimDataDir(dir, 99);
    expect(second).toEqual({ claimed: false, holderPid: 4242 });
    if (first.claimed) {
      await first.claim.release();
    }
    const third = await claimDataDir(dir, 99);
    expect(third.claimed).toBe(true);
    if (third.claimed) {
      await third.claim.release();
    }
  });

  it('two spellings of one directory are one claim', async () => {
    const first = await claimDataDir(dir, 1);
    const second = await claimDataDir(join(dir, '.', '..', dir.split('/').pop()!), 2);
    expect(second.claimed).toBe(false);
    if (first.claimed) {
      await first.claim.release();
    }
  });

  it('where the claim is a socket file (macOS), one left by a holder killed with SIGKILL is taken over', async () => {
    const address = claimAddress(dir, 'darwin');
    expect(address).toBe(join(dir, 'sidecar.sock'));
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(address)}, () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>(resolve => holder.stdout!.once('data', () => resolve()));
    expect((await claimDataDir(dir, 7, 'darwin')).claimed).toBe(false);
    holder.kill('SIGKILL');
    await new Promise(resolve => holder.once('exit', resolve));
    expect(existsSync(address)).toBe(true); // the killed holder left its socket file
    const claim = await claimDataDir(dir, 7, 'darwin');
    expect(claim.claimed).toBe(true);
    if (claim.claimed) {
      await claim.claim.release();
    }
  });
});
