/**
 * Client settings: explicit configure() values win over the environment.
 * Nothing is read at import time; settings resolve on first use.
 */
export interface VigiloClientOptions {
  /** Sidecar base URL, e.g. "http://127.0.0.1:8123". Default: from the discovery file. */
  url?: string;
  /** Sidecar token. Default: from the discovery file. */
  token?: string;
  /** Data dir holding sidecar.json. Default: $VIGILO_DATA_DIR, $XDG_DATA_HOME/vigilo, ~/.local/share/vigilo. */
  dataDir?: string;
  /** Send message content and output text (local only). Default true; VIGILO_CAPTURE_CONTENT=0 turns it off. */
  captureContent?: boolean;
  /** Refuse calls (VigiloBudgetExceededError) once the sidecar reports the hard budget spent. Default false; VIGILO_HARD_BUDGET=1 turns it on. */
  hardBudget?: boolean;
  /** Events kept in memory while the sidecar is unreachable; beyond this the oldest go to the data dir's outbox on disk (default 2000). */
  maxBufferedEvents?: number;
  /** Bytes the outbox (`<data dir>/outbox`, 0600) may hold; beyond this the oldest events are dropped and counted (default 64 MiB; 0: no disk). */
  maxSpooledBytes?: number;
  /** Events per POST (default 100, at most 500). */
  batchSize?: number;
  /** Background send period in ms (default 1000). */
  flushIntervalMs?: number;
  /** Per-request timeout to the sidecar in ms (default 2000). */
  timeoutMs?: number;
}

export interface ResolvedOptions {
  url: string | null;
  token: string | null;
  dataDir: string | null;
  captureContent: boolean;
  hardBudget: boolean;
  maxBufferedEvents: number;
  maxSpooledBytes: number;
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
}

function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') {
    return undefined;
  }
  return !['0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

export function resolveOptions(options: VigiloClientOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  return {
    url: options.url ?? env.VIGILO_URL ?? null,
    token: options.token ?? env.VIGILO_TOKEN ?? null,
    dataDir: options.dataDir ?? null,
    captureContent: options.captureContent ?? envFlag(env.VIGILO_CAPTURE_CONTENT) ?? true,
    hardBudget: options.hardBudget ?? envFlag(env.VIGILO_HARD_BUDGET) ?? false,
    maxBufferedEvents: Math.max(1, options.maxBufferedEvents ?? 2000),
    maxSpooledBytes: Math.max(0, options.maxSpooledBytes ?? 64 * 1024 * 1024),
    batchSize: Math.min(500, Math.max(1, options.batchSize ?? 100)),
    flushIntervalMs: Math.max(10, options.flushIntervalMs ?? 1000),
    timeoutMs: Math.max(100, options.timeoutMs ?? 2000)
  };
}
