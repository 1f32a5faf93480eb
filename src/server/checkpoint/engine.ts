/**
 * The auto-checkpoint engine: decides when (src/core/checkpointPolicy.ts, fed
 * from the snapshot on a tick), tells the watching kernel through its
 * heartbeat answer, then copies what the kernel staged to the durable
 * destination and proves the copy (copy.ts). One save at a time; only a
 * verified checkpoint is ever "latest"; the oldest is deleted only after a
 * newer one is verified. Faults become alerts that say why and what to do.
 *
 * Decision-to-save delay (docs/CHECKPOINTS.md): the order rides the next
 * heartbeat answer (≤ heartbeatIntervalS, 10 s by default) and is served at
 * the kernel's next `vigilo.checkpoint.step()`, or at once when no cell runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type CheckpointDestination,
  type CheckpointEvent,
  type CheckpointOrder,
  type CheckpointProgress,
  type CheckpointRecord,
  type CheckpointSettings,
  type CheckpointStagedBody,
  type CheckpointStatus,
  type CheckpointTrigger
} from '../../shared/checkpoint-api';
import { defaultProfile } from '../../core/profiles';
import { chooseDestination, decideCheckpoint, DEFAULT_CHECKPOINT_SETTINGS, type Latches } from '../../core/checkpointPolicy';
import type { SidecarContext } from '../core/context';
import { underRoot } from '../core/paths';
import { copyVerified, CopyError, HICCUP_CODES, mib, RESERVE_BYTES, removePartials } from './copy';
import { Mirror } from './mirror';
import type { CheckpointStore } from './store';

export const MANIFEST_FILE = 'vigilo-checkpoints.json';
/** Copy failures retried once at once with the same staged file: a destination hiccup, or a read-back that did not match. */
const TRANSIENT = new Set([...HICCUP_CODES, 'EVERIFY']);

export interface EngineOptions {
  /** Where kernels stage their saves: `<dataDir>/checkpoint-staging`. */
  stagingDir: string;
  /** An order not picked up by the kernel within this is dropped, with a reason (default 10 min). */
  orderTimeoutMs?: number;
  /** Wait before re-copying a staged file after a transient destination error (default 2 s). */
  copyRetryDelayMs?: number;
  /** A mirrored file must keep its size and mtime this long to count as complete (default 2 s). */
  mirrorStableMs?: number;
  /** The verified copy (tests inject destination faults that need a FUSE mount to happen for real). */
  copy?: typeof copyVerified;
}

interface Order {
  id: string;
  trigger: CheckpointTrigger;
  reason: string;
  kernelId: string | null;
  run: string;
  orderedAtMs: number;
  progress: CheckpointProgress;
  staged: boolean;
  /** 'objects' (watch + step) or 'callback' (a framework's own save), from the kernel's staged call. */
  kind: 'objects' | 'callback';
}

interface Failure {
  atMs: number;
  consecutive: number;
  retryable: boolean;
}

/** `step-200.pt`, else `step-200-2.pt`, ...: a second save at the same step never collides with the first. */
async function freeName(dir: string, name: string): Promise<string> {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? name : `${stem}-${n}${ext}`;
    if (!(await stat(join(dir, candidate)).then(() => true, () => false))) return candidate;
  }
  return `${stem}-${Date.now()}${ext}`;
}

const ago = (s: number): string => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

