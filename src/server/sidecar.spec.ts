import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from './core/clock';
import type { SidecarConfig } from './core/context';
import { discoveryPath, readDiscovery } from './core/discovery';
import { Sidecar } from './sidecar';

const TOKEN = 'test-token-0123456789';

function config(dataDir: string): SidecarConfig {
  return { host: '127.0.0.1', port: 0, dataDir, fsRoot: dataDir, intervalMs: 1000, heartbeatIntervalS: 10, version: '0.1.0', env: {} };
}

/** Raw HTTP so tests control the Host header (fetch forbids setting it). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}) {
  return new Promise<{ status: number; body: any; headers: Record<string, any> }>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, res => {
      let text = '';
      res.on('data', c => (text += c));
      res.on('end', () => {
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* keep text */
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) {
      req.write(options.body);
    }
    req.end();
  });
}

describe('sidecar HTTP API', () => {
  let dataDir: string;
  let sidecar: Sidecar;
  let url: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigilo-spec-'));
    sidecar = new Sidecar({ config: config(join(dataDir, 'data')), token: TOKEN, clock: new ManualClock(), modules: () => [], snapshotPushMs: 1 });
    url = (await sidecar.start()).url;
  });

  afterEach(async () => {
    await sidecar.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses every endpoint without the token, and with a wrong one', async () => {
    for (const path of ['/status', '/metrics', '/tasks', '/openapi.json', '/events']) {
      const res = await raw(url + path);
      expect(res.status, path).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const wrong = await raw(url + '/status', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await raw(url + '/status', { headers: auth });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'vigilo', apiVersion: 1, pid: process.pid, platform: { name: 'local' } });
  });

  it('accepts ?token= on GET /events only (EventSource cannot send headers)', async () => {
    const controller = new AbortController();
    const events = await fetch(`${url}/events?token=${TOKEN}`, { signal: controller.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    controller.abort();
    const wrong = await raw(`${url}/events?token=nope`);
    expect(wrong.status).toBe(401);
  });

  it('refuses ?token= on every other route with 401 telling to use the header, even next to a good header', async () => {
    for (const [method, path] of [['GET', '/status'], ['GET', '/metrics'], ['GET', '/openapi.json'], ['GET', '/nope'], ['POST', '/kernels/heartbeat']]) {
      const res = await raw(`${url}${path}?token=${TOKEN}`, { method });
      expect(res.status, path).toBe(401);
      expect(res.body.error.code).toBe('query_token');
      expect(res.body.error.message).toMatch(/Authorization header/);
      const both = await raw(`${url}${path}?token=${TOKEN}`, { method, headers: auth });
      expect(both.status, path).toBe(401);
    }
  });

  it('answers a method a path does not serve (TRACE, DELETE) with 405 and Allow, an unknown path with 404', async () => {
    const trace = await raw(url + '/status', { method: 'TRACE', headers: auth });
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD');
    expect(trace.body.error.code).toBe('method_not_allowed');
    const del = await raw(url + '/kernels/heartbeat', { method: 'DELETE', headers: auth });
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('POST');
    const unknown = await raw(url + '/nope', { method: 'TRACE', headers: auth });
    expect(unknown.status).toBe(404);
  });

  it('rejects a non-loopback Host header (DNS rebinding) even with the right token', async () => {
    const res = await raw(url + '/status', { headers: { ...auth, host: 'attacker.example:80' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('bad_host');
    const okHost = await raw(url + '/status', { headers: { ...auth, host: `localhost:${sidecar.port}` } });
    expect(okHost.status).toBe(200);
  });

  it('refuses cross-origin browser requests and never sends CORS headers', async () => {
    const res = await raw(url + '/metrics', { headers: { ...auth, origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('bad_origin');
    const same = await raw(url + '/metrics', { headers: { ...auth, origin: `http://127.0.0.1:${sidecar.port}` } });
    expect(same.status).toBe(200);
    expect(same.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers malformed JSON, wrong types and oversized bodies with a 4xx that names the problem, and keeps serving', async () => {
    const post = (body: string | Buffer, type = 'application/json') =>
      raw(url + '/kernels/heartbeat', { method: 'POST', headers: { ...auth, 'content-type': type }, body });

    const malformed = await post('{"kernelId": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    expect(malformed.body.error.message).toMatch(/not valid JSON/);

    const wrongTypes = await post(JSON.stringify({ kernelId: 'k1', pid: 'twelve', startedAt: '2026-01-01T00:00:00Z' }));
    expect(wrongTypes.status).toBe(400);
    expect(wrongTypes.body.error.code).toBe('invalid_request');
    expect(wrongTypes.body.error.message).toContain('body.pid');

    const unknownField = await post(JSON.stringify({ kernelId: 'k1', pid: 1, startedAt: '2026-01-01T00:00:00Z', extra: 1 }));
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toContain('extra');

    const notJson = await post('kernelId=k1', 'application/x-www-form-urlencoded');
    expect(notJson.status).toBe(415);

    const huge = await post(Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toMatch(/limit is/);

    const after = await raw(url + '/status', { headers: auth });
    expect(after.status).toBe(200);
  });

  it('registers a kernel through the heartbeat and lists it in /tasks', async () => {
    const beat = await raw(url + '/kernels/heartbeat', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ kernelId: 'abc', pid: 4242, startedAt: '2026-01-01T00:00:00Z', lastActivity: '2026-01-01T00:05:00Z' })
    });
    expect(beat.status).toBe(200);
    expect(beat.body).toEqual({ ok: true, heartbeatIntervalS: 10 });
    const tasks = await raw(url + '/tasks', { headers: auth });
    expect(tasks.body.tasks).toEqual([
      expect.objectContaining({ kind: 'sidecar', pid: process.pid }),
      expect.objectContaining({ kind: 'kernel', kernelId: 'abc', pid: 4242, alive: true, lastActivity: '2026-01-01T00:05:00Z' })
    ]);
  });

  it('answers unknown paths with 404 and a pointer to /openapi.json, generated from the route declarations', async () => {
    const missing = await raw(url + '/nope', { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('/openapi.json');
    const doc = await raw(url + '/openapi.json', { headers: auth });
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/status', '/metrics', '/tasks', '/kernels/heartbeat', '/events']));
    const heartbeatBody = doc.body.paths['/kernels/heartbeat'].post.requestBody.content['application/json'].schema;
    expect(heartbeatBody.required).toEqual(expect.arrayContaining(['kernelId', 'pid', 'startedAt']));
  });

  it('writes the discovery file 0600 in a 0700 data dir, and removes it on stop', async () => {
    const dir = join(dataDir, 'data');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(discoveryPath(dir)).mode & 0o777).toBe(0o600);
    expect(readDiscovery(dir)).toMatchObject({ url, token: TOKEN, pid: process.pid, version: '0.1.0' });
    await sidecar.stop();
    expect(readDiscovery(dir)).toBeNull();
  });

  it('pushes a snapshot on /events at connect and again when a collector writes', async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/events?token=${TOKEN}`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      for (let i = 0; i < 50 && !text.includes(needle); i++) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        text += decoder.decode(value);
      }
    };
    await readUntil('event: snapshot');
    expect(text).toContain('event: hello');
    expect(text).toContain('event: snapshot');
    sidecar.ctx.snapshot.update('system', { marker: 'fresh-figure' });
    await readUntil('fresh-figure');
    expect(text).toContain('fresh-figure');
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });
});
