import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allowedMethods, buildOpenApi } from './openapi';
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
      }),
      { method: 'get', path: '/stream', summary: 'A stream', contentType: 'text/plain', errors: ['conflict'], handler: () => undefined },
      { method: 'get', path: '/events', summary: 'SSE', contentType: 'text/event-stream', handler: () => undefined }
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
    expect(Object.keys(op.responses)[0]).toBe('201');
    expect(doc.info.version).toBe('9.9.9');
  });

  it('documents every error a route can answer: token, Host, validation, size, media type, full disk, not found', () => {
    const post = doc.paths['/things'].post.responses;
    expect(Object.keys(post).sort()).toEqual(['201', '400', '401', '403', '413', '415', '507']);
    expect(post['507'].description).toMatch(/disk_full: .*\| read_only: /);
    expect(post['400'].content['application/json'].schema.properties.error).toBeDefined();
    const get = doc.paths['/things/{thingId}'].get.responses;
    expect(Object.keys(get).sort()).toEqual(['200', '400', '401', '403', '404']);
    const raw = doc.paths['/stream'].get.responses;
    expect(Object.keys(raw).sort()).toEqual(['200', '401', '403', '409']);
  });

  it('offers ?token= only on GET /events', () => {
    expect(doc.paths['/things'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/events'].get.security).toEqual([{ bearer: [] }, { queryToken: [] }]);
  });
});

describe('methods a path does not serve', () => {
  it('are listed per path for the Allow header, HEAD with GET', () => {
    const allowed = allowedMethods([
      { method: 'get', path: '/a' },
      { method: 'put', path: '/a' },
      { method: 'post', path: '/b' }
    ]);
    expect(allowed.get('/a')).toEqual(['GET', 'HEAD', 'PUT']);
    expect(allowed.get('/b')).toEqual(['POST']);
  });
});
