/**
 * Parsing of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` and
 * `--query-compute-apps=…` lines, pure. Cells nvidia-smi cannot fill
 * ("[N/A]", "[Not Supported]", "[Requested functionality has been
 * deprecated]", "N/A") become null. A line that does not fit is reported as
 * garbage (the reader counts it), never thrown.
 */

/** The query the streaming reader runs; the parser follows this order. */
export const GPU_QUERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'utilization.gpu', 'temperature.gpu', 'power.draw'] as const;
export const APPS_QUERY_FIELDS = ['pid', 'process_name', 'used_gpu_memory', 'gpu_uuid'] as const;

export interface GpuRow {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

export interface ComputeAppRow {
  pid: number;
  processName: string;
  usedMiB: number | null;
  gpuUuid: string;
}

export type ParseResult<T> = { ok: true; row: T } | { ok: false; reason: string };

const UNAVAILABLE = /^\[?(n\/a|not supported|requested functionality has been deprecated|unknown error|gpu is lost|insufficient permissions|no data)\]?$/i;

/** Split one CSV line the way nvidia-smi writes it: ", " separated, no quoting. */
export function splitCells(line: string): string[] {
  return line.split(',').map(c => c.trim());
}

export function isUnavailable(cell: string): boolean {
  return cell === '' || UNAVAILABLE.test(cell);
}

/** "15360", "15360 MiB", "70.51 W", "45 %" → number; unavailable → null; anything else → NaN. */
export function numberCell(cell: string): number | null {
  if (isUnavailable(cell)) {
    return null;
  }
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*(?:MiB|%|W|C|\u00B0C))?$/.exec(cell);
  return m ? Number(m[1]) : Number.NaN;
}

export function parseGpuLine(line: string): ParseResult<GpuRow> {
  const cells = splitCells(line);
  if (cells.length !== GPU_QUERY_FIELDS.length) {
    return { ok: false, reason: `expected ${GPU_QUERY_FIELDS.length} cells, got ${cells.length}` };
  }
  const [index, uuid, name, total, used, util, temp, power] = cells;
  if (!/^\d+$/.test(index)) {
    return { ok: false, reason: `index "${index.slice(0, 20)}" is not a number` };
  }
  if (!uuid || isUnavailable(uuid) || !name || isUnavailable(name)) {
    return { ok: false, reason: 'missing uuid or name' };
  }
  const numbers = [total, used, util, temp, power].map(numberCell);
  const bad = numbers.findIndex(n => n !== null && Number.isNaN(n));
  if (bad >= 0) {
    return { ok: false, reason: `${GPU_QUERY_FIELDS[bad + 3]} "${[total, used, util, temp, power][bad].slice(0, 20)}" is not a number` };
  }
  const [memoryTotalMiB, memoryUsedMiB, utilizationPercent, temperatureC, powerW] = numbers as Array<number | null>;
  return { ok: true, row: { index: Number(index), uuid, name, memoryTotalMiB, memoryUsedMiB, utilizationPercent, temperatureC, powerW } };
}

export function parseComputeAppLine(line: string): ParseResult<ComputeAppRow> {
  const cells = splitCells(line);
  if (cells.length < APPS_QUERY_FIELDS.length) {
    return { ok: false, reason: `expected ${APPS_QUERY_FIELDS.length} cells, got ${cells.length}` };
  }
  // A process name may itself contain commas: pid first, uuid last, memory before it.
  const pid = cells[0];
  const gpuUuid = cells[cells.length - 1];
  const used = numberCell(cells[cells.length - 2]);
  const processName = cells.slice(1, -2).join(', ');
  if (!/^\d+$/.test(pid) || (used !== null && Number.isNaN(used))) {
    return { ok: false, reason: 'not a compute-apps row' };
  }
  return { ok: true, row: { pid: Number(pid), processName, usedMiB: used, gpuUuid } };
}

export interface SmiVersions {
  driver: string | null;
  cuda: string | null;
}

/**
 * Driver and CUDA versions from nvidia-smi's own report: the header of the
 * plain table ("| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA
 * Version: 12.2 |") or `-q` ("Driver Version : 460.32.03", "CUDA Version :
 * 11.2"). null when neither is there.
 */
export function parseSmiVersions(text: string): SmiVersions | null {
  const driver = /Driver Version\s*:\s*([0-9][0-9.]*)/i.exec(text)?.[1] ?? null;
  const cuda = /CUDA Version\s*:\s*([0-9][0-9.]*)/i.exec(text)?.[1] ?? null;
  return driver || cuda ? { driver, cuda } : null;
}
