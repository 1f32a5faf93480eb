import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a fake received: method, path and parsed JSON body. Headers are not kept. */
export interface SeenRequest {
  method: string;
  path: string;
  body: any;
}

/** A failure the next request gets instead of a normal answer. */
export interface FailureScript {
  status: 429 | 500 | 529;
}

export interface FakeServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  /** Answer the next requests with these failures, in order. */
  failNext(...failures: FailureScript[]): void;
  close(): Promise<void>;
}

export type Handler = (req: SeenRequest, res: ServerResponse, failure: FailureScript | null) => void;

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) {
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

/** Start a loopback-only HTTP server on a free port. */
export async function startFake(handler: Handler): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const failures: FailureScript[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then(body => {
        const seen: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body };
        requests.push(seen);
        handler(seen, res, failures.shift() ?? null);
      })
      .catch(error => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext: (...f) => failures.push(...f),
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      })
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Write Server-Sent Events; `event` names are optional (OpenAI chat sends none). */
export function sse(res: ServerResponse, events: Array<{ event?: string; data: unknown }>, trailer?: string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  for (const e of events) {
    res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`);
  }
  if (trailer) {
    res.write(trailer);
  }
  res.end();
}

/** Split a reply into stream pieces of at most `size` characters. */
export function pieces(text: string, size = 6): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) {
    out.push(text.slice(i, i + size));
  }
  return out;
}
