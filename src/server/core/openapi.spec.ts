import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApi } from './openapi';
import { jsonRoute } from './route';

describe('OpenAPI document generated from the route declarations', () => {
  const doc = buildOpenApi(
    [
      jsonRoute({
        method: 'get',
        path: '/things/:thingId',
        summary: 'One thing',
        query: z.object({ days: z.coerce.number().int().default(7), kind: z.enum(['a', 'b']) }),
        response: z.object({ id: z.string() }),
        handler: () => ({ id: 'x' })
      }),
      jsonRoute({
        method: 'post',
        path: '/things',
        summary: 'Make a thing',
        body: z.object({ name: z.string(), size: z.number().default(1) }),
        response: z.object({ ok: z.boolean() }),
        status: 201,
        handler: () => ({ ok: true })
      })
    ],
    '9.9.9'
  ) as any;

  it('turns express path parameters into OpenAPI ones', () => {
    const op = doc.paths['/things/{thingId}'].get;
    expect(op.parameters).toContainEqual({ name: 'thingId', in: 'path', required: true, schema: { type: 'string' } });
  });

  it('documents a query parameter with a default as optional, and one without as required', () => {
    const params = doc.paths['/things/{thingId}'].get.parameters;
    expect(params.find((p: any) => p.name === 'days').required).toBe(false);
    expect(params.find((p: any) => p.name === 'kind').required).toBe(true);
  });

  it('documents bodies as the caller writes them and the success status as declared', () => {
    const op = doc.paths['/things'].post;
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['name']);
    expect(Object.keys(op.responses)).toEqual(['201', '400', '401']);
    expect(doc.info.version).toBe('9.9.9');
  });
});
