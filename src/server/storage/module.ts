/**
 * The `storage` section: statfs of / and /content (under VIGILO_FS_ROOT), the
 * size of Kaggle's /kaggle/working against the output limit (an async walk,
 * bounded in entries and repeated at most every `outputEveryMs`, never every
 * tick), and whether Google Drive is mounted at /content/drive (the mount
 * table, /proc/self/mounts). Threshold alerts: storage.disk, storage.output.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { DISK_WARN_LEVELS, OUTPUT_WARN_LEVELS } from '../../shared/alertLevels';
import type { PlatformProfile } from '../../core/profiles';
import { formatBytes } from '../../shared/format';
import { intervalCollector } from '../core/collector';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { underRoot } from '../core/paths';

export interface StorageModuleDeps {
  intervalMs: number;
  profile(): PlatformProfile;
  /** Re-measure the output folder at most this often (default 60 s). */
  outputEveryMs?: number;
  /** Stop a walk after this many entries and report a lower bound (default 200 000). */
  maxEntries?: number;
}

export const DISK_PATHS = ['/', '/content'] as const;
export const OUTPUT_PATH = '/kaggle/working';
export const DRIVE_MOUNT = '/content/drive';

/** Size of a tree in bytes, walking asynchronously; symlinks are not followed. */
export async function treeSize(root: string, maxEntries: number): Promise<{ bytes: number; files: number; truncated: boolean }> {
  let bytes = 0;
  let files = 0;
  let seen = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > maxEntries) return { bytes, files, truncated: true };
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        try {
          bytes += (await fsp.lstat(path)).size;
          files++;
        } catch {
          // Deleted while walking.
        }
      }
    }
  }
  return { bytes, files, truncated: false };
}

/** Parse a mount table for the mount at `mountPoint`. */
export function findMount(mounts: string, mountPoint: string): { fsType: string } | null {
  for (const line of mounts.split('\n')) {
    const [, target, type] = line.split(' ');
    // The table escapes spaces as \040.
    if (target && target.replace(/\\040/g, ' ') === mountPoint) return { fsType: type };
  }
  return null;
}

export function storageModule(ctx: SidecarContext, deps: StorageModuleDeps): SidecarModule {
  const root = ctx.config.fsRoot;
  let output: { path: string; bytes: number; files: number; truncated: boolean; measuredAtMs: number } | null = null;
  let measuring = false;

  ctx.alerts.addRule({
    id: 'storage.disk',
    description: 'Disk space used',
    unit: '%',
    direction: 'above',
    severity: 'warning',
    thresholds: [...DISK_WARN_LEVELS],
    hysteresis: 2,
    message: (value, key) => `Disk ${key} is ${value.toFixed(1)} % full: checkpoints and downloads may fail. Delete files or move them to durable storage.`
  });
  ctx.alerts.addRule({
    id: 'storage.output',
    description: "Output folder size against the platform's limit",
    unit: '%',
    direction: 'above',
    severity: 'warning',
    thresholds: [...OUTPUT_WARN_LEVELS],
    hysteresis: 2,
    message: (value, key) => `${key} holds ${output ? formatBytes(output.bytes, 'decimal') : '?'}, ${value.toFixed(1)} % of the ${deps.profile().fields.outputLimit.display ?? '?'} output limit: files past the limit are not saved.`
  });

  async function measureOutput(): Promise<void> {
    measuring = true;
    try {
      const size = await treeSize(underRoot(root, OUTPUT_PATH), deps.maxEntries ?? 200_000);
      output = { path: OUTPUT_PATH, ...size, measuredAtMs: ctx.clock.now() };
    } finally {
      measuring = false;
    }
  }

  return {
    name: 'storage',
    collectors: [
      intervalCollector({
        name: 'storage',
        intervalMs: deps.intervalMs,
        // Disk and output alerts come at most the slow period late while no one watches (core/cadence.ts).
        adaptive: true,
        async sample() {
          const now = ctx.clock.now();
          const disks = [];
          for (const path of DISK_PATHS) {
            const full = underRoot(root, path);
            if (path !== '/' && !existsSync(full)) continue;
            try {
              const s = await fsp.statfs(full);
              const total = s.blocks * s.bsize;
              const available = s.bavail * s.bsize;
              const used = total - s.bfree * s.bsize;
              // Percent as df computes it: used / (used + available to users).
              const usedPercent = used + available > 0 ? Math.round((used / (used + available)) * 1000) / 10 : 0;
              disks.push({ path, totalBytes: total, usedBytes: used, availableBytes: available, usedPercent });
              ctx.alerts.observe('storage.disk', path, usedPercent);
            } catch {
              // Unreadable mount: left out.
            }
          }
          const profile = deps.profile();
          const limit = profile.fields.outputLimit.value;
          const hasOutput = existsSync(underRoot(root, OUTPUT_PATH)) && (profile.platform === 'kaggle' || limit !== null);
          if (hasOutput && !measuring && (!output || now - output.measuredAtMs >= (deps.outputEveryMs ?? 60_000))) {
            await measureOutput();
          }
          const outputView =
            hasOutput && output
              ? {
                  path: output.path,
                  bytes: output.bytes,
                  limitBytes: limit,
                  usedPercent: limit ? Math.round((output.bytes / limit) * 1000) / 10 : null,
                  files: output.files,
                  truncated: output.truncated,
                  measuredAt: new Date(output.measuredAtMs).toISOString()
                }
              : null;
          if (outputView?.usedPercent !== null && outputView?.usedPercent !== undefined) {
            ctx.alerts.observe('storage.output', OUTPUT_PATH, outputView.usedPercent);
          }
          let mounts = '';
          try {
            mounts = await fsp.readFile(underRoot(root, '/proc/self/mounts'), 'utf8');
          } catch {
            mounts = '';
          }
          const drive = findMount(mounts, DRIVE_MOUNT);
          ctx.snapshot.update('storage', {
            status: 'ok',
            reason: null,
            disks,
            output: outputView,
            drive: { mounted: drive !== null, mountPoint: DRIVE_MOUNT, fsType: drive?.fsType ?? null },
            sampledAt: new Date(now).toISOString()
          });
        },
        onError(error, c) {
          c.snapshot.update('storage', { status: 'error', reason: `storage sampling failed: ${String(error)}`, disks: [], output: null, drive: { mounted: false, mountPoint: DRIVE_MOUNT, fsType: null }, sampledAt: new Date(c.clock.now()).toISOString() });
        }
      })
    ]
  };
}
