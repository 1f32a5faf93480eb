import type { Request, Response } from 'express';
import type { ZodType } from 'zod';
import type { ErrorCode } from './errors';

/** What a handler receives after validation at the edge. */
export interface ValidatedInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  req: Request;
}

/**
 * One endpoint, declared once: the app validates inputs with these schemas,
 * and /openapi.json is generated from the same declarations.
 */
export interface JsonRoute<B = unknown, Q = unknown, P = unknown> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path, e.g. "/llm/health/:conversationId". */
  path: string;
  summary: string;
  tags?: string[];
  body?: ZodType<B>;
  query?: ZodType<Q>;
  params?: ZodType<P>;
  response: ZodType;
  /** Status on success (default 200). */
  status?: number;
  /**
   * Errors the handler itself may answer, beyond those every route of its
   * kind can (token, Host, validation, body size and type, full disk): they
   * are documented in /openapi.json.
   */
  errors?: ErrorCode[];
  /** Answered without Express (directJson.ts): for a route called once per event, without path parameters or query. */
  direct?: boolean;
  handler(input: ValidatedInput<B, Q, P>): unknown | Promise<unknown>;
}

/** An endpoint that writes its own answer (Server-Sent Events, Prometheus text). */
export interface RawRoute {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tags?: string[];
  contentType: string;
  /** As JsonRoute.errors. */
  errors?: ErrorCode[];
  handler(req: Request, res: Response): void | Promise<void>;
}

export type Route = JsonRoute<any, any, any> | RawRoute;

export function isRawRoute(route: Route): route is RawRoute {
  return 'contentType' in route;
}

/** Helper that keeps the generic types of a JSON route. */
export function jsonRoute<B = unknown, Q = unknown, P = unknown>(route: JsonRoute<B, Q, P>): JsonRoute<B, Q, P> {
  return route;
}
