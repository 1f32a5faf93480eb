/**
 * The sidecar's own life, as GET /status reports it (`lifecycle`): which Node
 * and storage engine run it, and the restarts of its data dir. The launcher
 * (vigilo/_restarts.py) keeps the restart record in `<data dir>/restarts.json`;
 * each sidecar reads it at start.
 */
import { z } from 'zod';

export const SidecarRestart = z.object({
  at: z.string().describe('ISO 8601 time of the restart'),
  reason: z.string().describe('Why the previous sidecar was replaced, e.g. "sidecar pid 123 exited"'),
  previousPid: z.number().int().nullable()
});
export type SidecarRestart = z.infer<typeof SidecarRestart>;

export const SidecarLifecycle = z.object({
  node: z.object({
    version: z.string().describe('process.version, e.g. "v24.19.0"'),
    path: z.string().describe('The node executable running the sidecar')
  }),
  storageEngine: z.enum(['node:sqlite', 'wasm']).describe('The SQLite engine of the history stores (node:sqlite is the fast one)'),
  restarts: z.object({
    count: z.number().int().describe('Times a sidecar of this data dir was restarted after it died'),
    last: SidecarRestart.nullable(),
    failedStarts: z.number().int().describe('Starts in a row that never answered, before this sidecar started')
  }),
  summary: z.string().describe('One line for people: the Node, the engine and the restarts (what `%vigilo status` prints)')
});
export type SidecarLifecycle = z.infer<typeof SidecarLifecycle>;

/** One line for people: "restarted 2 times, last at … (sidecar pid 123 exited)"; null when it never restarted. */
export function describeRestarts(restarts: SidecarLifecycle['restarts']): string | null {
  if (restarts.count === 0 || !restarts.last) {
    return null;
  }
  const times = restarts.count === 1 ? 'once' : `${restarts.count} times`;
  return `Sidecar restarted ${times}; last at ${restarts.last.at.slice(0, 19).replace('T', ' ')} UTC (${restarts.last.reason}).`;
}

/** The one line `%vigilo` prints about the sidecar's Node, engine and restarts. */
export function describeLifecycle(pid: number, life: Omit<SidecarLifecycle, 'summary'>): string {
  const restarts = describeRestarts(life.restarts);
  return `Sidecar pid ${pid}: Node ${life.node.version} (${life.node.path}), storage engine ${life.storageEngine}.${restarts ? ` ${restarts}` : ''}`;
}
