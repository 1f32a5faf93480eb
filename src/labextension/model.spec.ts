import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_VERSION, type MetricsSnapshot, type StatusResponse } from '../shared/api';

// The one request seam is mocked; everything else is the real model.
vi.mock('./request', async importOriginal => {
  const actual = await importOriginal<typeof import('./request')>();
  return { ...actual, requestAPI: vi.fn() };
});

import { VigiloModel } from './model';
import { requestAPI, VigiloRequestError } from './request';
import type { IVigiloState } from './tokens';

const requestMock = vi.mocked(requestAPI);
const serverSettings = { baseUrl: 'http://127.0.0.1:8888/base/', token: '', appendToken: false } as any;

function snapshot(cpuPercent: number, pid = 42): MetricsSnapshot {
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    sidecar: { pid, uptimeS: 10, rssBytes: 1, version: '0.1.0' },
    system: {
      cpuPercent,
      cores: 4,
      load: [0, 0, 0],
      memory: { totalBytes: 8, usedBytes: 4, availableBytes: 4 },
      disks: [],
      sampledAt: '2026-01-01T00:00:00.000Z'
    }
  };
}

function status(apiVersion = API_VERSION, pid = 42): StatusResponse {
  return {
    name: 'vigilo',
    apiVersion,
    version: '0.1.0',
    pid,
    startedAt: '2026-01-01T00:00:00.000Z',
    uptimeS: 10,
    platform: { name: 'local', evidence: ['test'] }
  };
}

/** A controllable EventSource. */
class FakeEventSource {
  static last: FakeEventSource | null = null;
  listeners = new Map<string, Array<(e: MessageEvent) => void>>();
  onerror: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(name: string, fn: (e: MessageEvent) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }
  emit(name: string, data: unknown): void {
    for (const fn of this.listeners.get(name) ?? []) {
      fn({ data: JSON.stringify(data) } as MessageEvent);
    }
  }
  fail(): void {
    this.onerror?.();
  }
  close(): void {
    this.closed = true;
  }
}

/** Answer requestAPI by path. */
function serve(routes: Record<string, () => unknown>): void {
  requestMock.mockImplementation(async (path: string) => {
    const route = routes[path];
    if (!route) {
      throw new VigiloRequestError(404, 'not_found', `no ${path}`);
    }
    return route() as any;
  });
}

