/**
 * The sidecar's wire shapes, defined once. The sidecar validates with these,
 * the OpenAPI document is generated from them, and the frontend imports the
 * inferred types. Bump API_VERSION on any breaking change.
 */
import { z } from 'zod';
import { CheckpointOrder } from './checkpoint-api';
import { LlmKernelFacts } from './llm-api';
import { SidecarLifecycle } from './lifecycle-api';
import { durationString, sizeString } from './unitPatterns';

export const API_VERSION = 1;

export const PlatformName = z.enum(['colab', 'kaggle', 'local', 'unknown']);
export type PlatformName = z.infer<typeof PlatformName>;

export const AcceleratorInfo = z.object({
  kind: z.enum(['gpu', 'tpu', 'none', 'unknown']),
  /** "Tesla T4", "2 × Tesla T4", "TPU v3-8"; null when unknown. */
  model: z.string().nullable(),
  count: z.number().int().nullable(),
  evidence: z.array(z.string()),
  /** From nvidia-smi's own report, when it gave them. */
  driverVersion: z.string().nullable().optional(),
  cudaVersion: z.string().nullable().optional(),
  /** TPU type ("v5litepod-8", "TPU v5 lite") and HBM per chip (GB, as the vendor states it) where a source gives it. */
  tpuType: z.string().nullable().optional(),
  hbmPerChipGB: z.number().nullable().optional()
});
export type AcceleratorInfo = z.infer<typeof AcceleratorInfo>;

export const PlatformInfo = z.object({
  name: PlatformName,
  /** Human-readable facts that decided `name`, e.g. "env COLAB_RELEASE_TAG=release-colab_20261101". */
  evidence: z.array(z.string()),
  /** GPU model / TPU / none, with its evidence (absent until the platform module reports). */
  accelerator: AcceleratorInfo.optional(),
  /** Kaggle: a committed "Save & Run All" run (batch: no idle cut-off) or the editor (interactive). */
  runType: z.enum(['batch', 'interactive', 'unknown']).nullable().optional(),
  /** Kaggle: the image named by KAGGLE_DOCKER_IMAGE and its kind. */
  image: z.object({ name: z.string(), kind: z.enum(['gpu', 'cpu', 'tpu', 'unknown']), language: z.enum(['python', 'r']).nullable() }).nullable().optional(),
  /** Colab: the plan, inferred only from evidence (a paid-only GPU) or stated by the user; `ask` is the line that states it. */
  tier: z.object({ value: z.string().nullable(), basis: z.enum(['inferred', 'stated', 'unknown']), evidence: z.array(z.string()), ask: z.string().nullable() }).nullable().optional()
});
export type PlatformInfo = z.infer<typeof PlatformInfo>;

/** The SQLite databases of the data dir and their write-ahead logs, as they are on disk (GET /status). */
export const DatabaseSizes = z.object({
  dbBytes: z.number().int().describe('Bytes of the database files (llm.sqlite, checkpoints.sqlite), together'),
  walBytes: z.number().int().describe('Bytes of their write-ahead logs, together; each is checkpointed and truncated once past walLimitBytes'),
  walLimitBytes: z.number().int().describe('The bound on each write-ahead log (VIGILO_WAL_LIMIT_BYTES, default 64 MiB)'),
  files: z.array(z.object({ name: z.string(), dbBytes: z.number().int(), walBytes: z.number().int() }))
});
export type DatabaseSizes = z.infer<typeof DatabaseSizes>;

export const StatusResponse = z.object({
  name: z.literal('vigilo'),
  apiVersion: z.number().int(),
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.string().describe('ISO 8601 time the sidecar started'),
  uptimeS: z.number(),
  platform: PlatformInfo,
  /** Which Node and storage engine run the sidecar, and the restarts of its data dir. */
  lifecycle: SidecarLifecycle.optional(),
  /** Disk the history databases take (db + write-ahead log bytes). */
  database: DatabaseSizes.optional()
});
export type StatusResponse = z.infer<typeof StatusResponse>;

/** A section a collector could not fill says why, so the UI can render the reason. */
export const SectionState = z.object({
  status: z.enum(['ok', 'unavailable', 'error', 'pending']),
  reason: z.string().nullable()
});

