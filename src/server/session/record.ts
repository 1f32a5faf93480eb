/**
 * The session record: `<dataDir>/session.json` (0600), rewritten while the
 * sidecar runs and closed on a clean stop. A fresh sidecar that finds one
 * tells how the previous session ended: cleanly, or killed with the runtime
 * (its last sign of life is `lastSeenAt`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writePrivateFile } from '../core/discovery';

export const SESSION_FILE = 'session.json';

const GpuIdentity = z.object({ index: z.number().int(), uuid: z.string(), name: z.string() });
export type GpuIdentity = z.infer<typeof GpuIdentity>;

export const SessionRecord = z.object({
  sidecarPid: z.number().int(),
  startedAt: z.string(),
  runtimeStartedAt: z.string(),
  lastSeenAt: z.string(),
  platform: z.string(),
  accelerator: z.string().nullable(),
  gpus: z.array(GpuIdentity),
  kernels: z.array(z.object({ kernelId: z.string(), pid: z.number().int() })),
  endedAt: z.string().nullable(),
  endReason: z.string().nullable()
});
export type SessionRecord = z.infer<typeof SessionRecord>;

export interface PreviousSession {
  startedAt: string;
  endedAt: string | null;
  lastSeenAt: string;
  how: string;
  sameRuntime: boolean;
  gpus: GpuIdentity[];
}

export function readSessionRecord(dataDir: string): SessionRecord | null {
  try {
    const parsed = SessionRecord.safeParse(JSON.parse(readFileSync(join(dataDir, SESSION_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** How the previous session ended, in words, judged against this runtime's start. */
export function describePrevious(
  record: SessionRecord,
  runtimeStartedAtMs: number,
  /** The newest verified checkpoint before the end (checkpoint/store.ts), when one was taken. */
  checkpoint: { step: number | null; time: string } | null = null
): PreviousSession {
  const sameRuntime = Math.abs(Date.parse(record.runtimeStartedAt) - runtimeStartedAtMs) < 5_000;
  let how: string;
  if (record.endedAt) {
    how = `ended cleanly at ${record.endedAt} (${record.endReason ?? 'sidecar stopped'})`;
  } else if (sameRuntime) {
    how = `ended unexpectedly: the sidecar was last seen alive at ${record.lastSeenAt} and did not shut down (killed or crashed); the runtime kept running`;
  } else {
    how = `ended with its runtime: last seen alive at ${record.lastSeenAt}; the runtime was recycled (new container or VM), so in-memory state and files outside durable storage are gone`;
  }
  if (record.kernels.length) {
    how += `; ${record.kernels.length} kernel(s) were registered (in-memory state lost)`;
  }
  if (checkpoint) {
    const endMs = Date.parse(record.endedAt ?? record.lastSeenAt);
    const beforeMin = Math.max(0, Math.round((endMs - Date.parse(checkpoint.time)) / 60_000));
    how += `; last verified checkpoint at step ${checkpoint.step ?? '?'}, ${beforeMin} min before the runtime ended (vigilo.checkpoint.restore() loads it)`;
  }
  return { startedAt: record.startedAt, endedAt: record.endedAt, lastSeenAt: record.lastSeenAt, how, sameRuntime, gpus: record.gpus };
}

/** The live record of this session; writes are cheap and atomic. */
export class SessionRecorder {
  readonly previous: SessionRecord | null;
  private record: SessionRecord;

  constructor(
    private readonly dataDir: string,
    init: Omit<SessionRecord, 'lastSeenAt' | 'endedAt' | 'endReason' | 'gpus' | 'kernels'>
  ) {
    this.previous = readSessionRecord(dataDir);
    this.record = { ...init, lastSeenAt: init.startedAt, gpus: [], kernels: [], endedAt: null, endReason: null };
  }

  get current(): SessionRecord {
    return { ...this.record };
  }

  update(patch: Partial<SessionRecord>, write = true): void {
    this.record = { ...this.record, ...patch };
    if (write) this.write();
  }

  write(): void {
    try {
      writePrivateFile(join(this.dataDir, SESSION_FILE), JSON.stringify(this.record, null, 2) + '\n');
    } catch {
      // The data dir is created at start; a failure here is retried at the next write.
    }
  }
}
