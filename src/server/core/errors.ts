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

/** "body.pid: Expected number, received string; body.kernelId: Required" */
export function describeZodError(error: ZodError, where: string): string {
  return error.issues
    .slice(0, 10)
    .map(issue => {
      const path = [where, ...issue.path.map(String)].join('.');
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

export interface ErrorHandlerOptions {
  log?: (line: string) => void;
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
      options.log?.(`internal error: ${err && err.stack ? err.stack : String(err)}`);
      apiError = new ApiError('internal');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(apiError.status).json({ error: { code: apiError.code, message: apiError.message } });
  };
}
