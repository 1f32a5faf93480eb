import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_VERSION, type Alert, type MetricsSnapshot, type StatusResponse } from '../shared/api';
import type { ConversationHealth, LlmCostResponse, LlmUsageResponse } from '../shared/llm-api';

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

  function create(settings = {}, options: Partial<VigiloModel.IOptions> = {}): VigiloModel {
    model = new VigiloModel({
      serverSettings,
      settings,
      autoStart: false,
      now: () => Date.now(),
      ...options,
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

  it('keeps a VRAM series per GPU: fetched once from /gpu/history, appended from snapshots, unchanged GPUs keep their array', async () => {
    const gpuSnapshot = (at: string, a: number, b: number): MetricsSnapshot => ({
      ...snapshot(10),
      takenAt: at,
      gpu: {
        status: 'ok',
        reason: null,
        sampledAt: at,
        devices: [
          { index: 0, uuid: 'GPU-a', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: a, utilizationPercent: 0, temperatureC: 40, powerW: null },
          { index: 1, uuid: 'GPU-b', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: b, utilizationPercent: 0, temperatureC: 40, powerW: null }
        ]
      }
    });
    serve({
      'api/metrics': () => gpuSnapshot('2026-01-01T00:00:02.000Z', 3000, 100),
      'api/status': () => status(),
      'api/gpu/history': () => ({ gpus: [{ uuid: 'GPU-a', samples: [{ t: '2026-01-01T00:00:01.000Z', usedMiB: 2000 }] }] })
    });
    create();
    await model.refresh();
    expect(model.state.gpuHistory['GPU-a'].map(p => p.usedMiB)).toEqual([2000, 3000]);
    const source = FakeEventSource.last!;
    source.emit('snapshot', gpuSnapshot('2026-01-01T00:00:03.000Z', 3500, 100));
    expect(model.state.gpuHistory['GPU-a'].map(p => p.usedMiB)).toEqual([2000, 3000, 3500]);
    const b = model.state.gpuHistory['GPU-b'];
    // The same sample again (a snapshot caused by another section): nothing appended, same arrays.
    const history = model.state.gpuHistory;
    source.emit('snapshot', { ...gpuSnapshot('2026-01-01T00:00:03.000Z', 3500, 100), takenAt: '2026-01-01T00:00:03.500Z' });
    expect(model.state.gpuHistory).toBe(history);
    expect(model.state.gpuHistory['GPU-b']).toBe(b);
  });

  it('dismisses a current alert through POST /alerts/dismiss and drops it at once', async () => {
    const active = { id: 'a1', ruleId: 'gpu.vram', key: 'GPU-a', severity: 'warning', kind: 'threshold', message: 'VRAM 91 %', at: '2026-01-01T00:00:00.000Z', value: 91, threshold: 90, raisedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
    serve({ 'api/metrics': () => ({ ...snapshot(10), alerts: { active: [active] } }), 'api/status': () => status(), 'api/alerts/dismiss': () => ({ alerts: [] }) });
    create();
    await model.refresh();
    expect(model.state.metrics?.alerts?.active).toHaveLength(1);
    await model.dismissAlert('gpu.vram', 'GPU-a');
    expect(requestMock).toHaveBeenCalledWith('api/alerts/dismiss', { method: 'POST', body: JSON.stringify({ ruleId: 'gpu.vram', key: 'GPU-a' }) }, serverSettings);
    expect(model.state.metrics?.alerts?.active).toEqual([]);
  });

  it('pushes sidecar settings to their endpoints and returns each refusal in words', async () => {
    requestMock.mockImplementation(async (path: string) => {
      if (path === 'api/profile') {
        throw new VigiloRequestError(400, 'invalid_request', 'sessionLifetime: "banana" is not a duration such as 12h or 90m.');
      }
      return {} as any;
    });
    create();
    const refusals = await model.applySidecarSettings({ vramWarnPercent: 85, sessionLifetime: 'banana', llmDayBudgetUsd: 5 });
    expect(refusals).toEqual(['Platform overrides: sessionLifetime: "banana" is not a duration such as 12h or 90m.']);
    const calls = requestMock.mock.calls.map(c => [c[0], c[1]?.method, JSON.parse(String(c[1]?.body))]);
    expect(calls).toContainEqual(['api/settings/alerts', 'POST', { rules: { 'gpu.vram': { thresholds: [{ value: 85, severity: 'warning' }, { value: 95, severity: 'critical' }] } } }]);
    expect(calls).toContainEqual(['api/llm/budgets', 'PUT', { dayUsd: 5, sessionUsd: null, conversationUsd: null }]);
  });

  it('sends the runtime-end marks with the defaults\u2019 severities (the two last warning and critical), not all as notes', async () => {
    requestMock.mockImplementation(async () => ({}) as any);
    create();
    expect(await model.applySidecarSettings({ sessionWarnMin: [45, 15, 20, 3] })).toEqual([]);
    const calls = requestMock.mock.calls.map(c => [c[0], c[1]?.method, JSON.parse(String(c[1]?.body))]);
    expect(calls).toEqual([
      [
        'api/settings/alerts',
        'POST',
        {
          rules: {
            'session.remaining': {
              thresholds: [
                { value: 3, severity: 'critical' },
                { value: 15, severity: 'warning' },
                { value: 20, severity: 'info' },
                { value: 45, severity: 'info' }
              ]
            }
          }
        }
      ]
    ]);
  });

  it('pushes the notification rules and quiet hours to the sidecar, never a channel URL', async () => {
    requestMock.mockImplementation(async () => ({}) as any);
    create();
    const notify = { rules: { cell: true, spend: false }, longCellMin: 45, quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' } };
    expect(await model.applySidecarSettings({ notify })).toEqual([]);
    const calls = requestMock.mock.calls.map(c => [c[0], c[1]?.method, JSON.parse(String(c[1]?.body))]);
    expect(calls).toEqual([['api/settings/notify', 'POST', notify]]);
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
  describe('LLM figures', () => {
    const LLM_PATHS = ['api/llm/usage', 'api/llm/cost?days=7', 'api/llm/conversations', 'api/llm/calls?limit=200', 'api/llm/chains'];
    const llmRequests = (): string[] => requestMock.mock.calls.map(c => c[0] as string).filter(p => p.startsWith('api/llm/'));

    function usage(calls: number, costUsd: number | null = 0.000684): LlmUsageResponse {
      return {
        since: '2026-01-01T00:00:00.000Z',
        calls,
        errors: 0,
        tokens: { inputTokens: 1200 * calls, outputTokens: 80 * calls, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
        costUsd,
        unpricedCalls: costUsd === null ? calls : 0,
        estimatedCalls: 0,
        byProvider: [],
        warnings: []
      };
    }

    const cost: LlmCostResponse = {
      days: 7,
      byDay: [],
      byWeek: [],
      byProvider: [],
      byModel: [],
      totalUsd: null,
      unpricedCalls: 0,
      warnings: []
    };

    function conversation(id: string, lastAt: string): ConversationHealth {
      const trend = { slopePerMessage: null, relativeChange: null, pValue: null, rising: false, samples: 1 };
      return {
        conversationId: id,
        provider: 'openai',
        model: 'gpt-4o-mini',
        calls: 1,
        firstAt: lastAt,
        lastAt,
        costUsd: 0.0002,
        context: { usedTokens: 1280, windowTokens: 128000, percent: 1, growthPerMessage: null, messagesLeft: null, text: '1.3K of 128K used' },
        latency: trend,
        costPerMessage: trend,
        errorRate: 0,
        score: 100,
        status: 'healthy',
        reasons: [],
        recommendations: [],
        summaryAvailable: true
      };
    }

    let calls = 0;
    function serveAll(extra: Record<string, () => unknown> = {}): void {
      serve({
        'api/metrics': () => snapshot(10),
        'api/status': () => status(),
        'api/alerts?limit=20': () => ({ alerts: [] }),
        'api/llm/usage': () => usage(calls),
        'api/llm/cost?days=7': () => cost,
        'api/llm/conversations': () => ({
          conversations: [1, 2, 3, 4, 5, 6, 7].map(i => conversation(`c${i}`, `2026-01-01T00:00:0${i}.000Z`))
        }),
        'api/llm/calls?limit=200': () => ({ calls: [] }),
        ...extra
      });
    }

    afterEach(() => {
      vi.useRealTimers();
    });

    it('are fetched only once the panel asks for them, with the five most recent conversations', async () => {
      calls = 3;
      serveAll();
      create();
      await model.refresh();
      expect(llmRequests()).toEqual([]);
      expect(model.state.llm.status).toBe('idle');

      model.wantLlm();
      await vi.waitFor(() => expect(model.state.llm.status).toBe('ready'));
      expect(llmRequests().sort()).toEqual([...LLM_PATHS].sort());
      expect(model.state.llm.usage?.calls).toBe(3);
      expect(model.state.llm.conversations.map(c => c.conversationId)).toEqual(['c7', 'c6', 'c5', 'c4', 'c3']);

      // Asking again costs nothing.
      model.wantLlm();
      expect(llmRequests()).toHaveLength(LLM_PATHS.length);
    });

    it('refresh when the sidecar sends `llm` events, at most one burst of requests per 2 s', async () => {
      calls = 1;
      serveAll();
      create();
      await model.refresh();
      model.wantLlm();
      await vi.waitFor(() => expect(model.state.llm.status).toBe('ready'));
      expect(llmRequests()).toHaveLength(LLM_PATHS.length);

      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const source = FakeEventSource.last!;
      calls = 6;
      for (let i = 0; i < 5; i++) {
        source.emit('llm', { type: 'calls', accepted: 1, conversations: ['c1'], calls: [] });
      }
      await vi.advanceTimersByTimeAsync(1000);
      expect(llmRequests()).toHaveLength(LLM_PATHS.length);
      await vi.advanceTimersByTimeAsync(1100);
      expect(llmRequests()).toHaveLength(2 * LLM_PATHS.length);
      expect(model.state.llm.usage?.calls).toBe(6);

      // Quiet for a while: the next event is fetched at once; one that comes
      // while that fetch is under way gets one trailing fetch 2 s later.
      await vi.advanceTimersByTimeAsync(2500);
      calls = 7;
      source.emit('llm', { type: 'calls', accepted: 1, conversations: ['c1'], calls: [] });
      expect(llmRequests()).toHaveLength(3 * LLM_PATHS.length);
      source.emit('llm', { type: 'calls', accepted: 1, conversations: ['c1'], calls: [] });
      await vi.advanceTimersByTimeAsync(1900);
      expect(llmRequests()).toHaveLength(3 * LLM_PATHS.length);
      expect(model.state.llm.usage?.calls).toBe(7);
      await vi.advanceTimersByTimeAsync(200);
      expect(llmRequests()).toHaveLength(4 * LLM_PATHS.length);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(llmRequests()).toHaveLength(4 * LLM_PATHS.length);
    });

    it('an event during a fetch is served by one trailing fetch', async () => {
      calls = 1;
      let release: () => void = () => undefined;
      const gate = new Promise<void>(r => (release = r));
      serveAll({
        'api/llm/usage': async () => {
          await gate;
          return usage(calls);
        }
      });
      create();
      await model.refresh();
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      model.wantLlm();
      expect(llmRequests()).toHaveLength(LLM_PATHS.length);
      FakeEventSource.last!.emit('llm', { type: 'calls' });
      FakeEventSource.last!.emit('llm', { type: 'calls' });
      release();
      await vi.advanceTimersByTimeAsync(0);
      expect(llmRequests()).toHaveLength(LLM_PATHS.length);
      await vi.advanceTimersByTimeAsync(2000);
      expect(llmRequests()).toHaveLength(2 * LLM_PATHS.length);
    });

    it('say why they are missing when the sidecar has no LLM routes', async () => {
      serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
      create();
      await model.refresh();
      model.wantLlm();
      await vi.waitFor(() => expect(model.state.llm.status).toBe('error'));
      expect(model.state.llm.error).toMatch(/no LLM routes.*pip install -U vigilo/);
    });

    it('are fetched again when a new sidecar answers (its session starts over)', async () => {
      calls = 4;
      serveAll();
      create({}, { llmMinIntervalMs: 0 });
      model.wantLlm();
      expect(llmRequests()).toEqual([]);
      await model.refresh();
      await vi.waitFor(() => expect(model.state.llm.usage?.calls).toBe(4));

      serve({
        'api/metrics': () => {
          throw new VigiloRequestError(503, 'sidecar_not_running', 'gone');
        }
      });
      FakeEventSource.last!.fail();
      await model.refresh();
      expect(model.state.connection).toBe('disconnected');

      calls = 0;
      serveAll();
      await model.refresh();
      await vi.waitFor(() => expect(model.state.llm.usage?.calls).toBe(0));
    });

    it('give the conversation summary through the request seam', async () => {
      serve({ 'api/llm/conversations/a%2Fb/summary': () => ({ conversationId: 'a/b', text: 'state' }) });
      create();
      await expect(model.fetchSummary('a/b')).resolves.toMatchObject({ text: 'state' });
    });
  });

  describe('alerts raised', () => {
    const alert = (id: string, severity: Alert['severity'] = 'warning'): Alert => ({
      id,
      ruleId: 'gpu.vram',
      key: '',
      severity,
      kind: 'threshold',
      message: `VRAM ${id}`,
      at: `2026-01-01T00:00:0${id.length}Z`,
      value: 90,
      threshold: 85
    });

    it('lists the history found on connecting without raising it, and raises each new alert once', async () => {
      serve({
        'api/metrics': () => snapshot(10),
        'api/status': () => status(),
        'api/alerts?limit=20': () => ({ alerts: [alert('old')] })
      });
      create();
      const raised: string[] = [];
      model.alertRaised.connect((_, a) => raised.push(a.id));
      await model.refresh();
      expect(model.state.alerts.map(a => a.id)).toEqual(['old']);

      const source = FakeEventSource.last!;
      source.emit('alert', alert('old'));
      source.emit('alert', alert('new1'));
      source.emit('alert', alert('new1'));
      source.emit('alert', alert('new22', 'critical'));
      expect(raised).toEqual(['new1', 'new22']);
      expect(model.state.alerts.map(a => a.id)).toEqual(['new22', 'new1', 'old']);
    });

    it('still connects when the sidecar has no alert history route', async () => {
      serve({ 'api/metrics': () => snapshot(10), 'api/status': () => status() });
      create();
      await model.refresh();
      expect(model.state.connection).toBe('polling');
      expect(model.state.alerts).toEqual([]);
    });
  });
});
