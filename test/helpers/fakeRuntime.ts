/**
 * A fake Colab / Kaggle / local machine on this one: a directory used as
 * VIGILO_FS_ROOT (proc files, markers, mount table, output folder) and a
 * stand-in `nvidia-smi` first on PATH that replays real captured rows
 * (test/fixtures/nvidia-smi). Scenario changes are file rewrites.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const FAKE_SMI = resolve(__dirname, '..', 'fixtures', 'nvidia-smi', 'fake-nvidia-smi.mjs');

export interface Scenario {
  gpus: Array<{ fixture: string; uuid?: string; name?: string; usedMiB?: number; totalMiB?: number; index?: number }>;
  rampMiBPerBatch?: number;
  /** Wall-clock ramp: used grows by this many MiB per second since rampStartMs (epoch ms). */
  rampMiBPerS?: number;
  rampStartMs?: number;
  /** A training sawtooth in wall-clock time: loMiB → hiMiB over each periodS since startMs, freed at once. */
  sawtooth?: { periodS: number; loMiB: number; hiMiB: number; startMs: number };
  mode?: 'normal' | 'hang' | 'garbage' | 'mixed' | 'exit' | 'nvml-error';
  exitAfterBatches?: number;
  hangAfterBatches?: number;
  apps?: Array<[number, string, number, string]> | 'fixture';
}

export interface FakeMachine {
  root: string;
  /** When the fake runtime's PID 1 started (epoch ms, whole seconds). */
  runtimeStartMs: number;
  env: NodeJS.ProcessEnv;
  smiLog: string;
  setScenario(s: Scenario): void;
  write(path: string, content: string | Buffer): void;
  spawnCount(): number;
  cleanup(): void;
}

export interface FakeMachineOptions {
  platform: 'colab' | 'kaggle' | 'local';
  /** Seconds between runtime (PID 1) start and `nowMs`. */
  runtimeAgeS?: number;
  nowMs: number;
  driveMounted?: boolean;
  /** null: no nvidia-smi on PATH. */
  scenario?: Scenario | null;
  extraEnv?: NodeJS.ProcessEnv;
}

export function fakeMachine(options: FakeMachineOptions): FakeMachine {
  const root = mkdtempSync(join(tmpdir(), 'vigilo-root-'));
  const bin = join(root, '..', `${root.split('/').pop()}-bin`);
  mkdirSync(bin);
  const write = (path: string, content: string | Buffer) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  };
  const bootS = Math.floor(options.nowMs / 1000) - 86_400; // host booted a day ago
  const pid1Ticks = (Math.floor(options.nowMs / 1000) - (options.runtimeAgeS ?? 3600) - bootS) * 100;
  write('/proc/stat', `cpu  1 2 3 4\nbtime ${bootS}\nprocesses 42\n`);
  write('/proc/1/stat', `1 (docker-init) S 0 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 ${pid1Ticks} 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`);
  write('/proc/uptime', '86400.00 100.00\n');
  let mounts = 'overlay / overlay rw,relatime 0 0\nproc /proc proc rw 0 0\n';
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    VIGILO_INTERNET_PROBE: 'off',
    ...options.extraEnv
  };
  if (options.platform === 'colab') {
    mkdirSync(join(root, 'content', 'sample_data'), { recursive: true });
    write('/var/colab/hostname', 'colab-vm\n');
    env.COLAB_RELEASE_TAG = 'release-colab_20260101-060000_RC00';
    env.COLAB_GPU = options.scenario ? '1' : '';
    if (options.driveMounted) {
      mkdirSync(join(root, 'content', 'drive', 'MyDrive'), { recursive: true });
      mounts += 'drive /content/drive fuse.drive rw,nosuid,nodev,relatime,user_id=0,group_id=0,allow_other 0 0\n';
    }
  } else if (options.platform === 'kaggle') {
    mkdirSync(join(root, 'kaggle', 'working'), { recursive: true });
    mkdirSync(join(root, 'kaggle', 'input'), { recursive: true });
    env.KAGGLE_KERNEL_RUN_TYPE = 'Interactive';
    env.KAGGLE_URL_BASE = 'https://www.kaggle.com';
    env.KAGGLE_DATA_PROXY_TOKEN = 'secret-token-never-echoed';
  }
  write('/proc/self/mounts', mounts);
  const scenarioFile = join(root, '..', `${root.split('/').pop()}-scenario.json`);
  const smiLog = join(root, '..', `${root.split('/').pop()}-smi.log`);
  writeFileSync(smiLog, '');
  env.FAKE_SMI_SCENARIO = scenarioFile;
  env.FAKE_SMI_LOG = smiLog;
  const setScenario = (s: Scenario) => writeFileSync(scenarioFile, JSON.stringify(s));
  if (options.scenario) {
    setScenario(options.scenario);
    symlinkSync(FAKE_SMI, join(bin, 'nvidia-smi'));
  }
  return {
    root,
    runtimeStartMs: (bootS + pid1Ticks / 100) * 1000,
    env,
    smiLog,
    setScenario,
    write,
    spawnCount: () => readFileSync(smiLog, 'utf8').split('\n').filter((l: string) => l.includes('--query-gpu')).length,
    cleanup() {
      for (const p of [root, bin, scenarioFile, smiLog]) rmSync(p, { recursive: true, force: true });
    }
  };
}

/** Wait (bounded) until `check` returns a truthy value; polls on a short timer, never a fixed sleep. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 8000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}
