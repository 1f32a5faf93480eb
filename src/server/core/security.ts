import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors';

/** The one route that may carry the token in its query (EventSource). */
export const QUERY_TOKEN_PATH = '/events';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** "127.0.0.1:8123" → "127.0.0.1", "[::1]:80" → "[::1]". */
export function hostName(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? value : value.slice(0, end + 1);
  }
  const colon = value.indexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

export function isLoopbackHost(hostHeader: string | undefined): boolean {
  return !!hostHeader && LOOPBACK_HOSTS.has(hostName(hostHeader));
}

function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * DNS-rebinding guard and token check, before any route runs.
 * - Host must be a loopback name.
 * - A browser Origin is accepted only if it is the sidecar's own loopback
 *   origin; no CORS headers are ever sent, so other pages cannot read answers.
 * - Every request carries the token in "Authorization: Bearer"; only GET /events
 *   (EventSource cannot send headers) may carry it as ?token=. A query token
 *   anywhere else is refused with 401 and the fix, even next to a good header.
 */
export function guard(token: string): RequestHandler {
  return (req, _res, next) => {
    if (!isLoopbackHost(req.headers.host)) {
      next(new ApiError('bad_host', `Host "${req.headers.host ?? ''}" is not a loopback name; the sidecar only answers on 127.0.0.1.`));
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        const url = new URL(origin);
        ok = isLoopbackHost(url.host) && url.host === req.headers.host;
      } catch {
        ok = false;
      }
      if (!ok) {
        next(new ApiError('bad_origin'));
        return;
      }
    }
    const header = req.headers.authorization;
    let given: string | undefined;
    if ('token' in req.query && !(req.method === 'GET' && req.path === QUERY_TOKEN_PATH)) {
      // A token in a URL ends up in logs and histories: only EventSource, which cannot send headers, may.
      next(new ApiError('query_token'));
      return;
    }
    if (header && header.startsWith('Bearer ')) {
      given = header.slice('Bearer '.length).trim();
    } else if (typeof req.query.token === 'string') {
      given = req.query.token;
    }
    if (!given || !tokensEqual(given, token)) {
      next(new ApiError('unauthorized'));
      return;
    }
    next();
  };
}
