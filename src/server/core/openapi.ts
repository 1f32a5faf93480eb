import { z } from 'zod';
import { ErrorResponse } from '../../shared/api';
import { ErrorCodes, type ErrorCode } from './errors';
import { QUERY_TOKEN_PATH } from './security';
import { isRawRoute, type Route } from './route';

/** Requests are documented as the caller writes them (defaults make a field optional), answers as sent. */
function schemaOf(type: z.ZodType, io: 'input' | 'output' = 'output'): unknown {
  return z.toJSONSchema(type, { target: 'openapi-3.0', unrepresentable: 'any', io });
}

/** "/llm/health/:conversationId" → "/llm/health/{conversationId}" */
function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Every route answers these before its handler runs (security.ts). */
const GUARD_ERRORS: ErrorCode[] = ['unauthorized', 'bad_host'];
/** A route with a JSON body can also answer these (app.ts, errors.ts): the body, then the disk it is written to. */
const BODY_ERRORS: ErrorCode[] = ['invalid_request', 'body_too_large', 'unsupported_media_type', 'disk_full', 'read_only', 'storage_failed'];

/** The error codes a route can answer, from what it declares. */
export function routeErrors(route: Route): ErrorCode[] {
  const codes = new Set<ErrorCode>(GUARD_ERRORS);
  if (!isRawRoute(route)) {
    if (route.query || route.params) codes.add('invalid_request');
    if (route.body) BODY_ERRORS.forEach(c => codes.add(c));
  }
  // A path parameter names something that may not exist.
  if (/:[A-Za-z0-9_]+/.test(route.path)) codes.add('not_found');
  for (const c of route.errors ?? []) codes.add(c);
  return [...codes];
}

/** { "401": "...", "403": "..." }: one description per status, naming each code it stands for. */
function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ErrorCodes[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const content = { 'application/json': { schema: schemaOf(ErrorResponse) } };
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [String(status), { description: list.map(c => `${c}: ${ErrorCodes[c].message}`).join(' | '), content }])
  );
}

/** Methods each path answers, as sent in Allow with a 405 (HEAD comes with GET). */
export function allowedMethods(routes: Array<Pick<Route, 'method' | 'path'>>): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const route of routes) {
    const set = byPath.get(route.path) ?? new Set<string>();
    set.add(route.method.toUpperCase());
    if (route.method === 'get') set.add('HEAD');
    byPath.set(route.path, set);
  }
  return new Map([...byPath].map(([path, set]) => [path, [...set].sort()]));
}

/** The OpenAPI 3 document, generated from the same route declarations the app validates with. */
export function buildOpenApi(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openapiPath(route.path);
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: route.tags ?? [],
      // ?token= only where EventSource needs it; a query token anywhere else is refused (401).
      security: route.path === QUERY_TOKEN_PATH && route.method === 'get' ? [{ bearer: [] }, { queryToken: [] }] : [{ bearer: [] }]
    };
    const parameters: unknown[] = [];
    for (const match of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
      parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    const errors = errorResponses(routeErrors(route));
    if (isRawRoute(route)) {
      operation.responses = {
        '200': { description: route.summary, content: { [route.contentType]: { schema: { type: 'string' } } } },
        ...errors
      };
    } else {
      if (route.query) {
        const json = schemaOf(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(json.properties ?? {})) {
          parameters.push({ name, in: 'query', required: (json.required ?? []).includes(name), schema });
        }
      }
      if (route.params) {
        // The params schema is stricter than "a string" (length, pattern): document it.
        const json = schemaOf(route.params, 'input') as { properties?: Record<string, unknown> };
        for (const p of parameters as Array<{ name: string; schema: unknown }>) {
          p.schema = json.properties?.[p.name] ?? p.schema;
        }
      }
      if (route.body) {
        operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } };
      }
      operation.responses = {
        [String(route.status ?? 200)]: { description: 'OK', content: { 'application/json': { schema: schemaOf(route.response) } } },
        ...errors
      };
    }
    if (parameters.length > 0) {
      operation.parameters = parameters;
    }
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Vigilo sidecar',
      version,
      description:
        'Loopback-only REST API of the Vigilo sidecar. Every request carries "Authorization: Bearer <token>" (the token is in <data dir>/sidecar.json); only GET /events also takes ?token=. A method a path does not serve answers 405 with Allow; an unknown path 404; a write on a full or read-only disk 507.'
    },
    servers: [{ url: 'http://127.0.0.1' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        queryToken: { type: 'apiKey', in: 'query', name: 'token' }
      }
    },
    paths
  };
}