/** The status in lines of text (`%vigilo checkpoint`); the panel draws the same fields itself. */
export function summarize(s: Omit<CheckpointStatus, 'summary'>, nowMs: number): string {
  const lines: string[] = [];
  const d = s.destination;
  lines.push(
    d.path
      ? `Checkpoints go to ${d.path}${d.durable ? '' : ' (NOT durable)'}: ${d.reason}.`
      : `No durable checkpoint destination: ${d.reason}.`
  );
  if (d.fix && (!d.durable || !d.path)) lines.push(`  → ${d.fix}`);
  const v = s.lastVerified;
  lines.push(
    v
      ? `Last verified checkpoint: step ${v.step ?? '?'}, ${ago(s.lastAgeS ?? 0)} ago, ${mib(v.bytes)}, sha256 ${v.sha256.slice(0, 12)}…, ${v.trigger} (${v.path}).`
      : 'No verified checkpoint yet.'
  );
  if (s.saving) {
    const pct = s.saving.bytesTotal ? ` ${Math.round((100 * s.saving.bytesDone) / s.saving.bytesTotal)} %` : '';
    lines.push(`Saving now (${s.saving.trigger}): ${s.saving.phase}${pct}.`);
  }
  if (!s.auto) {
    lines.push('Automatic checkpoints are off ("%vigilo checkpoint now" still works).');
  } else if (s.nextDue.at) {
    const inS = Math.max(0, (Date.parse(s.nextDue.at) - nowMs) / 1000);
    lines.push(`Next automatic checkpoint in ${ago(inS)} (${s.nextDue.reason}); also before the session or idle cut-off ends, on a full disk and before a predicted OOM.`);
  } else {
    lines.push(`No automatic checkpoint planned: ${s.nextDue.reason}.`);
  }
  if (s.backoff) lines.push(`Backing off: ${s.backoff.reason}.`);
  if (s.lastError) lines.push(`Last failure: ${s.lastError.message}. ${s.lastError.fix}`);
  for (const m of s.mirrors) lines.push(`Mirroring ${m.source}: ${m.files} file(s), ${mib(m.bytes)}${m.lastCopiedAt ? `, last copied ${m.lastCopiedAt}` : ''}.`);
  return lines.join('\n');
}

const newId = (nowMs: number): string => `ckpt-${nowMs.toString(36)}-${randomBytes(3).toString('hex')}`;

export class CheckpointEngine {
  settings: CheckpointSettings;
  private readonly watchers = new Map<string, { run: string; sinceMs: number }>();
  private order: Order | null = null;
  private manualRequested = false;
  private lastAttemptAtMs: number | null = null;
  private lastSaveS: number | null = null;
  private failure: Failure | null = null;
  private latches: Latches = {};
  private lastError: CheckpointStatus['lastError'] = null;
  private lastProgressPublishMs = 0;
  private readonly mirrors = new Map<string, Mirror>();
  /** Destination folders already cleaned of partials and adopted (adopt()), once per sidecar. */
  private readonly adopted = new Map<string, Promise<void>>();
  /** Free bytes under the destination's root, refreshed (statfs, async) on each tick. */
  private free: { root: string; bytes: number } | null = null;
  private freeRefreshing = false;
  private nextDue: CheckpointStatus['nextDue'] = { at: null, trigger: null, reason: 'not evaluated yet' };
  private backoff: CheckpointStatus['backoff'] = null;
  private copying: Promise<void> | null = null;

  constructor(
    private readonly ctx: SidecarContext,
    private readonly store: CheckpointStore,
    private readonly options: EngineOptions
  ) {
    this.settings = { ...DEFAULT_CHECKPOINT_SETTINGS, ...store.loadSettings() };
    const last = store.latestVerified();
    this.lastSaveS = last ? last.durationMs / 1000 : null;
  }

  // -------------------------------------------------------------------------
  // Where

  private runName(kernelRun?: string): string {
    return kernelRun ?? this.settings.run ?? 'default';
  }

