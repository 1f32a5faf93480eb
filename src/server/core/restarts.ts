import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { SidecarLifecycle } from '../../shared/lifecycle-api';

/** `<data dir>/restarts.json` as the Python launcher writes it (vigilo/_restarts.py). */
const Restart = z
  .object({ atMs: z.number(), reason: z.string(), previousPid: z.number().int().nullable().catch(null) })
  .nullable()
  .catch(null);
const RestartFile = z.object({
  count: z.number().int().nonnegative().catch(0),
  last: Restart,
  /** The restart this very start is (written by the launcher before it spawned us; counted by it once we answer). */
  pending: Restart.optional(),
  failedStarts: z.number().int().nonnegative().catch(0)
});

export const RESTART_FILE = 'restarts.json';

/** The restart record of a data dir; a missing or damaged file is "never restarted". */
export function readRestarts(dataDir: string): SidecarLifecycle['restarts'] {
  let raw: unknown = {};
  try {
    raw = JSON.parse(readFileSync(join(dataDir, RESTART_FILE), 'utf8'));
  } catch {
    // No restart yet.
  }
  const parsed = RestartFile.safeParse(raw);
  if (!parsed.success) {
    return { count: 0, last: null, failedStarts: 0 };
  }
  const { pending, failedStarts } = parsed.data;
  const count = parsed.data.count + (pending ? 1 : 0);
  const last = pending ?? parsed.data.last;
  return {
    count,
    last: last && Math.abs(last.atMs) <= 8.64e15 ? { at: new Date(last.atMs).toISOString(), reason: last.reason.slice(0, 500), previousPid: last.previousPid } : null,
    failedStarts
  };
}
