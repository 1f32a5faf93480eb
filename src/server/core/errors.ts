import { accessSync, constants, statfsSync } from 'node:fs';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';

/**
 * Every error the API can answer with: one code, one HTTP status, and a
 * message that tells the caller what to change.
 */
export const ErrorCodes = {
  unauthorized: { status: 401, message: 'Missing or wrong token: send "Authorization: Bearer <token>" (or ?token= for GET /events, as EventSource cannot send headers). The token is in sidecar.json.' },
  query_token: { status: 401, message: 'Send the token in the Authorization header ("Authorization: Bearer <token>"); ?token= is accepted only on GET /events.' },
  bad_host: { status: 403, message: 'Host header must be a loopback name (localhost, 127.0.0.1 or [::1]).' },
  bad_origin: { status: 403, message: 'Cross-origin requests are refused; reach the sidecar through the Jupyter server proxy (/vigilo/api/).' },
  malformed_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, message: 'The request does not match the expected shape.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  body_too_large: { status: 413, message: 'The request body is too large.' },
  not_found: { status: 404, message: 'No such endpoint; GET /openapi.json lists them.' },
  method_not_allowed: { status: 405, message: 'Method not allowed on this endpoint.' },
  too_many_clients: { status: 503, message: 'Too many event-stream clients are connected.' },
  budget_exceeded: { status: 402, message: 'The hard budget is exhausted.' },
  conflict: { status: 409, message: 'The request conflicts with the current state.' },
  bad_source: { status: 400, message: 'Pass a regular JSON file or an http(s) URL.' },
  source_too_large: { status: 413, message: 'The price source is larger than the limit.' },
  source_unreachable: { status: 502, message: 'The price source could not be fetched.' },
  source_timeout: { status: 504, message: 'The price source did not arrive in time.' },
  disk_full: { status: 507, message: 'The disk holding the data dir is full; free some space and retry.' },
  read_only: { status: 507, message: 'The data dir is read-only; nothing was changed.' },
  storage_failed: { status: 507, message: 'Writing to the data dir failed; nothing was changed.' },
  internal: { status: 500, message: 'The sidecar hit an internal error; it keeps serving. See its log.' }
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string
  ) {
    super(message ?? ErrorCodes[code].message);
    this.status = ErrorCodes[code].status;
  }
}

/**
 * "body.pid: Expected number, received string; body.kernelId: Required" (a request's part), or
 * "settings.capPerHour: …" without `where` (a state file: the field, never the file's text, which may hold secrets).
 */
export function describeZodError(error: ZodError, where?: string): string {
  return error.issues
    .slice(0, 10)
    .map(issue => {
      const path = [...(where ? [where] : []), ...issue.path.map(String)].join('.');
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** What the data dir's disk looks like now; injected in tests. */
export interface DiskProbe {
  /** Bytes free for this process on the filesystem holding `dir`, or null when unknown. */
  freeBytes(dir: string): number | null;
  /** Can this process create files in `dir`? (false on a read-only mount, even for root) */
  writable(dir: string): boolean;
}

export const systemDiskProbe: DiskProbe = {
  freeBytes(dir) {
    try {
      const s = statfsSync(dir);
      // root may write into the reserved blocks: count them when running as root.
      return Number(process.getuid?.() === 0 ? s.bfree : s.bavail) * Number(s.bsize);
    } catch {
      return null;
    }
  },
  writable(dir) {
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
};

/** Below this many free bytes an ambiguous I/O error is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A failed write to the data dir as the API error a user can act on, or null
 * when `error` is not a storage failure. The one place that knows every way a
 * full or read-only disk shows up: ENOSPC/EDQUOT/EROFS from node:fs, SQLITE_FULL
 * and SQLITE_READONLY, and the WASM SQLite's bare "disk I/O error" (then the
 * disk itself is asked which it is).
 */
export function storageError(error: unknown, dataDir: string, probe: DiskProbe = systemDiskProbe): ApiError | null {
  if (!error || typeof error !== 'object' || error instanceof ApiError) {
    return null;
  }
  const code = String((error as NodeJS.ErrnoException).code ?? '');
  const message = String((error as Error).message ?? '');
  const full = () =>
    new ApiError('disk_full', `The disk holding ${dataDir} is full: nothing was written. Free some space (or start the sidecar with --data-dir on another disk) and retry.`);
  const readOnly = () =>
    new ApiError('read_only', `${dataDir} is read-only: nothing was written. Make it writable, or start the sidecar with --data-dir <writable dir> (or VIGILO_DATA_DIR).`);
  if (code === 'ENOSPC' || code === 'EDQUOT' || /SQLITE_FULL|database or disk is full|ENOSPC|no space left/i.test(message)) {
    return full();
  }
  if (code === 'EROFS' || /EROFS|SQLITE_READONLY|readonly database|read-only file system/i.test(message)) {
    return readOnly();
  }
  if (code === 'EIO' || /disk I\/O error|SQLITE_IOERR/i.test(message)) {
    if (!probe.writable(dataDir)) {
      return readOnly();
    }
    const free = probe.freeBytes(dataDir);
    if (free !== null && free < NEARLY_FULL_BYTES) {
      return full();
    }
    return new ApiError('storage_failed', `Writing to ${dataDir} failed (${message || code}): nothing was written. Check the disk holding it, then retry.`);
  }
  return null;
}

export interface ErrorHandlerOptions {
  log?: (line: string) => void;
  /** The data dir, named in disk-full and read-only answers. */
  dataDir?: string;
  probe?: DiskProbe;
}

/** The one place errors become HTTP answers. */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
    } else if (err && err.type === 'entity.parse.failed') {
      apiError = new ApiError('malformed_json', `The request body is not valid JSON: ${err.message}`);
    } else if (err && err.type === 'entity.too.large') {
      apiError = new ApiError('body_too_large', `The request body is ${err.length} bytes; the limit is ${err.limit} bytes.`);
    } else if (err && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      apiError = new ApiError('invalid_request', String(err.message ?? 'Bad request'));
    } else {
      const storage = options.dataDir ? storageError(err, options.dataDir, options.probe) : null;
      if (storage) {
        // One line, not a stack: the cause is the disk, and the answer says so.
        options.log?.(`${storage.message} (${err && err.message ? err.message : String(err)})`);
        apiError = storage;
      } else {
        options.log?.(`internal error: ${err && err.stack ? err.stack : String(err)}`);
        apiError = new ApiError('internal');
      }
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(apiError.status).json({ error: { code: apiError.code, message: apiError.message } });
  };
}