  /** The destination with platform paths mapped under VIGILO_FS_ROOT (the real folder written to). */
  destination(run = this.currentRun()): CheckpointDestination {
    const platform = this.ctx.platform().name;
    const profile = defaultProfile(platform);
    const storage = this.ctx.snapshot.get('storage') as
      | { drive?: { mounted: boolean; mountPoint: string }; output?: { bytes: number; limitBytes: number | null } | null }
      | undefined;
    const dest = chooseDestination({
      platform,
      driveMounted: storage?.drive?.mounted ?? false,
      driveMountPoint: storage?.drive?.mountPoint ?? '/content/drive',
      configured: this.settings.destination,
      run,
      ephemeralPaths: profile.ephemeralPaths,
      durablePaths: profile.durablePaths,
      kaggleOutputBytes: storage?.output?.bytes ?? null,
      kaggleLimitBytes: storage?.output?.limitBytes ?? (platform === 'kaggle' ? profile.fields.outputLimit.value : null),
      localDataDir: this.ctx.config.dataDir
    });
    if (!storage && dest.kind === 'none') {
      dest.reason = 'checking whether Google Drive is mounted (the first storage sample is due within seconds)';
    }
    // A configured path is a real path; Drive and Kaggle paths are platform paths.
    if (dest.path && dest.kind !== 'configured') {
      dest.path = underRoot(this.ctx.config.fsRoot, dest.path);
    }
    const root = this.mustExist(dest);
    if (dest.freeBytes === null && root && this.free?.root === root) {
      dest.freeBytes = this.free.bytes;
    }
    return dest;
  }

  private async refreshFree(): Promise<void> {
    const root = this.mustExist(this.destination());
    if (!root) {
      this.free = null;
      return;
    }
    try {
      const s = await statfs(root);
      this.free = { root, bytes: Number(s.bavail) * Number(s.bsize) };
    } catch {
      this.free = null; // not there (unmounted): the copy says so
    }
  }

  /**
   * The folder that must exist before anything is written (never created by Vigilo): two levels
   * above the run folder, i.e. Drive's MyDrive, /kaggle/working, or the configured folder's parent.
   */
  private mustExist(dest: CheckpointDestination): string | undefined {
    return dest.path ? dirname(dirname(dest.path)) : undefined;
  }

  private currentRun(): string {
    let latest: { run: string; sinceMs: number } | null = null;
    for (const w of this.watchers.values()) {
      if (!latest || w.sinceMs > latest.sinceMs) latest = w;
    }
    return latest?.run ?? this.runName();
  }

  // -------------------------------------------------------------------------
  // When

  tick(): void {
    const now = this.ctx.clock.now();
    if (!this.freeRefreshing) {
      this.freeRefreshing = true;
      void this.refreshFree().finally(() => {
        this.freeRefreshing = false;
      });
    }
    const orderTimeoutMs = this.options.orderTimeoutMs ?? 10 * 60_000;
    if (this.order && !this.order.staged && now - this.order.orderedAtMs > orderTimeoutMs) {
      this.fail(
        this.order,
        `the kernel did not reach vigilo.checkpoint.step() within ${Math.round(orderTimeoutMs / 60_000)} min of the request`,
        'Call vigilo.checkpoint.step() inside the training loop (it costs microseconds), or run `%vigilo checkpoint now` while no cell is running.',
        true
      );
    }
    // Read the sections this needs; building the whole snapshot every tick would be wasted.
    const section = (name: string): any => this.ctx.snapshot.get(name);
    const disks = section('storage')?.disks as Array<{ path: string; usedPercent: number }> | undefined;
    const disk = disks?.find(d => d.path === '/content') ?? disks?.find(d => d.path === '/');
    const ooms = ((section('gpu')?.devices ?? []) as Array<{ oom?: { secondsToLimit: number | null } }>)
      .map(d => d.oom?.secondsToLimit)
      .filter((s): s is number => typeof s === 'number');
    const sinces = [...this.watchers.values()].map(w => w.sinceMs);
    const decision = decideCheckpoint({
      nowMs: now,
      settings: this.settings,
      watching: this.watchers.size > 0,
      watchingSinceMs: sinces.length ? Math.min(...sinces) : null,
      saving: this.order !== null,
      lastAttemptAtMs: this.lastAttemptAtMs,
      lastSaveS: this.lastSaveS,
      manualRequested: this.manualRequested,
      failure: this.failure,
      sessionRemainingS: section('session')?.remainingS ?? null,
      idleRemainingS: section('idle')?.remainingS ?? null,
      diskUsedPercent: disk?.usedPercent ?? null,
      oomSecondsToLimit: ooms.length ? Math.min(...ooms) : null,
      latches: this.latches
    });
    this.latches = decision.latches;
    const backoff = decision.backoff
      ? { intervalMin: decision.backoff.intervalMin, reason: decision.backoff.reason, retryAt: decision.backoff.retryAtMs !== null ? new Date(decision.backoff.retryAtMs).toISOString() : null }
      : null;
    if (backoff && backoff.reason !== this.backoff?.reason && !backoff.retryAt) {
      this.ctx.alerts.fire({ ruleId: 'checkpoint.backoff', key: this.currentRun(), severity: 'info', message: `Checkpoints back off: ${backoff.reason}.`, dedupeMs: 3_600_000 });
    }
    this.backoff = backoff;
    this.nextDue = {
      at: decision.next.atMs !== null ? new Date(decision.next.atMs).toISOString() : null,
      trigger: decision.next.trigger,
      reason: decision.next.reason
    };
    if (decision.due) {
      this.startOrder(decision.due.trigger, decision.due.reason);
    }
    for (const mirror of this.mirrors.values()) {
      mirror.tick();
    }
  }

