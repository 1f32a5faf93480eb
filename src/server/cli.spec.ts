import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDataDir } from './core/dataDirClaim';
import { discoveryPath, readDiscovery } from './core/discovery';
import { ATTACHED_EXIT } from './cli';
import { cliPath, runCli, type RunningCli } from '../../test/sidecarProcess';
import { spawn, spawnSync } from 'node:child_process';

describe('vigilo serve (real process)', () => {
  let dataDir: string;
  const running: RunningCli[] = [];
  const env = (): NodeJS.ProcessEnv => ({ VIGILO_DATA_DIR: dataDir, VIGILO_TOKEN: '' });

  beforeEach(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'vigilo-cli-')), 'state');
  });

  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null) {
        r.child.kill('SIGKILL');
        await r.exited;
      }
    }
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('starts on a free port, writes sidecar.json 0600, and answers /status with its token', async () => {
    const first = await runCli(['serve', '--port', '0', '--json', '--interval', '500'], env());
    running.push(first);
    expect(first.announce).toMatchObject({ event: 'listening', pid: first.child.pid });
    expect(first.announce.token).toBeUndefined();
    const d = readDiscovery(dataDir)!;
    expect(statSync(discoveryPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const status = await fetch(`${d.url}/status`, { headers: { authorization: `Bearer ${d.token}` } });
    expect(((await status.json()) as { pid: number }).pid).toBe(first.child.pid);
  });

  it('a second serve on the same data dir attaches to the live sidecar instead of starting another', async () => {
    const first = await runCli(['serve', '--port', '0', '--json'], env());
    running.push(first);
    const second = await runCli(['serve', '--port', '0', '--json'], env());
    running.push(second);
    expect(second.announce).toMatchObject({ event: 'attached', pid: first.child.pid, url: first.announce.url });
    expect(await second.exited).toBe(ATTACHED_EXIT);
    expect(readDiscovery(dataDir)!.pid).toBe(first.child.pid);
  });

  it('three serves started together on one data dir: one listens, the others attach to it (exit 4)', async () => {
    for (let round = 0; round < 3; round++) {
      const starts = await Promise.all([0, 1, 2].map(() => runCli(['serve', '--port', '0', '--json'], env(), 30_000)));
      running.push(...starts);
      const listening = starts.filter(s => s.announce.event === 'listening');
      expect(listening, starts.map(s => s.stderr()).join('\n')).toHaveLength(1);
      for (const s of starts.filter(x => x !== listening[0])) {
        expect(s.announce).toMatchObject({ event: 'attached', pid: listening[0].child.pid });
        expect(await s.exited).toBe(ATTACHED_EXIT);
      }
      listening[0].child.kill('SIGTERM');
      expect(await listening[0].exited).toBe(0);
    }
  }, 90_000);

  it("a sidecar killed with SIGKILL leaves no claim behind: the next serve starts at once", async () => {
    const first = await runCli(['serve', '--port', '0', '--json'], env());
    first.child.kill('SIGKILL');
    await first.exited;
    const claim = await claimDataDir(dataDir);
    expect(claim.claimed).toBe(true);
    if (claim.claimed) {
      await claim.claim.release();
    }
  });

  it('replaces a stale discovery file whose pid is dead', async () => {
    const first = await runCli(['serve', '--port', '0', '--json'], env());
    first.child.kill('SIGKILL');
    await first.exited;
    expect(readDiscovery(dataDir)!.pid).toBe(first.child.pid);
    const second = await runCli(['serve', '--port', '0', '--json'], env());
    running.push(second);
    expect(second.announce.event).toBe('listening');
    expect(readDiscovery(dataDir)!.pid).toBe(second.child.pid);
    expect(second.stderr()).toMatch(/replacing a stale sidecar.json/);
  });

  it('replaces a discovery file that names a live pid which is not a sidecar', async () => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      discoveryPath(dataDir),
      JSON.stringify({ url: 'http://127.0.0.1:9', port: 9, pid: process.pid, token: 'x', version: '0', apiVersion: 1, started_at: '', data_dir: dataDir })
    );
    const second = await runCli(['serve', '--port', '0', '--json'], env());
    running.push(second);
    expect(second.announce.event).toBe('listening');
    expect(second.stderr()).toMatch(/does not answer/);
  });

  it('stop never signals a pid a stale discovery file names when it does not answer as the sidecar', async () => {
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(
        discoveryPath(dataDir),
        JSON.stringify({ url: 'http://127.0.0.1:9', port: 9, pid: bystander.pid, token: 'x', version: '0', apiVersion: 1, started_at: '', data_dir: dataDir })
      );
      const stop = spawnSync(process.execPath, ['-e', 'require(process.argv[1]).main(process.argv)', cliPath(), 'stop'], {
        env: { ...process.env, ...env() },
        encoding: 'utf8'
      });
      expect(stop.stdout).toContain(`removed a stale sidecar.json naming pid ${bystander.pid}`);
      expect(bystander.exitCode).toBeNull();
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
      expect(readDiscovery(dataDir)).toBeNull();
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('SIGTERM shuts down cleanly and removes the discovery file', async () => {
    const first = await runCli(['serve', '--port', '0', '--json'], env());
    running.push(first);
    expect(readDiscovery(dataDir)).not.toBeNull();
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe(0);
    expect(readDiscovery(dataDir), first.stderr()).toBeNull();
  });

  it('a busy fixed port is a clear error, not a crash', async () => {
    const blocker = createServer();
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const attempt = runCli(['serve', '--port', String(port), '--json'], env());
      await expect(attempt).rejects.toThrow(/Port \d+ on 127.0.0.1 is already in use. Pass --port 0/);
    } finally {
      await new Promise<void>(resolve => blocker.close(() => resolve()));
    }
  });

  it('uses VIGILO_TOKEN when it is set', async () => {
    const first = await runCli(['serve', '--port', '0', '--json'], { ...env(), VIGILO_TOKEN: 'fixed-token-for-test' });
    running.push(first);
    expect(readDiscovery(dataDir)!.token).toBe('fixed-token-for-test');
  });
});