export const SystemSection = z.object({
  cpuPercent: z.number().nullable(),
  cores: z.number().int(),
  load: z.tuple([z.number(), z.number(), z.number()]),
  memory: z.object({
    totalBytes: z.number(),
    usedBytes: z.number(),
    availableBytes: z.number()
  }),
  disks: z.array(
    z.object({
      mount: z.string(),
      fs: z.string(),
      totalBytes: z.number(),
      usedBytes: z.number(),
      availableBytes: z.number()
    })
  ),
  sampledAt: z.string()
});
export type SystemSection = z.infer<typeof SystemSection>;

export const GpuDevice = z.object({
  index: z.number().int(),
  uuid: z.string(),
  name: z.string(),
  memoryTotalMiB: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  utilizationPercent: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerW: z.number().nullable(),
  /** OOM prediction from this GPU's recent VRAM series (src/core/oom.ts). */
  oom: z
    .object({
      secondsToLimit: z.number().nullable(),
      /** The time to the limit given early (from the 10th sample), before it is sure enough to warn; read with `confidence`. */
      estimateS: z.number().nullable().optional(),
      trend: z.enum(['rising', 'flat', 'plateau', 'uncertain', 'unknown']).optional(),
      basis: z.string(),
      confidence: z.number(),
      usedPercent: z.number().nullable(),
      slopeMiBPerS: z.number().nullable(),
      samples: z.number().int(),
      /** Set when VRAM rises and falls (two frees or more in the window): its peaks decide (src/core/oom.ts). */
      cycle: z
        .object({ frees: z.number().int(), periodS: z.number().nullable(), peakMiB: z.number(), peaksFrom: z.enum(['samples', 'torch']) })
        .nullable()
        .optional()
    })
    .optional(),
  /** Processes using this GPU (from --query-compute-apps, sampled more slowly); kernelId when the pid is a registered kernel's. */
  processes: z.array(z.object({ pid: z.number().int(), processName: z.string(), usedMiB: z.number().nullable(), kernelId: z.string().nullable().optional() })).optional(),
  /** PyTorch's own view of this device, from a kernel that imported torch (src/core/torchMemory.ts). */
  torch: z
    .object({
      kernelId: z.string(),
      allocatedBytes: z.number(),
      reservedBytes: z.number(),
      maxAllocatedBytes: z.number(),
      cachedBytes: z.number(),
      numAllocRetries: z.number().nullable(),
      numOoms: z.number().nullable(),
      kind: z.enum(['leak', 'fragmentation', 'cache', 'oom', 'ok']),
      /** e.g. "PyTorch holds 14 GiB reserved, 9 GiB allocated: 5 GiB is its cache, ...". */
      findings: z.array(z.string()),
      advice: z.string().nullable(),
      reportedAt: z.string()
    })
    .nullable()
    .optional()
});
export type GpuDevice = z.infer<typeof GpuDevice>;

export const GpuSection = SectionState.extend({
  devices: z.array(GpuDevice),
  sampledAt: z.string().nullable(),
  /** The streaming nvidia-smi reader's health: restarts, garbage lines, command. */
  reader: z
    .object({
      status: z.string(),
      command: z.string().nullable(),
      pid: z.number().int().nullable(),
      starts: z.number().int(),
      failures: z.number().int(),
      garbageLines: z.number().int(),
      lastGarbage: z.string().nullable(),
      lastLineAt: z.string().nullable(),
      nextRestartInMs: z.number().nullable()
    })
    .optional(),
  /** Why compute-apps are missing, when they are. */
  processesReason: z.string().nullable().optional()
}).passthrough();
export type GpuSection = z.infer<typeof GpuSection>;

/** GET /gpu/history: recent VRAM samples per GPU, oldest first (the GPU module's ring buffer). */
export const GpuHistoryResponse = z.object({ gpus: z.array(z.object({ uuid: z.string(), samples: z.array(z.object({ t: z.string(), usedMiB: z.number() })) })) });
export type GpuHistoryResponse = z.infer<typeof GpuHistoryResponse>;

export const SidecarSection = z.object({
  pid: z.number().int(),
  uptimeS: z.number(),
  rssBytes: z.number(),
  version: z.string()
});