  private startOrder(trigger: CheckpointTrigger, reason: string): Order | null {
    const now = this.ctx.clock.now();
    const run = this.currentRun();
    const dest = this.destination(run);
    if (trigger === 'manual') this.manualRequested = false;
    if (!dest.path) {
      this.lastError = { at: new Date(now).toISOString(), message: `no durable destination: ${dest.reason}`, fix: dest.fix ?? '' };
      this.ctx.alerts.fire({ ruleId: 'checkpoint.destination', key: run, severity: 'warning', message: `Checkpoint not taken (${trigger}): ${dest.reason}. ${dest.fix ?? ''}`.trim(), dedupeMs: 600_000 });
      this.lastAttemptAtMs = now;
      this.publish('failed', null);
      return null;
    }
    let kernelId: string | null = null;
    let since = -1;
    for (const [id, w] of this.watchers) {
      if (w.sinceMs > since) {
        since = w.sinceMs;
        kernelId = id;
      }
    }
    const id = newId(now);
    this.order = {
      id,
      trigger,
      reason,
      kernelId,
      run,
      orderedAtMs: now,
      staged: false,
      kind: trigger === 'callback' ? 'callback' : 'objects',
      progress: { id, trigger, step: null, phase: 'requested', bytesDone: 0, bytesTotal: null, startedAt: new Date(now).toISOString() }
    };
    this.lastAttemptAtMs = now;
    // Check free space first, estimated from the last checkpoint's size: no point making the kernel save.
    const last = this.store.latestVerified(run);
    if (last && dest.freeBytes !== null && dest.freeBytes < last.bytes + RESERVE_BYTES) {
      this.fail(
        this.order,
        `not enough room in ${dest.path}: the last checkpoint was ${mib(last.bytes)}, ${mib(dest.freeBytes)} free`,
        'Free space there (delete old checkpoints or files), lower "keep", or choose another destination.',
        false
      );
      return null;
    }
    this.ctx.log(`checkpoint ${id} due (${trigger}): ${reason}`);
    this.publish('requested', null);
    return this.order;
  }

  /** "Checkpoint now". */
  requestNow(): { accepted: boolean; id: string | null; message: string } {
    if (this.order) {
      return { accepted: false, id: this.order.id, message: `a checkpoint is already in progress (${this.order.id}, ${this.order.progress.phase}); one at a time` };
    }
    if (this.watchers.size === 0) {
      return { accepted: false, id: null, message: 'nothing to save: run vigilo.checkpoint.watch(model=..., optimizer=...) in the notebook first (or mirror a folder)' };
    }
    this.manualRequested = true;
    this.tick();
    const order = this.order as Order | null;
    if (!order) {
      return { accepted: false, id: null, message: this.lastError?.message ?? 'not started' };
    }
    return { accepted: true, id: order.id, message: `checkpoint ${order.id} requested: the kernel saves at its next vigilo.checkpoint.step() (or now, if no cell is running)` };
  }

