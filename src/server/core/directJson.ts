import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { ApiError, describeZodError } from './errors';
import type { JsonRoute } from './route';
import { guard } from './security';

/**
 * The direct lane: JSON routes declared `direct` (the per-call ones, POST
 * /llm/events) are answered without Express. Express's per-request work
 * (request/response set-up, the router walk, body-parser, res.json) cost
 * ~110–230 µs of CPU per request on Node 20 (~70 µs on Node 24), more than
 * the whole ingest of one event (bench/llm-ingest-cpu.mjs).
 *
 * What a request meets is the same as through Express: the same guard (Host,
 * Origin, token), the 415 / 413 / malformed-JSON checks with the same codes
 * and messages, the route's zod schema, and the one error handler. Only
 * plain requests take the lane: the exact path with no query string, no
 * content encoding, UTF-8; anything else (a ?token=, gzip, another method)
 * goes to Express, which answers it as before. app.spec.ts holds the two
 * lanes to the same answers.
 */
export interface DirectLaneOptions {
  token: string;
  /** Largest accepted body (the app's bodyLimit). */
  limitBytes: number;
  /** The app's error handler: errors become the same answers as through Express. */
  onError: ErrorRequestHandler;
}

/** "1mb", "100kb", 1048576 → bytes (1024-based, as body-parser counts). */
export function bodyLimitBytes(limit: string | number | undefined): number {
  if (typeof limit === 'number') {
    return limit;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit ?? '1mb');
  if (!m) {
    throw new Error(`bodyLimit "${limit}" is not a size such as "1mb"`);
  }
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
  return Math.floor(Number(m[1]) * unit);
}

/** The media type and charset of a Content-Type header, lower case. */
function contentType(header: string | undefined): { type: string; charset: string | null } {
  const [type, ...params] = (header ?? '').split(';');
  const charset = params.map(p => p.trim().toLowerCase()).find(p => p.startsWith('charset='));
  return { type: type.trim().toLowerCase(), charset: charset ? charset.slice('charset='.length).replace(/^"|"$/g, '') : null };
}

/** Just enough of Express's response for the shared error handler. */
function errorResponse(res: ServerResponse): Response {
  const shim = {
    get headersSent() {
      return res.headersSent;
    },
    end: () => res.end(),
    status: (code: number) => ({ json: (body: unknown) => send(res, code, body) })
  };
  return shim as unknown as Response;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A request handler for `routes` that returns false, touching nothing, for
 * every request it does not take.
 */
export function directLane(routes: JsonRoute[], options: DirectLaneOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const byKey = new Map<string, JsonRoute>();
  for (const route of routes) {
    if (route.path.includes(':') || route.query) {
      throw new Error(`${route.method.toUpperCase()} ${route.path}: a direct route has neither path parameters nor a query`);
    }
    byKey.set(`${route.method.toUpperCase()} ${route.path}`, route);
  }
  const check = guard(options.token);
  return (req, res) => {
    const route = byKey.size > 0 ? byKey.get(`${req.method} ${req.url}`) : undefined;
    const encoding = req.headers['content-encoding'];
    const { type, charset } = contentType(req.headers['content-type']);
    if (!route || (encoding !== undefined && encoding.toLowerCase() !== 'identity') || (charset !== null && charset !== 'utf-8' && charset !== 'utf8')) {
      return false;
    }
    const fail = (error: unknown) => options.onError(error, req as Request, errorResponse(res), (() => undefined) as NextFunction);
    let refused: unknown = null;
    check({ headers: req.headers, method: req.method, path: req.url, query: {} } as unknown as Request, res as unknown as Response, (error?: unknown) => {
      refused = error ?? null;
    });
    if (refused) {
      fail(refused);
      req.resume();
      return true;
    }
    if (route.body && type !== 'application/json') {
      fail(new ApiError('unsupported_media_type', `Send the body as application/json (got "${req.headers['content-type'] ?? 'nothing'}").`));
      req.resume();
      return true;
    }
    const tooLarge = (length: number) => new ApiError('body_too_large', `The request body is ${length} bytes; the limit is ${options.limitBytes} bytes.`);
    const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    if (declared !== null && declared > options.limitBytes) {
      fail(tooLarge(declared));
      req.resume();
      return true;
    }
    // As body-parser: no Content-Length and no Transfer-Encoding means no body at all.
    const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== null && !Number.isNaN(declared));
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.limitBytes) {
        if (!done) {
          done = true;
          fail(tooLarge(received));
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', error => {
      if (!done) {
        done = true;
        fail(error);
      }
    });
    req.on('end', () => {
      if (done) {
        return;
      }
      done = true;
      void answer(route, hasBody ? Buffer.concat(chunks, received).toString('utf8') : null, req, res).catch(fail);
    });
    return true;
  };
}

async function answer(route: JsonRoute, text: string | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let value: unknown = undefined;
  if (text !== null) {
    try {
      value = text.length === 0 ? {} : JSON.parse(text);
    } catch (error) {
      throw new ApiError('malformed_json', `The request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  let body: unknown = value;
  if (route.body) {
    const parsed = route.body.safeParse(value);
    if (!parsed.success) {
      throw new ApiError('invalid_request', describeZodError(parsed.error, 'body'));
    }
    body = parsed.data;
  }
  const result = await route.handler({ body, query: {}, params: {}, req: req as Request });
  send(res, route.status ?? 200, result);
}