/** One progress bar as the kernel sees it (vigilo/_progress.py): raw facts, decided on in src/core/progress.ts. */
/** Upper bounds of heartbeat figures: far above real ones, low enough that sums and dates derived from them stay finite. */
const MAX_COUNT = 1e15;
const MAX_SECONDS = 1e9;
// Below 2^53: a JSON number just above a bound must still read as above it.
const MAX_BYTES = 2 ** 50;

export const ProgressFact = z
  .object({
    id: z.string().min(1).max(200),
    source: z.string().max(40),
    name: z.string().max(200),
    // Bounds far above any real bar, so that times derived from them stay valid dates.
    n: z.number().nonnegative().max(MAX_COUNT),
    total: z.number().nonnegative().max(MAX_COUNT).nullable(),
    elapsedS: z.number().nonnegative().max(MAX_SECONDS),
    position: z.number().int().nonnegative().max(1000).optional(),
    closed: z.boolean(),
    idleS: z.number().nonnegative().max(MAX_SECONDS).optional()
  })
  .strict();
export type ProgressFact = z.infer<typeof ProgressFact>;

/** PyTorch's own view of one CUDA device (torch.cuda.memory_* in the kernel), bytes. */
export const TorchDeviceFacts = z
  .object({
    index: z.number().int().nonnegative().max(1024),
    name: z.string().max(200).nullable().optional(),
    uuid: z.string().max(200).nullable().optional(),
    totalBytes: z.number().nonnegative().max(MAX_BYTES).nullable().optional(),
    allocatedBytes: z.number().nonnegative().max(MAX_BYTES),
    reservedBytes: z.number().nonnegative().max(MAX_BYTES),
    maxAllocatedBytes: z.number().nonnegative().max(MAX_BYTES),
    maxReservedBytes: z.number().nonnegative().max(MAX_BYTES).nullable().optional(),
    /** Allocator counters from torch.cuda.memory_stats(), when it answers. */
    numAllocRetries: z.number().nonnegative().max(MAX_COUNT).nullable().optional(),
    numOoms: z.number().nonnegative().max(MAX_COUNT).nullable().optional(),
    inactiveSplitBytes: z.number().nonnegative().max(MAX_BYTES).nullable().optional()
  })
  .strict();
export type TorchDeviceFacts = z.infer<typeof TorchDeviceFacts>;

export const TorchFacts = z
  .object({
    version: z.string().max(80).nullable(),
    /** Only when CUDA was already initialised by the user's code; Vigilo never initialises it. */
    cudaInitialized: z.boolean(),
    allocConf: z.string().max(500).nullable().optional(),
    devices: z.array(TorchDeviceFacts).max(64)
  })
  .strict();
export type TorchFacts = z.infer<typeof TorchFacts>;

export const KernelHeartbeat = z
  .object({
    kernelId: z.string().min(1).max(200),
    pid: z.number().int().positive().max(2 ** 31 - 1),
    startedAt: z.string().datetime({ offset: true }),
    lastActivity: z.string().datetime({ offset: true }).nullable().optional(),
    executionCount: z.number().int().nonnegative().max(MAX_COUNT).optional(),
    /** Raw facts the kernel knows, e.g. { "google.colab": true }. The sidecar decides what they mean. */
    modules: z.record(z.string(), z.boolean()).optional(),
    /** Progress bars (tqdm, vigilo.progress, training callbacks). */
    progress: z.array(ProgressFact).max(64).optional(),
    /** PyTorch's memory facts, only when torch is already imported. */
    torch: TorchFacts.optional(),
    /** TPU devices as an already-imported jax / torch_xla sees them (never imported by Vigilo). */
    tpu: z.object({ source: z.enum(['jax', 'torch_xla']), deviceKind: z.string().max(80).nullable(), count: z.number().int().nonnegative().max(4096).nullable() }).strict().optional(),
    /** LLM SDKs loaded and calls tracked / passed untracked (vigilo/llm/_census.py). */
    llm: LlmKernelFacts.optional()
  })
  .strict();
export type KernelHeartbeat = z.infer<typeof KernelHeartbeat>;