  // -------------------------------------------------------------------------
  // Kernel protocol

  watch(kernelId: string, watching: boolean, run?: string): void {
    if (watching) {
      const name = this.runName(run);
      const dest = this.destination(name);
      if (dest.path) void this.adopt(dest.path, name).catch(error => this.ctx.log(`checkpoint manifest not read: ${String(error)}`));
      const existing = this.watchers.get(kernelId);
      this.watchers.set(kernelId, { run: name, sinceMs: existing?.sinceMs ?? this.ctx.clock.now() });
      if (!dest.durable) {
        this.ctx.alerts.fire({
          ruleId: 'checkpoint.destination',
          key: name,
          severity: 'warning',
          message: `Checkpoints have no durable destination: ${dest.reason}. ${dest.fix ?? ''}`.trim(),
          dedupeMs: 600_000
        });
      }
    } else {
      this.watchers.delete(kernelId);
    }
    this.publish('settings', null);
  }

  isWatching(kernelId: string): boolean {
    return this.watchers.has(kernelId);
  }

  /** Whether the policy needs fresh figures every tick: a kernel watches, a save runs, or a folder is mirrored. */
  needsFastTicks(): boolean {
    return this.watchers.size > 0 || this.order !== null || this.mirrors.size > 0;
  }

  /** The order for this kernel's heartbeat answer, while it has not staged it. */
  orderFor(kernelId: string): CheckpointOrder | null {
    const o = this.order;
    return o && !o.staged && o.kernelId === kernelId ? { id: o.id, trigger: o.trigger } : null;
  }

  /** The kernel is gone (lost or restarted): a save it had not staged never will be. */
  kernelGone(kernelId: string, how: string): void {
    this.watchers.delete(kernelId);
    const o = this.order;
    if (o && !o.staged && o.kernelId === kernelId) {
      this.fail(o, `the kernel ${how} before it finished saving`, 'Run the training cell again; the previous checkpoint is intact and vigilo.checkpoint.restore() loads it.', false);
      void rm(join(this.options.stagingDir, o.id), { recursive: true, force: true });
    }
  }

  /** The kernel finished (or failed) its part. */
  staged(body: CheckpointStagedBody): { accepted: boolean; id: string; message: string } {
    let order = this.order;
    if (body.orderId !== null) {
      if (!order || order.id !== body.orderId || order.staged) {
        return { accepted: false, id: body.orderId, message: `no checkpoint ${body.orderId} is waiting (it was cancelled or already handled)` };
      }
    } else {
      if (order) {
        return { accepted: false, id: order.id, message: `a checkpoint is already in progress (${order.id}); this save stays where the framework wrote it` };
      }
      order = this.startOrder(body.trigger, `${body.kind} save`);
      if (!order) {
        return { accepted: false, id: '', message: this.lastError?.message ?? 'no destination' };
      }
      order.kernelId = body.kernelId;
    }
    order.staged = true;
    order.kind = body.kind;
    order.progress.step = body.step;
    if (body.error || !body.stagingPath) {
      const unpicklable = /pickl|serializ/i.test(body.error ?? '');
      this.fail(
        order,
        `the kernel could not save: ${body.error ?? 'no file'}`,
        unpicklable
          ? 'An object in the watched state cannot be pickled: watch only model/optimizer state, or pass save=fn(path) / load=fn(path) to vigilo.checkpoint.watch().'
          : 'Fix the error in the save function; the previous checkpoint is intact.',
        !unpicklable
      );
      return { accepted: false, id: order.id, message: `save failed in the kernel: ${body.error}` };
    }
    const o = order;
    this.copying = this.copyOrder(o, body.stagingPath, body.name, body.saveS, body.keepSource ?? false).finally(() => {
      this.copying = null;
    });
    return { accepted: true, id: o.id, message: `copying to ${this.destination(o.run).path}` };
  }

