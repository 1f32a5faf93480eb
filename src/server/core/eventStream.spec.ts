import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from './bus';
import { EventStream, type EventStreamOptions } from './eventStream';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tick = () => new Promise<void>(r => setImmediate(r));

/** A loopback server whose every request becomes an SSE client of `stream`. */
async function serve(options: EventStreamOptions = {}): Promise<{ bus: EventBus; stream: EventStream; url: string }> {
  const bus = new EventBus();
  const stream = new EventStream(bus, options);
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    stream.add(res as unknown as Response, { hello: true }, { seq: -1 });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>(r => {
        stream.closeAll();
        server.closeAllConnections();
        server.close(() => r());
      })
  );
  return { bus, stream, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` };
}

/** Connect and stop reading at once (the socket fills up, as with a frozen browser tab). */
async function connectPaused(url: string): Promise<IncomingMessage> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
  res.pause();
  cleanups.push(() => res.destroy());
  return res;
}

interface SseEvent {
  id: number;
  event: string;
  data: any;
}

/** Read events until `done(events)` holds or the stream ends. */
function readEvents(res: IncomingMessage, done: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  let text = '';
  res.setEncoding('utf8');
  return new Promise(resolve => {
    const finish = () => {
      res.off('data', onData);
      resolve(events);
    };
    const onData = (chunk: string) => {
      text += chunk;
      let end: number;
      while ((end = text.indexOf('\n\n')) !== -1) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter(l => !l.startsWith(':')).map(l => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.event) events.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) });
      }
      if (done(events)) finish();
    };
    res.on('data', onData);
    res.on('end', finish);
    res.on('close', finish);
    res.resume();
  });
}

const held = (stream: EventStream) => Math.max(0, ...stream.stats().map(s => s.bufferedBytes + s.queuedBytes));

describe('GET /events with a client that never reads', () => {
  it('keeps at most the queue bound for it and then drops it, however much is published', async () => {
    const maxQueuedBytes = 256 * 1024;
    const { bus, stream, url } = await serve({ maxQueuedBytes });
    await connectPaused(url);
    while (stream.size === 0) await tick();
    const big = 'x'.repeat(32 * 1024);
    let published = 0;
    let peak = 0;
    // Up to 64 MB of llm events: without a bound all of it would sit in the sidecar's memory.
    for (let i = 0; i < 2000 && stream.size > 0; i++) {
      bus.publish('llm', { i, big });
      published++;
      peak = Math.max(peak, held(stream));
      if (i % 16 === 0) await tick();
    }
    expect(stream.size).toBe(0);
    expect(stream.dropped).toBe(1);
    // One socket high-water mark plus one message over the queue bound, never more.
    expect(peak).toBeLessThan(maxQueuedBytes + 3 * big.length + 64 * 1024);
    expect(published).toBeLessThan(2000);
  });

  it('coalesces snapshots while it does not read, then sends only the latest one', async () => {
    const { bus, stream, url } = await serve();
    const res = await connectPaused(url);
    while (stream.size === 0) await tick();
    const pad = 'y'.repeat(4096);
    let peak = 0;
    const count = 5000;
    for (let seq = 0; seq < count; seq++) {
      bus.publish('snapshot', { seq, pad });
      peak = Math.max(peak, held(stream));
      if (seq % 16 === 0) await tick();
    }
    // 20 MB of snapshots published; the client keeps its connection and the sidecar holds under 100 KB for it.
    expect(stream.size).toBe(1);
    expect(stream.stats()[0]).toMatchObject({ congested: true, snapshotPending: true, queuedBytes: 0 });
    expect(peak).toBeLessThan(100 * 1024);
    const events = await readEvents(res, evs => evs.some(e => e.event === 'snapshot' && e.data.seq === count - 1));
    const snapshots = events.filter(e => e.event === 'snapshot');
    expect(snapshots.at(-1)!.data.seq).toBe(count - 1);
    expect(snapshots.length).toBeLessThan(count / 2);
    // Ids still increase, so the client can tell nothing was reordered.
    expect(events.every((e, i) => i === 0 || e.id > events[i - 1].id)).toBe(true);
  });

  it('drops a client that has not drained for stallMs (clock injected)', async () => {
    let now = 0;
    const { bus, stream, url } = await serve({ stallMs: 1000, keepaliveMs: 10, now: () => now });
    await connectPaused(url);
    while (stream.size === 0) await tick();
    const pad = 'z'.repeat(64 * 1024);
    // Fill until the socket stays full (the kernel's buffers grow for a while on loopback).
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 2000 && !stream.stats()[0]?.congested; i++) {
        bus.publish('snapshot', { i, pad });
        if (i % 16 === 0) await tick();
      }
      await new Promise(r => setTimeout(r, 30));
      if (stream.stats()[0].congested) break;
    }
    expect(stream.stats()[0].congested).toBe(true);
    now = 500;
    await new Promise(r => setTimeout(r, 50));
    expect(stream.size).toBe(1);
    now = 1500;
    for (let i = 0; i < 200 && stream.size > 0; i++) await new Promise(r => setTimeout(r, 10));
    expect(stream.size).toBe(0);
    expect(stream.dropped).toBe(1);
  });
});

describe('GET /events with a client that reads', () => {
  it('receives hello, the snapshot and every event in order', async () => {
    const { bus, stream, url } = await serve();
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
    cleanups.push(() => res.destroy());
    while (stream.size === 0) await tick();
    const reading = readEvents(res, evs => evs.length >= 202);
    for (let i = 0; i < 200; i++) bus.publish('alert', { i });
    const events = await reading;
    expect(events.slice(0, 2).map(e => e.event)).toEqual(['hello', 'snapshot']);
    expect(events.slice(2).map(e => e.data.i)).toEqual([...Array(200).keys()]);
    expect(stream.dropped).toBe(0);
  });
});

describe('LLM calls on GET /events', () => {
  const calls = (i: number) => ({ type: 'calls', accepted: 1, conversations: [`c${i % 3}`], calls: [{ id: `call-${i}` }] });

  it('go out as one event per window, every call counted, instead of one write per tracked call', async () => {
    const { bus, stream, url } = await serve({ coalesceCallsMs: 50 });
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
    cleanups.push(() => res.destroy());
    while (stream.size === 0) await tick();
    for (let i = 0; i < 300; i++) bus.publish('llm', calls(i));
    // An alert after them goes out after them, without waiting for the window.
    bus.publish('alert', { ruleId: 'r' });
    bus.publish('llm', calls(300));
    const events = await readEvents(res, seen => seen.filter(e => e.event === 'llm').length === 2);
    const kinds = events.filter(e => e.event !== 'hello' && e.event !== 'snapshot').map(e => e.event);
    expect(kinds).toEqual(['llm', 'alert', 'llm']);
    const [first, second] = events.filter(e => e.event === 'llm').map(e => e.data);
    expect(first.accepted).toBe(300);
    expect(first.conversations.sort()).toEqual(['c0', 'c1', 'c2']);
    expect(first.calls).toHaveLength(300);
    expect(first.calls[299]).toEqual({ id: 'call-299' });
    expect(second).toEqual(calls(300));
  });

  it('lists at most the newest 500 calls of a window, and counts them all', async () => {
    const { bus, stream, url } = await serve({ coalesceCallsMs: 50 });
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
    cleanups.push(() => res.destroy());
    while (stream.size === 0) await tick();
    for (let i = 0; i < 1200; i++) bus.publish('llm', calls(i));
    const [event] = (await readEvents(res, seen => seen.some(e => e.event === 'llm'))).filter(e => e.event === 'llm');
    expect(event.data.accepted).toBe(1200);
    expect(event.data.calls).toHaveLength(500);
    expect(event.data.calls[0]).toEqual({ id: 'call-700' });
  });
});