export const KernelTask = z.object({
  kind: z.literal('kernel'),
  kernelId: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  lastActivity: z.string().nullable(),
  lastHeartbeat: z.string(),
  executionCount: z.number().int().nullable(),
  alive: z.boolean()
});
export type KernelTask = z.infer<typeof KernelTask>;

export const SidecarTask = z.object({
  kind: z.literal('sidecar'),
  pid: z.number().int(),
  startedAt: z.string(),
  url: z.string()
});

export const TasksResponse = z.object({
  tasks: z.array(z.discriminatedUnion('kind', [SidecarTask, KernelTask]))
});
export type TasksResponse = z.infer<typeof TasksResponse>;

export const HeartbeatResponse = z.object({
  ok: z.literal(true),
  heartbeatIntervalS: z.number(),
  /** Present for a kernel that watches checkpoints: a save is due at its next step() (checkpoint-api.ts). */
  checkpoint: CheckpointOrder.nullable().optional(),
  /** Whether the sidecar knows this kernel watches checkpoints (false after a sidecar restart: the kernel re-registers). */
  checkpointWatched: z.boolean().optional(),
  /** Present when this kernel made LLM calls outside track() (src/server/llm/untracked.ts): how many and the fix. */
  llmUntracked: z.object({ calls: z.number().int(), message: z.string(), fix: z.string() }).optional()
});

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string()
  })
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/** Names of the Server-Sent Events on GET /events. */
export const EventNames = ['hello', 'snapshot', 'alert', 'kernel', 'llm', 'checkpoint'] as const;
export type EventName = (typeof EventNames)[number];

// ---------------------------------------------------------------------------
// Alerts (src/server/alerts/engine.ts): GET /alerts and the `alert` SSE event.

export const AlertSeverity = z.enum(['info', 'warning', 'critical']);

export const Alert = z.object({
  /** Unique across sidecar restarts. */
  id: z.string(),
  /** The rule or event family, e.g. "gpu.vram", "session.remaining", "kernel.restarted", "llm.budget.day". */
  ruleId: z.string(),
  /** What the rule watched, e.g. a GPU uuid, a kernel id, a conversation id; "" when global. */
  key: z.string(),
  severity: AlertSeverity,
  /** 'threshold': a threshold was crossed; 'event': a one-shot event; 'resolved': a crossed threshold cleared. */
  kind: z.enum(['threshold', 'event', 'resolved']),
  message: z.string(),
  at: z.string().describe('ISO 8601 time the alert was raised'),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  data: z.record(z.string(), z.unknown()).optional()
});
export type Alert = z.infer<typeof Alert>;

export const AlertsResponse = z.object({ alerts: z.array(Alert) });

/** An alert that holds now: one per (ruleId, key), updated in place while it holds (GET /alerts/active, snapshot `alerts`). */
export const ActiveAlert = Alert.extend({
  /** When this (rule, key) first crossed; kept while it stays crossed. */
  raisedAt: z.string(),
  /** When the value, message or severity last changed. */
  updatedAt: z.string()
});
export type ActiveAlert = z.infer<typeof ActiveAlert>;

export const ActiveAlertsResponse = z.object({ alerts: z.array(ActiveAlert) });

/** The snapshot's `alerts` section. */
export const AlertsSection = z.object({
  active: z.array(ActiveAlert),
  /** Effective levels per threshold rule id (user settings applied; [] for a rule turned off), for the panel's and the report's colours (src/shared/alertLevels.ts). */
  levels: z.record(z.string(), z.array(z.object({ value: z.number(), severity: AlertSeverity }))).optional()
});
export type AlertsSection = z.infer<typeof AlertsSection>;

export const AlertDismissBody = z.object({ ruleId: z.string().min(1).max(200), key: z.string().max(500) }).strict();

export const AlertRuleSettings = z
  .object({
    enabled: z.boolean().optional(),
    /** Plain numbers take the rule's default severity. */
    thresholds: z.array(z.union([z.number(), z.object({ value: z.number(), severity: AlertSeverity })])).max(20).optional(),
    hysteresis: z.number().nonnegative().optional()
  })
  .strict();
export type AlertRuleSettings = z.infer<typeof AlertRuleSettings>;

