import { z } from 'zod';
import { ErrorResponse } from '../../shared/api';
import { isRawRoute, type Route } from './route';

/** Requests are documented as the caller writes them (defaults make a field optional), answers as sent. */
function schemaOf(type: z.ZodType, io: 'input' | 'output' = 'output'): unknown {
  return z.toJSONSchema(type, { target: 'openapi-3.0', unrepresentable: 'any', io });
}

/** "/llm/health/:conversationId" → "/llm/health/{conversationId}" */
function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI 3 document, generated from the same route declarations the app validates with. */
export function buildOpenApi(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorContent = { 'application/json': { schema: schemaOf(ErrorResponse) } };
  for (const route of routes) {
    const path = openapiPath(route.path);
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: route.tags ?? [],
      security: [{ bearer: [] }, { queryToken: [] }]
    };
    const parameters: unknown[] = [];
    for (const match of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
      parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    if (isRawRoute(route)) {
      operation.responses = {
        '200': { description: route.summary, content: { [route.contentType]: { schema: { type: 'string' } } } },
        '401': { description: 'Missing or wrong token', content: errorContent }
      };
    } else {
      if (route.query) {
        const json = schemaOf(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(json.properties ?? {})) {
          parameters.push({ name, in: 'query', required: (json.required ?? []).includes(name), schema });
        }
      }
      if (route.body) {
        operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } };
      }
      operation.responses = {
        [String(route.status ?? 200)]: { description: 'OK', content: { 'application/json': { schema: schemaOf(route.response) } } },
        '400': { description: 'Invalid request', content: errorContent },
        '401': { description: 'Missing or wrong token', content: errorContent }
      };
    }
    if (parameters.length > 0) {
      operation.parameters = parameters;
    }
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Vigilo sidecar', version },
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
