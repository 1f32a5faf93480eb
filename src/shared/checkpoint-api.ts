/**
 * Wire shapes of the auto-checkpoint engine (issue 10): GET/POST /checkpoints,
 * GET/PUT /checkpoints/settings, the `checkpoint` SSE event and the
 * checkpoint part of the kernel's heartbeat answer. The sidecar validates with
 * these; the panel's checkpoint card and the Python glue read them.
 */
import { z } from 'zod';

/** Why a checkpoint was taken (or is due). */
export const CheckpointTrigger = z.enum([
  /** Every `intervalMin` minutes. */
  'interval',
  /** Session time left fell below saveFactor × last save duration + margin. */
  'session-end',
  /** The idle cut-off is near. */
  'idle-cutoff',
  /** The ephemeral disk (/content) passed its threshold. */
  'disk',
  /** An OOM is predicted within the warning lead. */
  'oom',
  /** "Checkpoint now": panel button, `%vigilo checkpoint now`, POST /checkpoints. */
  'manual',
  /** A file of a mirrored folder (`%vigilo checkpoint mirror DIR`). */
  'mirror',
  /** A framework callback (HF Trainer, Lightning, Keras) saved through its own save. */
  'callback'
]);
export type CheckpointTrigger = z.infer<typeof CheckpointTrigger>;

/** One checkpoint copied to the destination. Only `verified: true` records are ever "latest". */
export const CheckpointRecord = z.object({
  id: z.string(),
  /** ISO 8601 time the checkpoint became verified (or failed). */
  time: z.string(),
  /** Training step the kernel reported (null when unknown, e.g. a mirrored file). */
  step: z.number().int().nullable(),
  trigger: CheckpointTrigger,
  /** Final path in the destination. */
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  /** Hex sha256 of the bytes read back from the destination. */
  sha256: z.string(),
  /** From the decision (or request) to verified, ms. */
  durationMs: z.number().nonnegative(),
  verified: z.boolean(),
  /** 'objects' (watch + step), 'mirror' (a mirrored file), 'callback' (framework save). */
  kind: z.enum(['objects', 'mirror', 'callback']),
  /** Run name: the folder under the destination. */
  run: z.string(),
  kernelId: z.string().nullable(),
  /** Why it failed; null when verified. */
  error: z.string().nullable()
});
export type CheckpointRecord = z.infer<typeof CheckpointRecord>;

/** Where checkpoints go and whether that survives the runtime. */
export const CheckpointDestination = z.object({
  /** The run folder checkpoints are written to; null when there is none. */
  path: z.string().nullable(),
  kind: z.enum(['drive', 'kaggle', 'configured', 'none']),
  /** True only for a place that outlives the runtime (Drive, Kaggle output, a configured path). */
  durable: z.boolean(),
  /** One sentence: why this place, e.g. "Google Drive is mounted at /content/drive". */
  reason: z.string(),
  /** What to do when not durable, e.g. how to mount Drive; null when nothing to do. */
  fix: z.string().nullable(),
  freeBytes: z.number().nullable(),
  /** A size limit that applies (Kaggle's /kaggle/working output limit), else null. */
  limitBytes: z.number().nullable()
});
export type CheckpointDestination = z.infer<typeof CheckpointDestination>;

/** A run name: the folder under the destination. */
const RunName = z.string().min(1).max(100).regex(/^[\w.-]+$/);

export const CheckpointSettings = z.object({
  /** Automatic checkpoints on/off ("Checkpoint now" works either way). */
  auto: z.boolean(),
  intervalMin: z.number().positive(),
  /** Checkpoints kept per run; the oldest is deleted only after a newer one is verified. */
  keep: z.number().int().min(1).max(100),
  /** Save when session time left < saveFactor × last save duration + marginS. */
  saveFactor: z.number().min(1),
  marginS: z.number().nonnegative(),
  /** Save when the idle cut-off is this close. */
  idleLeadS: z.number().nonnegative(),
  /** Save when /content (the ephemeral disk) is this full, percent. */
  diskPercent: z.number().min(1).max(100),
  /** Save when an OOM is predicted within this many seconds. */
  oomLeadS: z.number().nonnegative(),
  /** Destination when neither Drive nor Kaggle applies (and over them when set); null: none. */
  destination: z.string().startsWith('/', 'an absolute path').max(4096).nullable(),
  /** Run name (folder under the destination); null: derived from the start time. */
  run: RunName.nullable()
});
export type CheckpointSettings = z.infer<typeof CheckpointSettings>;

/** PUT /checkpoints/settings: any subset; merged, persisted, applied at once. */
export const CheckpointSettingsBody = CheckpointSettings.partial().strict();
export type CheckpointSettingsBody = z.infer<typeof CheckpointSettingsBody>;

/** A save in progress (null in the status when idle). */
export const CheckpointProgress = z.object({
  id: z.string(),
  trigger: CheckpointTrigger,
  step: z.number().int().nullable(),
  /** requested: waiting for the kernel's next step(); saving: the kernel writes; copying / verifying: the sidecar. */
  phase: z.enum(['requested', 'saving', 'copying', 'verifying']),
  bytesDone: z.number().nonnegative(),
  bytesTotal: z.number().nullable(),
  startedAt: z.string()
});
export type CheckpointProgress = z.infer<typeof CheckpointProgress>;