describe('VigiloModel', () => {
  let model: VigiloModel;
  let states: IVigiloState[];

  beforeEach(() => {
    FakeEventSource.last = null;
    requestMock.mockReset();
    states = [];
  });

  afterEach(() => model?.dispose());

  function create(settings = {}): VigiloModel {
    model = new VigiloModel({
      serverSettings,
      settings,
      autoStart: false,
      eventSourceFactory: url => new FakeEventSource(url) as unknown as EventSource
    });
    model.changed.connect((_, state) => states.push(state));
    return model;
  }

  it('shows the first figures from /metrics, then goes live on the event stream through the Jupyter server', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    create();
    await model.refresh();
    expect(model.state.connection).toBe('polling');
    expect(model.state.metrics?.system?.cpuPercent).toBe(10);
    expect(model.state.status?.platform.name).toBe('local');
    const source = FakeEventSource.last!;
    expect(source.url).toBe('http://127.0.0.1:8888/base/vigilo/api/events');

    source.emit('hello', { apiVersion: API_VERSION, version: '0.1.0', pid: 42 });
    source.emit('snapshot', snapshot(20));
    expect(model.state.connection).toBe('live');
    expect(model.state.metrics?.system?.cpuPercent).toBe(20);
  });

  it('emits `changed` only when the data really changed', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    create();
    await model.refresh();
    const source = FakeEventSource.last!;
    source.emit('snapshot', snapshot(20));
    const count = states.length;
    source.emit('snapshot', snapshot(20));
    source.emit('snapshot', snapshot(20));
    expect(states.length).toBe(count);
    source.emit('snapshot', snapshot(21));
    expect(states.length).toBe(count + 1);
  });

  it('falls back to polling /metrics when the stream cannot be opened, and says so', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    create();
    await model.refresh();
    FakeEventSource.last!.fail();
    expect(FakeEventSource.last!.closed).toBe(true);
    await model.refresh();
    expect(model.state.connection).toBe('polling');
    expect(model.state.reason).toMatch(/event stream could not be opened/);
    // No new stream right away: polling carries on.
    const opened = FakeEventSource.last;
    await model.refresh();
    expect(FakeEventSource.last).toBe(opened);
  });

  it('polls only when the transport setting says so, and applies the change live', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    create({ transport: 'poll' });
    await model.refresh();
    expect(FakeEventSource.last).toBeNull();
    expect(model.state.reason).toMatch(/"poll"/);
    model.configure({ transport: 'auto' });
    await model.refresh();
    expect(FakeEventSource.last).not.toBeNull();
  });

  it('says "not running" when no sidecar ever answered, and "disconnected" when a live one goes away', async () => {
    serve({
      'api/metrics': () => {
        throw new VigiloRequestError(503, 'sidecar_not_running', 'No Vigilo sidecar is running.');
      }
    });
    create();
    await model.refresh();
    expect(model.state.connection).toBe('not-running');
    expect(model.state.reason).toContain('No Vigilo sidecar is running.');
    expect(model.state.metrics).toBeNull();

    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    await model.refresh();
    expect(model.state.connection).toBe('polling');

    serve({
      'api/metrics': () => {
        throw new VigiloRequestError(503, 'sidecar_not_running', 'The Vigilo sidecar (pid 42) is gone.');
      }
    });
    FakeEventSource.last!.fail();
    await model.refresh();
    expect(model.state.connection).toBe('disconnected');
    expect(model.state.reason).toMatch(/Retrying by itself/);
    // The last figures stay on screen (dimmed by the view) while disconnected.
    expect(model.state.metrics).not.toBeNull();

    serve({ 'api/metrics': () => snapshot(30, 43), 'api/status': () => status(API_VERSION, 43) });
    await model.refresh();
    expect(model.state.connection).toBe('polling');
    expect(model.state.status?.pid).toBe(43);
  });

  it('flags a sidecar that speaks another API version', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status(API_VERSION + 1) });
    create();
    await model.refresh();
    expect(model.state.apiMismatch).toEqual({ frontend: API_VERSION, sidecar: API_VERSION + 1 });
  });

  it('starts the sidecar through POST /vigilo/start, then connects', async () => {
    let started = false;
    requestMock.mockImplementation(async (path: string, init?: RequestInit) => {
      if (path === 'start') {
        expect(init?.method).toBe('POST');
        started = true;
        return { ok: true } as any;
      }
      if (!started) {
        throw new VigiloRequestError(503, 'sidecar_not_running', 'not running');
      }
      return (path === 'api/status' ? status() : snapshot(5)) as any;
    });
    create();
    await model.refresh();
    expect(model.state.connection).toBe('not-running');
    await model.startSidecar();
    expect(model.state.connection).toBe('polling');
    expect(model.state.metrics?.system?.cores).toBe(4);
  });

  it('reports a failed start as a reason the user can read', async () => {
    requestMock.mockImplementation(async (path: string) => {
      throw path === 'start'
        ? new VigiloRequestError(503, 'node_not_found', "Vigilo's sidecar needs Node.js 18+ on PATH.")
        : new VigiloRequestError(503, 'sidecar_not_running', 'not running');
    });
    create();
    await model.refresh();
    await expect(model.startSidecar()).rejects.toThrow(/Node.js 18/);
    expect(model.state.connection).toBe('not-running');
    expect(model.state.reason).toMatch(/Node.js 18/);
  });

  it('keeps the most recent alerts from the event stream', async () => {
    serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
    create();
    await model.refresh();
    const alert = (id: string) => ({
      id,
      ruleId: 'gpu.vram',
      key: '',
      severity: 'warning',
      kind: 'threshold',
      message: `VRAM ${id}`,
      at: '2026-01-01T00:00:00Z',
      value: 90,
      threshold: 85
    });
    FakeEventSource.last!.emit('alert', alert('a'));
    FakeEventSource.last!.emit('alert', alert('b'));
    expect(model.state.alerts.map(a => a.id)).toEqual(['b', 'a']);
  });
});
