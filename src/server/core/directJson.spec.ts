import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from './app';
import { ApiError } from './errors';
import { jsonRoute } from './route';
import { bodyLimitBytes } from './directJson';

const TOKEN = 'direct-token';
const Body = z.object({ events: z.array(z.object({ id: z.string(), n: z.number() }).strict()).max(3) }).strict();
const handled: string[] = [];

/** The same route, once through Express and once direct; the answers must not tell them apart. */
function app(direct: boolean) {
  const route = jsonRoute({
    method: 'post',
    path: '/llm/events',
    summary: 'test ingest',
    body: Body,
    response: z.object({ accepted: z.number() }),
    direct,
    handler: async ({ body, req }) => {
      // Express gives its requests `app`; the direct lane hands over Node's own.
      handled.push('app' in req ? 'express' : 'direct');
      if (body.events.some(e => e.id === 'refuse')) {
        throw new ApiError('conflict', 'refused on purpose');
      }
      if (body.events.some(e => e.id === 'crash')) {
        throw new Error('boom');
      }
      return { accepted: body.events.length };
    }
  });
  return createApp({ token: TOKEN, version: 'test', modules: [{ name: 'test', routes: [route] }], bodyLimit: '64kb' });
}

const servers: http.Server[] = [];
const ports: Record<'express' | 'direct', number> = { express: 0, direct: 0 };
beforeAll(async () => {
  for (const lane of ['express', 'direct'] as const) {
    const server = http.createServer(app(lane === 'direct'));
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    ports[lane] = (server.address() as AddressInfo).port;
  }
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise(r => s.close(r));
  }
});

interface Ask {
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  chunked?: boolean;
}

function ask(port: number, { path = '/llm/events', headers = {}, body, chunked }: Ask): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string> = { host: `127.0.0.1:${port}`, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers };
    if (body !== undefined && !chunked) all['content-length'] = String(Buffer.byteLength(body));
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: all, agent: false }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (chunked && body !== undefined) {
      req.write(body.slice(0, 5));
      req.end(body.slice(5));
    } else {
      req.end(body);
    }
  });
}

const good = JSON.stringify({ events: [{ id: 'a', n: 1 }, { id: 'b', n: 2 }] });
const cases: Array<[string, Ask]> = [
  ['a valid batch', { body: good }],
  ['a valid batch sent in chunks', { body: good, chunked: true }],
  ['a charset parameter', { body: good, headers: { 'content-type': 'application/json; charset=utf-8' } }],
  ['malformed JSON', { body: '{"events": ' }],
  ['a wrong type', { body: JSON.stringify({ events: [{ id: 'a', n: 'one' }] }) }],
  ['an unknown field', { body: JSON.stringify({ events: [], extra: 1 }) }],
  ['too many events', { body: JSON.stringify({ events: [1, 2, 3, 4].map(n => ({ id: `e${n}`, n })) }) }],
  ['an empty body', { body: '' }],
  ['no body at all', {}],
  ['a form body', { body: 'events=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
  ['no content type', { body: good, headers: { 'content-type': '' } }],
  ['a body over the limit', { body: Buffer.alloc(100 * 1024, 0x20) }],
  ['a foreign Host', { body: good, headers: { host: 'attacker.example' } }],
  ['a foreign Origin', { body: good, headers: { origin: 'https://evil.example' } }],
  ['no token', { body: good, headers: { authorization: '' } }],
  ['a wrong token', { body: good, headers: { authorization: 'Bearer nope' } }],
  ['a token in the query', { path: `/llm/events?token=${TOKEN}`, body: good }],
  ['an ApiError from the handler', { body: JSON.stringify({ events: [{ id: 'refuse', n: 1 }] }) }],
  ['a crash in the handler', { body: JSON.stringify({ events: [{ id: 'crash', n: 1 }] }) }]
];

describe('the direct lane (POST routes declared direct: true)', () => {
  it.each(cases)('answers %s exactly as Express does', async (_name, request) => {
    const viaExpress = await ask(ports.express, request);
    const direct = await ask(ports.direct, request);
    expect(direct).toEqual(viaExpress);
  });

  it('refuses a chunked body over the limit with the same code, naming the bytes it got (Express says "undefined bytes")', async () => {
    const request = { body: Buffer.alloc(100 * 1024, 0x20), chunked: true };
    const [viaExpress, direct] = [await ask(ports.express, request), await ask(ports.direct, request)];
    expect(direct.status).toBe(413);
    expect(viaExpress.status).toBe(413);
    expect(JSON.parse(direct.body).error.code).toBe(JSON.parse(viaExpress.body).error.code);
    expect(JSON.parse(direct.body).error.message).toMatch(/is \d+ bytes; the limit is 65536 bytes/);
  });

  it('takes the requests it is for, and leaves the rest to Express', async () => {
    handled.length = 0;
    await ask(ports.direct, { body: good });
    await ask(ports.direct, { body: good, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(handled).toEqual(['direct', 'direct']);
    // A query string goes through Express (and its guard refuses the token there).
    const query = await ask(ports.direct, { path: '/llm/events?x=1', body: good });
    expect(query.status).toBe(200);
    expect(handled).toEqual(['direct', 'direct', 'express']);
  });

  it('reads body limits as body-parser does', () => {
    expect(bodyLimitBytes('1mb')).toBe(1024 * 1024);
    expect(bodyLimitBytes('64kb')).toBe(65536);
    expect(bodyLimitBytes(1000)).toBe(1000);
    expect(() => bodyLimitBytes('lots')).toThrow(/not a size/);
  });
});
