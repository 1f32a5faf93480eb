import { ServerConnection } from '@jupyterlab/services';
import { describe, expect, it, vi } from 'vitest';
import { requestAPI, VigiloRequestError } from './request';

/** Real ServerConnection settings (its default `cache: 'no-store'`) over a recording fetch. */
function recording(status = 200, body = '{}') {
  const fetch = vi.fn(async (_request: Request) => new Response(body, { status }));
  const settings = ServerConnection.makeSettings({ baseUrl: 'http://127.0.0.1:8888/base/', fetch: fetch as any });
  return { fetch, settings, url: () => (fetch.mock.calls[0][0] as Request).url };
}

describe('requestAPI', () => {
  it('sends the path and query as written: no cache-busting timestamp the sidecar would refuse', async () => {
    const r = recording(200, '{"days":7}');
    await expect(requestAPI('api/llm/cost?days=7', {}, r.settings)).resolves.toEqual({ days: 7 });
    expect(r.url()).toBe('http://127.0.0.1:8888/base/vigilo/api/llm/cost?days=7');
  });

  it('adds no query to a strict route such as the conversation summary', async () => {
    const r = recording();
    await requestAPI('api/llm/conversations/c1/summary', {}, r.settings);
    expect(r.url()).toBe('http://127.0.0.1:8888/base/vigilo/api/llm/conversations/c1/summary');
  });

  it("turns the sidecar's error body into a readable error", async () => {
    const r = recording(404, '{"error":{"code":"not_found","message":"Unknown conversation x."}}');
    const error = await requestAPI('api/llm/health/x', {}, r.settings).catch(e => e);
    expect(error).toBeInstanceOf(VigiloRequestError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'Unknown conversation x.' });
  });
});
