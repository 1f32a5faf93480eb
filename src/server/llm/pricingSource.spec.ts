import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/sidecarProcess';
import { PricingSourceError, readPricingSource } from './pricingSource';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigilo-pricing-src-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Loopback {
  url: string;
  /** Bytes the server managed to write before the client went away. */
  sent(): number;
  /** Resolves when the client closed the connection. */
  closed: Promise<void>;
}

async function loopback(handler: (res: ServerResponse, count: (n: number) => void) => void): Promise<Loopback> {
  let sent = 0;
  let closedResolve!: () => void;
  const closed = new Promise<void>(r => (closedResolve = r));
  const server: Server = createServer((req, res) => {
    res.on('close', () => closedResolve());
    handler(res, n => (sent += n));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>(r => {
        server.closeAllConnections();
        server.close(() => r());
      })
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prices.json`, sent: () => sent, closed };
}

/** Streams 64 KiB chunks forever, as fast as the client reads them. */
function endless(res: ServerResponse, count: (n: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  res.writeHead(200, { 'content-type': 'application/json' });
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk)) count(chunk.length);
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

async function refusal(p: Promise<unknown>): Promise<PricingSourceError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(PricingSourceError);
    return error as PricingSourceError;
  }
  throw new Error('expected a refusal');
}

describe('readPricingSource: files', () => {
  it('reads a regular JSON file', async () => {
    const file = join(tempDir(), 'prices.json');
    writeFileSync(file, '{"gpt-x": {}}');
    expect(await readPricingSource(file)).toBe('{"gpt-x": {}}');
  });

  it('refuses /dev/zero at once, before reading a byte, with 400 naming a character device', async () => {
    const error = await refusal(readPricingSource('/dev/zero'));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/character device/);
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(tempDir(), 'prices.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const error = await refusal(readPricingSource(fifo, { timeoutMs: 5000 }));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/FIFO/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a directory and a missing file, saying which', async () => {
    const dir = tempDir();
    expect((await refusal(readPricingSource(dir))).message).toMatch(/directory/);
    expect((await refusal(readPricingSource(join(dir, 'nope.json')))).message).toMatch(/no such file/);
  });

  it('refuses a regular file over the cap with 413', async () => {
    const file = join(tempDir(), 'big.json');
    writeFileSync(file, Buffer.alloc(4096, 0x20));
    const error = await refusal(readPricingSource(file, { maxBytes: 1024 }));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/4096 bytes; the limit is 1024/);
  });

  it('refuses other URL schemes', async () => {
    const error = await refusal(readPricingSource('ftp://127.0.0.1/prices.json'));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/ftp: URLs are not accepted/);
  });
});

describe('readPricingSource: http(s)', () => {
  it('stops an endless download at the cap while it streams, and hangs up', async () => {
    const server = await loopback(endless);
    const error = await refusal(readPricingSource(server.url, { maxBytes: 1024 * 1024, timeoutMs: 10_000 }));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/larger than 1048576 bytes/);
    await server.closed;
    // Socket buffers hold a few MB at most; an unbounded read would have taken everything.
    expect(server.sent()).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const server = await loopback(res => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
    });
    const error = await refusal(readPricingSource(server.url, { maxBytes: 1024 * 1024 }));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/Content-Length/);
    await server.closed;
  });

  it('gives up on a server that trickles slower than the timeout, with 504', async () => {
    const server = await loopback(res => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      // ...and never another byte.
    });
    const started = Date.now();
    const error = await refusal(readPricingSource(server.url, { timeoutMs: 300 }));
    expect(error.status).toBe(504);
    expect(error.message).toMatch(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(3000);
    await server.closed;
  });

  it('gives up on a server that never answers the headers', async () => {
    const server = await loopback(() => undefined);
    const error = await refusal(readPricingSource(server.url, { timeoutMs: 200 }));
    expect(error.status).toBe(504);
  });

  it('reports an HTTP error status as 502 with the upstream code', async () => {
    const server = await loopback(res => {
      res.writeHead(404);
      res.end('no');
    });
    const error = await refusal(readPricingSource(server.url));
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/HTTP 404/);
  });

  it('reads a normal answer whole, through an injected fetch too', async () => {
    const server = await loopback(res => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    expect(await readPricingSource(server.url)).toBe('{"ok":true}');
    let calls = 0;
    const counted: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    expect(await readPricingSource(server.url, { fetch: counted })).toBe('{"ok":true}');
    expect(calls).toBe(1);
  });
});

describe('POST /llm/pricing/import in a real sidecar process (bundle, parsed in a worker thread)', () => {
  it('imports LiteLLM\'s own price file and refuses /dev/zero and a FIFO with 400, still serving', async () => {
    const dir = tempDir();
    const file = join(dir, 'model_prices_and_context_window.json');
    writeFileSync(file, gunzipSync(readFileSync(join(__dirname, '../../../test/fixtures/pricing/litellm-1.110.2-model_prices.json.gz'))));
    const fifo = join(dir, 'prices.fifo');
    execFileSync('mkfifo', [fifo]);
    const cli = await runCli(['serve', '--port', '0', '--json', '--data-dir', join(dir, 'data')], { VIGILO_TOKEN: 'pricing-token' });
    cleanups.push(async () => {
      cli.child.kill('SIGTERM');
      await cli.exited;
    });
    const post = async (from: string) => {
      const r = await fetch(`${cli.announce.url}/llm/pricing/import`, {
        method: 'POST',
        headers: { authorization: 'Bearer pricing-token', 'content-type': 'application/json' },
        body: JSON.stringify({ from })
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const zero = await post('/dev/zero');
    expect(zero.status).toBe(400);
    expect(zero.body.error.message).toMatch(/character device/);
    expect((await post(fifo)).status).toBe(400);
    const ok = await post(file);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.imported.models).toBeGreaterThan(100);
    expect(ok.body.models['gpt-4o']).toMatchObject({ input: expect.any(Number), output: expect.any(Number) });
    expect(cli.stderr()).not.toMatch(/internal error/);
  });
});