export const AlertSettingsBody = z.object({ rules: z.record(z.string(), AlertRuleSettings) }).strict();
export type AlertSettingsBody = z.infer<typeof AlertSettingsBody>;

export const AlertRuleView = z.object({
  id: z.string(),
  description: z.string(),
  unit: z.string(),
  direction: z.enum(['above', 'below']),
  enabled: z.boolean(),
  severity: AlertSeverity,
  thresholds: z.array(z.object({ value: z.number(), severity: AlertSeverity })),
  hysteresis: z.number()
});
export const AlertSettingsResponse = z.object({ rules: z.array(AlertRuleView), file: z.string().nullable() });

// ---------------------------------------------------------------------------
// Runtime sections (issue 3): GET /metrics `platform`, `session`, `idle`, `storage`, `quota`.

export const ProfileNumber = z.object({
  value: z.number().nullable(),
  unit: z.enum(['s', 'bytes']),
  display: z.string().nullable(),
  source: z.string(),
  date: z.string(),
  verified: z.boolean(),
  note: z.string().optional()
});

export const ProfileResponse = z.object({
  platform: PlatformName,
  variant: z.string(),
  fields: z.record(z.string(), ProfileNumber),
  ephemeralPaths: z.array(z.string()),
  durablePaths: z.array(z.string()),
  overridesFile: z.string()
});

/** A profile duration override: hours when a bare number, a duration string, or null / "none" for no limit. */
const DurationOverride = z.union([z.number().min(0).max(1e6), z.null(), durationString({ noLimit: true })]);
export const ProfileBody = z
  .object({
    overrides: z
      .object({
        sessionLifetime: DurationOverride.optional(),
        idleCutoff: DurationOverride.optional(),
        gpuSessionCap: DurationOverride.optional(),
        weeklyGpuQuota: DurationOverride.optional(),
        weeklyTpuQuota: DurationOverride.optional(),
        outputLimit: z.union([z.number().min(0).max(2 ** 50), z.null(), sizeString({ noLimit: true })]).optional(),
        /** The Colab plan when it cannot be inferred: free, pro, pro+ or paid (payg); null forgets it. */
        tier: z.union([z.enum(['free', 'pro', 'pro+', 'paid', 'payg']), z.null()]).optional()
      })
      .strict()
  })
  .strict();

export const PlatformSection = PlatformInfo.extend({
  profile: z.object({
    variant: z.string(),
    sessionLifetimeS: z.number().nullable(),
    idleCutoffS: z.number().nullable(),
    /** Why this variant: platform, accelerator and its evidence. */
    basis: z.string().optional(),
    /** Why each limit is what it is: value, source, verified, note. */
    reasons: z.record(z.string(), z.string()).optional()
  }),
  checkedAt: z.string()
});

export const SessionSection = z.object({
  /** When the runtime (container / VM) started, and how that was read: 'pid1' | 'uptime' | 'sidecar'. */
  startedAt: z.string(),
  startBasis: z.string(),
  elapsedS: z.number(),
  lifetimeS: z.number().nullable(),
  remainingS: z.number().nullable(),
  endsAt: z.string().nullable(),
  /** Warning marks in minutes before the end. */
  warnAtMin: z.array(z.number()),
  /** How the previous sidecar session on this machine ended, when one was recorded. */
  previous: z
    .object({ startedAt: z.string(), endedAt: z.string().nullable(), lastSeenAt: z.string(), how: z.string(), sameRuntime: z.boolean() })
    .nullable()
});

export const IdleSection = z.object({
  lastActivityAt: z.string(),
  source: z.enum(['kernel', 'panel', 'sidecar-start']),
  idleS: z.number(),
  cutoffS: z.number().nullable(),
  remainingS: z.number().nullable()
});

export const ActivityBody = z.object({ source: z.enum(['panel', 'kernel']), at: z.string().datetime({ offset: true }).optional() }).strict();

export const DiskUsage = z.object({
  path: z.string(),
  totalBytes: z.number(),
  usedBytes: z.number(),
  availableBytes: z.number(),
  usedPercent: z.number()
});

