import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock';
import { copyVerified, CopyError } from './copy';
import { Mirror } from './mirror';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-copy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real tmpfs (these tests run as root in CI, as the Python fault tests do). */
function tmpfs(sizeMiB: number): string {
  const dir = tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  cleanups.push(() => execFileSync('umount', ['-l', dir]));
  return dir;
}

const sha = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');
const MiB = 1 << 20;

describe('verified copy', () => {
  it('copies a file under a temporary name, verifies sha256 by reading back, renames', async () => {
    const src = join(tempDir(), 'step-1.pt');
    const data = randomBytes(3 * MiB + 17);
    writeFileSync(src, data);
    const dest = join(tempDir(), 'run');
    const phases: string[] = [];
    const result = await copyVerified(src, dest, 'step-1.pt', { onProgress: p => phases.push(p.phase), progressEveryBytes: MiB });
    expect(result).toMatchObject({ path: join(dest, 'step-1.pt'), bytes: data.length, sha256: sha(data), files: 1 });
    expect(readFileSync(result.path).equals(data)).toBe(true);
    expect(phases).toContain('copying');
    expect(phases).toContain('verifying');
    expect(readdirSync(dest)).toEqual(['step-1.pt']);
  });

  it('copies a folder checkpoint (a Trainer checkpoint-500/) as one verified unit', async () => {
    const src = join(tempDir(), 'checkpoint-500');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'model.safetensors'), randomBytes(MiB));
    writeFileSync(join(src, 'sub', 'trainer_state.json'), '{"global_step": 500}');
    const dest = tempDir();
    const result = await copyVerified(src, dest, 'checkpoint-500');
    expect(result.files).toBe(2);
    expect(readFileSync(join(dest, 'checkpoint-500', 'sub', 'trainer_state.json'), 'utf8')).toBe('{"global_step": 500}');
  });

  it('a disk that fills mid-copy (real ENOSPC on a tmpfs) leaves the previous checkpoint and no partial', async () => {
    const dest = tmpfs(24);
    const previous = randomBytes(2 * MiB);
    writeFileSync(join(dest, 'step-1.pt'), previous);
    const src = join(tempDir(), 'step-2.pt');
    writeFileSync(src, randomBytes(4 * MiB));
    let filled = false;
    const error = await copyVerified(src, dest, 'step-2.pt', {
      reserveBytes: 0,
      progressEveryBytes: MiB,
      onProgress: () => {
        if (!filled) {
          // Something else fills the disk after the free-space check passed.
          filled = true;
          const s = statfsSync(dest);
          writeFileSync(join(dest, 'filler'), Buffer.alloc(Number(s.bavail) * Number(s.bsize)));
        }
      }
    }).catch(e => e);
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).code).toBe('ENOSPC');
    expect((error as CopyError).message).toMatch(/full/);
    expect(readFileSync(join(dest, 'step-1.pt')).equals(previous)).toBe(true);
    expect(readdirSync(dest).sort()).toEqual(['filler', 'step-1.pt']);
  });

  it('refuses before writing when the free space cannot hold the checkpoint', async () => {
    const dest = tmpfs(8);
    const src = join(tempDir(), 'big.pt');
    writeFileSync(src, randomBytes(10 * MiB));
    const error = (await copyVerified(src, dest, 'big.pt').catch(e => e)) as CopyError;
    expect(error.message).toMatch(/not enough room/);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('the destination removed mid-copy is an error, not a checkpoint', async () => {
    const root = tempDir();
    const dest = join(root, 'run');
    const src = join(tempDir(), 'step-3.pt');
    writeFileSync(src, randomBytes(4 * MiB));
    let removed = false;
    const error = (await copyVerified(src, dest, 'step-3.pt', {
      progressEveryBytes: MiB,
      onProgress: () => {
        if (!removed) {
          removed = true;
          rmSync(dest, { recursive: true, force: true });
        }
      }
    }).catch(e => e)) as CopyError;
    expect(error).toBeInstanceOf(CopyError);
    expect(error.message).toMatch(/disappeared/);
    expect(existsSync(join(dest, 'step-3.pt'))).toBe(false);
  });

  it('never recreates a missing mount root (an unmounted Drive)', async () => {
    const root = tempDir();
    const src = join(root, 'a.pt');
    writeFileSync(src, 'x');
    const drive = join(root, 'content', 'drive', 'MyDrive');
    const error = (await copyVerified(src, join(drive, 'vigilo-checkpoints', 'r'), 'a.pt', { mustExist: drive }).catch(e => e)) as CopyError;
    expect(error.message).toMatch(/Drive unmounted/);
    expect(existsSync(drive)).toBe(false);
  });
});

describe('folder mirror', () => {
  function mirror(source: string, dest: string, clock: ManualClock, onCopyProgress?: (rel: string) => void) {
    const copied: string[] = [];
    const errors: string[] = [];
    const m = new Mirror({
      source,
      clock,
      stableMs: 1000,
      destination: () => dest,
      onCopied: rel => copied.push(rel),
      onError: (rel, e) => errors.push(`${rel}: ${e.message}`),
      onCopyProgress
    });
    const pass = async () => {
      m.tick();
      await m.idle();
    };
    return { m, copied, errors, pass };
  }

  it('copies a file only once its size and mtime held still, and copies it again when it changes', async () => {
    const src = tempDir();
    const dest = tempDir();
    const clock = new ManualClock();
    const { copied, pass } = mirror(src, dest, clock);
    mkdirSync(join(src, 'checkpoint-1'));
    writeFileSync(join(src, 'checkpoint-1', 'model.bin'), 'v1');
    await pass();
    expect(copied).toEqual([]); // just seen
    clock.advance(500);
    await pass();
    expect(copied).toEqual([]); // not stable long enough
    clock.advance(600);
    await pass();
    expect(copied).toEqual(['checkpoint-1/model.bin']);
    expect(readFileSync(join(dest, 'checkpoint-1', 'model.bin'), 'utf8')).toBe('v1');
    clock.advance(5000);
    await pass();
    expect(copied).toHaveLength(1); // unchanged: not copied again
    writeFileSync(join(src, 'checkpoint-1', 'model.bin'), 'version 2');
    await pass();
    clock.advance(1100);
    await pass();
    expect(copied).toHaveLength(2);
    expect(readFileSync(join(dest, 'checkpoint-1', 'model.bin'), 'utf8')).toBe('version 2');
  });

  it('a file rewritten during its copy is not committed half old, half new; the stable new version is', async () => {
    const src = tempDir();
    const dest = tempDir();
    const clock = new ManualClock();
    const first = randomBytes(6 * MiB);
    const second = randomBytes(5 * MiB);
    writeFileSync(join(src, 'weights.bin'), first);
    let rewrote = false;
    const { copied, errors, pass } = mirror(src, dest, clock, () => {
      if (!rewrote) {
        rewrote = true;
        writeFileSync(join(src, 'weights.bin'), second); // the trainer overwrites it mid-copy
      }
    });
    await pass();
    clock.advance(1100);
    await pass();
    expect(rewrote).toBe(true);
    expect(copied).toEqual([]);
    expect(errors).toEqual([]);
    expect(readdirSync(dest)).toEqual([]); // nothing committed, no partial left
    clock.advance(1100);
    await pass();
    expect(copied).toEqual(['weights.bin']);
    expect(sha(readFileSync(join(dest, 'weights.bin')))).toBe(sha(second));
  });
});