export const CheckpointDue = z.object({
  /** ISO time of the next automatic checkpoint; null when none is planned (auto off, nobody watching). */
  at: z.string().nullable(),
  trigger: CheckpointTrigger.nullable(),
  /** In words, e.g. "every 30 min (interval)", "auto checkpoints are off". */
  reason: z.string()
});

export const CheckpointBackoff = z.object({
  /** The interval actually used, minutes (longer than the setting while backing off). */
  intervalMin: z.number(),
  reason: z.string(),
  /** A failed save is retried no earlier than this. */
  retryAt: z.string().nullable()
});

export const CheckpointStatus = z.object({
  destination: CheckpointDestination,
  auto: z.boolean(),
  /** True while a kernel is watching objects (vigilo.checkpoint.watch) or a folder is mirrored. */
  watching: z.boolean(),
  saving: CheckpointProgress.nullable(),
  lastVerified: CheckpointRecord.nullable(),
  /** Seconds since lastVerified, null when none. */
  lastAgeS: z.number().nullable(),
  nextDue: CheckpointDue,
  backoff: CheckpointBackoff.nullable(),
  /** Last failure, with what to do about it; cleared by the next verified checkpoint. */
  lastError: z.object({ at: z.string(), message: z.string(), fix: z.string() }).nullable(),
  mirrors: z.array(z.object({ source: z.string(), files: z.number().int(), bytes: z.number(), lastCopiedAt: z.string().nullable() })),
  settings: CheckpointSettings,
  /** The status in a few lines of text, rendered by the sidecar (`%vigilo checkpoint`). */
  summary: z.string()
});
export type CheckpointStatus = z.infer<typeof CheckpointStatus>;

/** GET /checkpoints. */
export const CheckpointsResponse = z.object({
  status: CheckpointStatus,
  /** Newest first, verified and failed. */
  checkpoints: z.array(CheckpointRecord)
});
export type CheckpointsResponse = z.infer<typeof CheckpointsResponse>;

/** POST /checkpoints: "Checkpoint now". The panel button sends `{}`. */
export const CheckpointRequestBody = z.object({ note: z.string().max(200).optional() }).strict();

export const CheckpointRequestResponse = z.object({
  /** False when no kernel watches anything (nothing to save) or a save is already running. */
  accepted: z.boolean(),
  id: z.string().nullable(),
  message: z.string()
});
export type CheckpointRequestResponse = z.infer<typeof CheckpointRequestResponse>;

/** The `checkpoint` SSE event: the status after every change (requested, progress, verified, failed). */
export const CheckpointEvent = z.object({
  type: z.enum(['requested', 'progress', 'verified', 'failed', 'settings']),
  status: CheckpointStatus,
  record: CheckpointRecord.nullable()
});
export type CheckpointEvent = z.infer<typeof CheckpointEvent>;

/** Carried by the heartbeat answer to a watching kernel: save at the next step(). */
export const CheckpointOrder = z.object({ id: z.string(), trigger: CheckpointTrigger });
export type CheckpointOrder = z.infer<typeof CheckpointOrder>;

// ---------------------------------------------------------------------------
// Kernel side (vigilo/checkpoint): the kernel saves at a safe point, the sidecar copies and verifies.

/** POST /checkpoints/watch: a kernel watches objects (or stops: `watching: false`). */
export const CheckpointWatchBody = z
  .object({
    kernelId: z.string().min(1).max(200),
    watching: z.boolean(),
    /** Folder name under the destination; absent: the settings' run, else "default". */
    run: RunName.optional()
  })
  .strict();

/** POST /checkpoints/staged: the kernel wrote a complete staging file (or failed to). */
export const CheckpointStagedBody = z
  .object({
    kernelId: z.string().min(1).max(200),
    /** The order this answers (from the heartbeat), null when the kernel saved on its own (callback). */
    orderId: z.string().max(100).nullable(),
    trigger: CheckpointTrigger,
    kind: z.enum(['objects', 'callback']),
    step: z.number().int().nullable(),
    /** Absolute path of the staging file or folder; absent when the save failed. */
    stagingPath: z.string().min(1).max(4096).optional(),
    /** File name to give it in the destination, e.g. "step-4200.pt". */
    name: z.string().min(1).max(200).regex(/^[\w.-]+$/),
    /** Seconds the in-kernel save took. */
    saveS: z.number().nonnegative(),
    /** Why the kernel could not save (e.g. "cannot pickle '_thread.lock' object"). */
    error: z.string().max(2000).optional(),
    /** Leave the staged path in place after the copy (a framework's own checkpoint folder); default: removed. */
    keepSource: z.boolean().optional()
  })
  .strict();
export type CheckpointStagedBody = z.infer<typeof CheckpointStagedBody>;

export const CheckpointStagedResponse = z.object({ accepted: z.boolean(), id: z.string(), message: z.string() });

/** POST /checkpoints/mirror: mirror a folder's complete files to the destination (DELETE-like: `enabled: false`). */
export const CheckpointMirrorBody = z.object({ source: z.string().min(1).max(4096), enabled: z.boolean().default(true) }).strict();