export const StorageSection = SectionState.extend({
  disks: z.array(DiskUsage),
  /** Kaggle's /kaggle/working against the output limit (null off Kaggle). */
  output: z
    .object({
      path: z.string(),
      bytes: z.number(),
      limitBytes: z.number().nullable(),
      usedPercent: z.number().nullable(),
      files: z.number().int(),
      /** True when the walk stopped at its entry cap: the size is a lower bound. */
      truncated: z.boolean(),
      measuredAt: z.string()
    })
    .nullable(),
  drive: z.object({ mounted: z.boolean(), mountPoint: z.string(), fsType: z.string().nullable() }),
  sampledAt: z.string()
});

export const InternetState = z.object({
  enabled: z.boolean(),
  target: z.string().nullable(),
  reachable: z.boolean().nullable(),
  checkedAt: z.string().nullable(),
  error: z.string().nullable()
});

export const QuotaSection = z.object({
  weeklyQuotaS: z.number().nullable(),
  remainingS: z.number().nullable(),
  usedThisWeekS: z.number().nullable(),
  basis: z.enum(['stated', 'estimated', 'unknown']),
  statedAt: z.string().nullable(),
  statedRemainingS: z.number().nullable(),
  countedGpuS: z.number(),
  /** TPU seconds counted (Kaggle TPU sessions draw on the 20 h TPU quota). */
  countedTpuS: z.number().optional(),
  /** Which quota the figures above are: the session's accelerator (tpu on a TPU session, else gpu). */
  resource: z.enum(['gpu', 'tpu']).optional(),
  weekStartedAt: z.string(),
  resetsAt: z.string(),
  counting: z.boolean(),
  internet: InternetState
});

/** Hours left this week: at most a week (168 h) as a number; a string is parsed and refused above a week. */
export const QuotaBody = z
  .object({ remaining: z.union([z.number().min(0).max(168, { error: 'more than a week of quota (168 h); give the hours left this week, e.g. 23' }), durationString()]) })
  .strict();

// ---------------------------------------------------------------------------

/** One progress bar the sidecar tracks (a kernel's tqdm bar, vigilo.progress or a training callback). */
export const ProgressBarView = z.object({
  kernelId: z.string(),
  id: z.string(),
  name: z.string(),
  source: z.string(),
  n: z.number(),
  total: z.number().nullable()
});

/** GET /metrics `progress`: "will it finish?" (src/core/progress.ts, src/server/progress). */
export const ProgressSection = z.object({
  /** The bar that stands for the run (outermost, callbacks before tqdm); null when none has a total. */
  main: ProgressBarView.extend({
    fraction: z.number().nullable(),
    status: z.enum(['running', 'warming-up', 'stalled', 'finished', 'unknown']),
    ratePerS: z.number().nullable(),
    remainingS: z.number().nullable(),
    finishesAt: z.string().nullable(),
    confidence: z.number(),
    basis: z.string()
  }).nullable(),
  /** The verdict in words, e.g. "finishes in 2 h 10 min; the runtime has 4 h 05 min". */
  verdict: z
    .object({
      kind: z.enum(['finishes', 'runs-out', 'finished', 'stalled', 'unknown']),
      text: z.string(),
      needsS: z.number().nullable(),
      limitS: z.number().nullable(),
      limit: z.enum(['session', 'quota']).nullable(),
      reachesN: z.number().nullable()
    })
    .nullable(),
  bars: z.array(ProgressBarView.extend({ position: z.number(), closed: z.boolean(), seenAt: z.string() })),
  updatedAt: z.string()
});
export type ProgressSection = z.infer<typeof ProgressSection>;

/**
 * GET /metrics and the `snapshot` SSE event. Collectors own their sections;
 * a section is absent until its collector first reports. Sections added by
 * later capabilities (e.g. `llm`) pass through.
 */

export const MetricsSnapshot = z
  .object({
    takenAt: z.string(),
    sidecar: SidecarSection,
    system: SystemSection.optional(),
    gpu: GpuSection.optional(),
    platform: PlatformSection.optional(),
    session: SessionSection.optional(),
    idle: IdleSection.optional(),
    storage: StorageSection.optional(),
    quota: QuotaSection.optional(),
    alerts: AlertsSection.optional(),
    progress: ProgressSection.optional()
  })
  .passthrough();
export type MetricsSnapshot = z.infer<typeof MetricsSnapshot>;
