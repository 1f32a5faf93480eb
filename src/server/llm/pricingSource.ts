import { constants, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError, type ErrorCode } from '../core/errors';

/**
 * Largest price file accepted. LiteLLM's model_prices_and_context_window.json
 * is 3.5 MB (1.81, 2026); 16 MiB leaves room for years of growth. It is
 * parsed in a worker thread (pricingConfig.ts), not on the event loop.
 */
export const MAX_PRICING_BYTES = 16 * 1024 * 1024;
export const PRICING_TIMEOUT_MS = 15_000;
/** LiteLLM's published price file (used by `vigilo pricing update`). */
export const LITELLM_PRICES_URL = 'https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json';

export interface PricingSourceOptions {
  /** Abort as soon as this many bytes arrived (default MAX_PRICING_BYTES). */
  maxBytes?: number;
  /** Whole read, headers to last byte (default PRICING_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Injected fetch (tests, or a CLI with its own agent); default globalThis.fetch. */
  fetch?: typeof fetch;
}

/**
 * Why a price source was refused, as an API error: the HTTP routes answer it
 * as is and the CLI prints its message.
 */
export class PricingSourceError extends ApiError {
  constructor(code: Extract<ErrorCode, 'bad_source' | 'source_too_large' | 'source_unreachable' | 'source_timeout'>, message: string) {
    super(code, message);
    this.name = 'PricingSourceError';
  }
}

function tooLarge(source: string, maxBytes: number): PricingSourceError {
  return new PricingSourceError('source_too_large', `${source} is larger than ${maxBytes} bytes (the limit); reading stopped there.`);
}

function timedOut(source: string, timeoutMs: number): PricingSourceError {
  return new PricingSourceError('source_timeout', `${source} did not arrive within ${timeoutMs} ms; reading stopped.`);
}

/** Collect chunks until done, refusing the first chunk that crosses `maxBytes`. */
class BoundedText {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  constructor(
    private readonly source: string,
    private readonly maxBytes: number
  ) {}

  push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.maxBytes) {
      throw tooLarge(this.source, this.maxBytes);
    }
    this.chunks.push(chunk);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function kindOf(stat: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

async function readFileSource(path: string, maxBytes: number, deadline: AbortSignal, timeoutMs: number): Promise<string> {
  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it would hold a libuv thread forever).
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new PricingSourceError('bad_source', `Cannot read ${path}: ${why}. Pass a regular JSON file or an http(s) URL.`);
  }
  try {
    // fstat the opened handle, not the path: what we read is what we checked.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new PricingSourceError('bad_source', `${path} is ${kindOf(stat)}; only regular files and http(s) URLs are accepted.`);
    }
    if (stat.size > maxBytes) {
      throw new PricingSourceError('source_too_large', `${path} is ${stat.size} bytes; the limit is ${maxBytes} bytes.`);
    }
    // The file may grow while we read: the cap still holds per chunk.
    const out = new BoundedText(path, maxBytes);
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, 1 << 20));
    for (;;) {
      if (deadline.aborted) {
        throw timedOut(path, timeoutMs);
      }
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        return out.text();
      }
      out.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
  } finally {
    await handle.close();
  }
}

async function readUrlSource(url: string, maxBytes: number, timeoutMs: number, fetchImpl: typeof fetch): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetchImpl(url, { signal: controller.signal, redirect: 'follow', headers: { accept: 'application/json' } });
    } catch (error) {
      if (controller.signal.aborted) throw timedOut(url, timeoutMs);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new PricingSourceError('source_unreachable', `GET ${url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}.`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new PricingSourceError('source_unreachable', `GET ${url} answered HTTP ${response.status}.`);
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new PricingSourceError('source_too_large', `${url} is ${declared} bytes (Content-Length); the limit is ${maxBytes} bytes.`);
    }
    const out = new BoundedText(url, maxBytes);
    if (!response.body) {
      return '';
    }
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          return out.text();
        }
        out.push(value);
      }
    } catch (error) {
      if (error instanceof PricingSourceError) throw error;
      if (controller.signal.aborted) throw timedOut(url, timeoutMs);
      throw new PricingSourceError('source_unreachable', `GET ${url} broke off: ${(error as Error).message}.`);
    } finally {
      // Stop the download at once (cap reached, timeout or error): the socket is released.
      controller.abort();
      reader.releaseLock();
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The text of a price source: a regular file or an http(s) URL, read
 * asynchronously, refused as soon as it passes `maxBytes` or `timeoutMs`.
 * FIFOs, devices (/dev/zero), directories and other URL schemes are refused
 * before anything is read. Every refusal is a PricingSourceError (4xx/5xx code
 * with a message that says why).
 */
export async function readPricingSource(source: string, options: PricingSourceOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_PRICING_BYTES;
  const timeoutMs = options.timeoutMs ?? PRICING_TIMEOUT_MS;
  if (/^https?:\/\//i.test(source)) {
    return readUrlSource(source, maxBytes, timeoutMs, options.fetch ?? fetch);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new PricingSourceError('bad_source', `${source.split(':')[0]}: URLs are not accepted; pass a regular JSON file or an http(s) URL.`);
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  return readFileSource(resolve(source), maxBytes, deadline, timeoutMs);
}