  private async copyOrder(order: Order, stagingPath: string, name: string, kernelSaveS: number, keepSource: boolean): Promise<void> {
    const cleanUp = async (): Promise<void> => {
      await rm(join(this.options.stagingDir, order.id), { recursive: true, force: true });
      // Only what the kernel staged under <data dir>/checkpoint-staging is ever deleted: a path
      // elsewhere (a framework's folder, or a mistake) is copied, never removed.
      const parent = dirname(stagingPath);
      if (!keepSource && dirname(parent) === resolve(this.options.stagingDir)) {
        await rm(parent, { recursive: true, force: true });
      }
    };
    const dest = this.destination(order.run);
    if (!dest.path) {
      this.fail(order, `no durable destination: ${dest.reason}`, dest.fix ?? '', false);
      return;
    }
    await this.adopt(dest.path, order.run);
    name = await freeName(dest.path, name);
    const copyStart = this.ctx.clock.now();
    order.progress.phase = 'copying';
    this.publish('progress', null);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await (this.options.copy ?? copyVerified)(stagingPath, dest.path, name, {
          mustExist: this.mustExist(dest),
          limitFreeBytes: dest.limitBytes !== null ? dest.freeBytes : null,
          onProgress: p => {
            order.progress.phase = p.phase;
            order.progress.bytesDone = p.bytesDone;
            order.progress.bytesTotal = p.bytesTotal;
            this.publishProgress();
          }
        });
        const now = this.ctx.clock.now();
        const record: CheckpointRecord = {
          id: order.id,
          time: new Date(now).toISOString(),
          step: order.progress.step,
          trigger: order.trigger,
          path: result.path,
          bytes: result.bytes,
          sha256: result.sha256,
          durationMs: now - order.orderedAtMs,
          verified: true,
          kind: order.kind,
          run: order.run,
          kernelId: order.kernelId,
          error: null
        };
        this.store.add(record);
        this.lastSaveS = kernelSaveS + (now - copyStart) / 1000;
        this.failure = null;
        this.lastError = null;
        await this.rotate(order.run, order.kind, dest.path);
        await cleanUp();
        this.order = null;
        this.ctx.alerts.clear('checkpoint.failed', order.run);
        this.ctx.log(`checkpoint ${order.id} verified: ${result.path} (${mib(result.bytes)}, sha256 ${result.sha256.slice(0, 12)})`);
        this.publish('verified', record);
        return;
      } catch (error) {
        const e = error instanceof CopyError ? error : new CopyError(String(error), 'See the sidecar log.', true, null);
        if (attempt < 2 && e.code !== null && TRANSIENT.has(e.code)) {
          await new Promise(r => setTimeout(r, this.options.copyRetryDelayMs ?? 2000));
          continue;
        }
        this.fail(order, e.message, e.fix, e.retryable);
        await cleanUp();
        return;
      }
    }
  }

  /**
   * First use of a destination folder in this sidecar: remove partial copies a killed sidecar left,
   * and adopt the verified checkpoints its manifest lists (a previous runtime's, whose database
   * is gone), so they show as the last checkpoint and count in the rotation.
   */
  private adopt(destDir: string, run: string): Promise<void> {
    let done = this.adopted.get(destDir);
    if (!done) {
      done = this.adoptOnce(destDir, run);
      this.adopted.set(destDir, done);
    }
    return done;
  }

  private async adoptOnce(destDir: string, run: string): Promise<void> {
    await removePartials(destDir);
    let manifest: { checkpoints?: Array<{ name: string; step: number | null; time: string; bytes: number; sha256: string; trigger: CheckpointTrigger; kind: 'objects' | 'callback' }> };
    try {
      manifest = JSON.parse(await readFile(join(destDir, MANIFEST_FILE), 'utf8'));
    } catch {
      return; // none yet
    }
    for (const entry of manifest.checkpoints ?? []) {
      const path = join(destDir, entry.name);
      if (this.store.hasPath(path) || !(await stat(path).then(() => true, () => false))) continue;
      this.store.add({
        id: `adopted-${entry.sha256.slice(0, 16)}-${Date.parse(entry.time).toString(36)}`,
        time: entry.time,
        step: entry.step,
        trigger: entry.trigger,
        path,
        bytes: entry.bytes,
        sha256: entry.sha256,
        durationMs: 0,
        verified: true,
        kind: entry.kind ?? 'objects',
        run,
        kernelId: null,
        error: null
      });
    }
  }

  /** Keep the newest `keep` verified checkpoints; only called after a new one is verified. */
  private async rotate(run: string, kind: 'objects' | 'callback', destDir: string): Promise<void> {
    const old = this.store.beyondKeep(run, kind, this.settings.keep);
    for (const r of old) this.store.markDeleted(r.id);
    // The manifest names the new checkpoint before any old file goes.
    await this.writeManifest(run, destDir);
    for (const r of old) {
      await rm(r.path, { recursive: true, force: true }).catch(error => this.ctx.log(`could not delete old checkpoint ${r.path}: ${String(error)}`));
    }
  }

  /** `<dest>/vigilo-checkpoints.json`: what restore() reads after the runtime (and the data dir) is gone. */
  private async writeManifest(run: string, destDir: string): Promise<void> {
    const kept = this.store.beyondKeep(run, 'objects', 0).concat(this.store.beyondKeep(run, 'callback', 0));
    kept.sort((a, b) => (a.time < b.time ? 1 : -1));
    const body = JSON.stringify(
      {
        run,
        checkpoints: kept.map(r => ({ name: r.path.slice(destDir.length + 1), step: r.step, time: r.time, bytes: r.bytes, sha256: r.sha256, trigger: r.trigger, kind: r.kind }))
      },
      null,
      2
    );
    const tmp = join(destDir, `.${MANIFEST_FILE}.vigilo-partial-${process.pid}`);
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(destDir, MANIFEST_FILE));
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.ctx.log(`checkpoint manifest not written: ${String(error)}`);
    }
  }

  private fail(order: Order, message: string, fix: string, retryable: boolean): void {
    const now = this.ctx.clock.now();
    const previous = this.store.latestVerified(order.run);
    const intact = previous
      ? `The previous checkpoint (step ${previous.step ?? '?'}, ${previous.time}, ${previous.path}) is intact.`
      : 'No earlier checkpoint exists yet.';
    this.store.add({
      id: order.id,
      time: new Date(now).toISOString(),
      step: order.progress.step,
      trigger: order.trigger,
      path: '',
      bytes: 0,
      sha256: '',
      durationMs: now - order.orderedAtMs,
      verified: false,
      kind: order.kind,
      run: order.run,
      kernelId: order.kernelId,
      error: message
    });
    this.failure = { atMs: now, consecutive: (this.failure?.consecutive ?? 0) + 1, retryable };
    this.lastError = { at: new Date(now).toISOString(), message, fix };
    if (this.order?.id === order.id) this.order = null;
    this.ctx.alerts.fire({
      ruleId: 'checkpoint.failed',
      key: order.run,
      severity: 'critical',
      message: `Checkpoint failed (${order.trigger}): ${message}. ${intact} ${fix}${retryable ? ' Vigilo retries with backoff.' : ''}`,
      data: { id: order.id, retryable }
    });
    this.ctx.log(`checkpoint ${order.id} failed: ${message}`);
    this.publish('failed', null);
  }

  // -------------------------------------------------------------------------
  // Mirrors

  mirror(source: string, enabled: boolean): CheckpointStatus['mirrors'] {
    if (!enabled) {
      this.mirrors.get(source)?.stop();
      this.mirrors.delete(source);
    } else if (!this.mirrors.has(source)) {
      this.mirrors.set(
        source,
        new Mirror({
          source,
          clock: this.ctx.clock,
          stableMs: this.options.mirrorStableMs ?? 2000,
          destination: () => {
            const d = this.destination();
            return d.path ? join(d.path, 'mirror') : null;
          },
          mustExist: () => this.mustExist(this.destination()),
          onCopied: (rel, result, durationMs) => {
            this.store.add({
              id: newId(this.ctx.clock.now()),
              time: new Date(this.ctx.clock.now()).toISOString(),
              step: null,
              trigger: 'mirror',
              path: result.path,
              bytes: result.bytes,
              sha256: result.sha256,
              durationMs,
              verified: true,
              kind: 'mirror',
              run: this.currentRun(),
              kernelId: null,
              error: null
            });
            this.publish('verified', null);
          },
          onError: (rel, error) => {
            this.lastError = { at: new Date(this.ctx.clock.now()).toISOString(), message: `mirror of ${rel}: ${error.message}`, fix: error.fix };
            this.ctx.alerts.fire({ ruleId: 'checkpoint.mirror', key: source, severity: 'warning', message: `Mirroring ${rel} failed: ${error.message}. ${error.fix}`, dedupeMs: 600_000 });
          }
        })
      );
    }
    this.tick();
    // Subscribers see the mirror list change, and the module's loop goes to the fast cadence at once (a mirror
    // needs a pass every tick to see a file become stable), not at the end of a slow period.
    this.publish('settings', null);
    return this.status().mirrors;
  }

  // -------------------------------------------------------------------------
  // Views

  status(): CheckpointStatus {
    const now = this.ctx.clock.now();
    const run = this.currentRun();
    const last = this.store.latestVerified(run) ?? this.store.latestVerified();
    const view: Omit<CheckpointStatus, 'summary'> = {
      destination: this.destination(run),
      auto: this.settings.auto,
      watching: this.watchers.size > 0 || this.mirrors.size > 0,
      saving: this.order ? { ...this.order.progress } : null,
      lastVerified: last,
      lastAgeS: last ? Math.max(0, (now - Date.parse(last.time)) / 1000) : null,
      nextDue: this.nextDue,
      backoff: this.backoff,
      lastError: this.lastError,
      mirrors: [...this.mirrors.values()].map(m => m.view()),
      settings: this.settings
    };
    return { ...view, summary: summarize(view, now) };
  }

  /** Merge, persist, then apply: a failed write (full or read-only disk) throws with nothing changed. */
  updateSettings(patch: Partial<CheckpointSettings>): CheckpointSettings {
    const next = { ...this.settings, ...patch };
    this.store.saveSettings(next);
    this.settings = next;
    this.tick();
    this.publish('settings', null);
    return this.settings;
  }

  private publishProgress(): void {
    const now = this.ctx.clock.now();
    if (now - this.lastProgressPublishMs >= 250) {
      this.lastProgressPublishMs = now;
      this.publish('progress', null);
    }
  }

  private publish(type: CheckpointEvent['type'], record: CheckpointRecord | null): void {
    this.ctx.bus.publish('checkpoint', { type, status: this.status(), record } satisfies CheckpointEvent);
  }

  /** Wait for a copy in flight (shutdown, tests). */
  async idle(): Promise<void> {
    await this.copying;
    await Promise.all([...this.mirrors.values()].map(m => m.idle()));
  }

  stop(): void {
    for (const m of this.mirrors.values()) m.stop();
  }

  async ensureStaging(): Promise<void> {
    await mkdir(this.options.stagingDir, { recursive: true, mode: 0o700 });
  }
}
