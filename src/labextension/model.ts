import { ServerConnection } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { Signal, type ISignal } from '@lumino/signaling';
import { API_VERSION, type ActiveAlert, type Alert, type GpuHistoryResponse, type MetricsSnapshot, type StatusResponse } from '../shared/api';
import { levelValue, sessionLevelsFromMarks, VRAM_WARN_LEVELS } from '../shared/alertLevels';
import type { CheckpointEvent, CheckpointRequestResponse, CheckpointsResponse } from '../shared/checkpoint-api';
import type {
  ConversationHealth,
  LlmCallView,
  LlmCostResponse,
  LlmSummaryResponse,
  LlmUsageResponse,
  PricingUpdateResponse
} from '../shared/llm-api';
import type { ChainLink, FreshStartResponse } from '../shared/transfer-api';
import { countRender } from './renderStats';
import { requestAPI, vigiloUrl, VigiloRequestError } from './request';
import {
  DEFAULT_SETTINGS,
  EMPTY_LLM_STATE,
  type ConnectionState,
  type ILlmState,
  type IVigiloModel,
  type ICheckpointState,
  type ISidecarSettings,
  type IVigiloSettings,
  type IVigiloState,
  type IVramPoint
} from './tokens';

const MAX_ALERTS = 20;
/** Alert ids remembered for de-duplication (oldest forgotten first). */
const MAX_SEEN_ALERTS = 1000;
/** Conversations kept for the panel's health cards, newest first. */
export const MAX_CONVERSATIONS = 5;
/** At most one burst of LLM requests (usage, cost, conversations) per this many ms. */
const LLM_MIN_INTERVAL_MS = 2000;
/** Without the event stream (polling), LLM figures are refreshed at most this often. */
const LLM_POLL_INTERVAL_MS = 30_000;
/** Days of history asked of /llm/cost: enough for today and the current ISO week. */
const LLM_COST_DAYS = 7;
/** VRAM samples kept per GPU for the chart (an hour at 1 Hz). */
export const MAX_VRAM_POINTS = 3600;
/** Recent calls fetched for the latency sparklines. */
const LLM_CALLS_LIMIT = 200;
/** After the SSE stream failed while /metrics still answered, poll this long before trying SSE again. */
const SSE_RETRY_AFTER_MS = 5 * 60_000;

/** The `hello` event the sidecar sends first on /events. */
interface IHello {
  apiVersion: number;
  version: string;
  pid: number;
}

/**
 * Owns the connection to the sidecar, through the Jupyter server extension.
 *
 * Prefers the Server-Sent Events stream (`<base_url>vigilo/api/events`, same
 * origin, so Jupyter's cookie authenticates it). One `Poll` drives everything
 * else: while SSE is live a tick only checks that the stream is not stale;
 * otherwise a tick fetches /metrics (the fallback transport, and the health
 * check that tells "not running" from "disconnected"), with backoff while the
 * sidecar is down and standby while the page is hidden.
 */
export class VigiloModel implements IVigiloModel {
  constructor(options: VigiloModel.IOptions = {}) {
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    this._canStream = options.eventSourceFactory !== undefined || typeof EventSource !== 'undefined';
    this._eventSourceFactory = options.eventSourceFactory ?? (url => new EventSource(url));
    this._now = options.now ?? Date.now;
    this._llmMinIntervalMs = options.llmMinIntervalMs ?? LLM_MIN_INTERVAL_MS;
    this._settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this._poll = new Poll<void, unknown, 'standby'>({
      auto: options.autoStart ?? true,
      factory: () => this._tick(),
      frequency: this._frequency(),
      name: 'vigilo:model',
      standby: 'when-hidden'
    });
  }

  get state(): IVigiloState {
    return this._state;
  }

  get changed(): ISignal<IVigiloModel, IVigiloState> {
    return this._changed;
  }

  get settings(): IVigiloSettings {
    return { ...this._settings };
  }

  get settingsChanged(): ISignal<IVigiloModel, IVigiloSettings> {
    return this._settingsChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get alertRaised(): ISignal<IVigiloModel, Alert> {
    return this._alertRaised;
  }

  wantLlm(): void {
    if (this._llmWanted) {
      return;
    }
    this._llmWanted = true;
    // Not connected yet: the tick that connects fetches them.
    if (this._state.connection === 'live' || this._state.connection === 'polling') {
      this._scheduleLlm();
    }
  }

  fetchSummary(conversationId: string): Promise<LlmSummaryResponse> {
    return requestAPI<LlmSummaryResponse>(
      `api/llm/conversations/${encodeURIComponent(conversationId)}/summary`,
      {},
      this._serverSettings
    );
  }

  freshStart(conversationId: string): Promise<FreshStartResponse> {
    return requestAPI<FreshStartResponse>(`api/llm/conversations/${encodeURIComponent(conversationId)}/fresh-start`, { method: 'POST', body: '{}' }, this._serverSettings);
  }

  async dismissAlert(ruleId: string, key: string): Promise<void> {
    const { alerts } = await requestAPI<{ alerts: ActiveAlert[] }>(
      'api/alerts/dismiss',
      { method: 'POST', body: JSON.stringify({ ruleId, key }) },
      this._serverSettings
    );
    // Show it gone now rather than at the next snapshot.
    if (this._state.metrics) {
      this._update({ metrics: { ...this._state.metrics, alerts: { active: alerts } } });
    }
  }

  async updatePrices(): Promise<PricingUpdateResponse> {
    const answer = await requestAPI<PricingUpdateResponse>('api/llm/pricing/update', { method: 'POST', body: '{}' }, this._serverSettings);
    this._scheduleLlm();
    return answer;
  }

  async checkpointNow(): Promise<CheckpointRequestResponse> {
    const answer = await requestAPI<CheckpointRequestResponse>('api/checkpoints', { method: 'POST', body: '{}' }, this._serverSettings);
    void this._fetchCheckpoints();
    return answer;
  }

  async setCheckpointAuto(auto: boolean): Promise<void> {
    await requestAPI<unknown>('api/checkpoints/settings', { method: 'PUT', body: JSON.stringify({ auto }) }, this._serverSettings);
    await this._fetchCheckpoints();
  }

  async applySidecarSettings(settings: ISidecarSettings): Promise<string[]> {
    const refusals: string[] = [];
    const attempt = async (what: string, path: string, method: string, body: unknown): Promise<void> => {
      try {
        await requestAPI<unknown>(path, { method, body: JSON.stringify(body) }, this._serverSettings);
      } catch (error) {
        refusals.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    const rules: Record<string, unknown> = {};
    if (settings.vramWarnPercent !== undefined || settings.vramCriticalPercent !== undefined) {
      rules['gpu.vram'] = {
        thresholds: [
          { value: settings.vramWarnPercent ?? levelValue(VRAM_WARN_LEVELS, 'warning')!, severity: 'warning' },
          { value: settings.vramCriticalPercent ?? levelValue(VRAM_WARN_LEVELS, 'critical')!, severity: 'critical' }
        ]
      };
    }
    if (settings.oomLeadMin !== undefined) {
      const lead = settings.oomLeadMin * 60;
      rules['gpu.oom'] = { thresholds: [{ value: lead, severity: 'warning' }, { value: Math.min(120, lead / 2), severity: 'critical' }] };
    }
    if (settings.sessionWarnMin !== undefined && settings.sessionWarnMin.length > 0) {
      // Plain numbers would all take the rule's 'info': keep the defaults' shape (the smallest critical, the next warning).
      rules['session.remaining'] = { thresholds: sessionLevelsFromMarks(settings.sessionWarnMin) };
    }
    if (Object.keys(rules).length > 0) {
      await attempt('Alert thresholds', 'api/settings/alerts', 'POST', { rules });
    }
    const overrides: Record<string, string | null> = {};
    const override = (name: string, value: string | undefined): void => {
      if (value !== undefined) {
        overrides[name] = value.trim() === '' ? null : value.trim();
      }
    };
    override('sessionLifetime', settings.sessionLifetime);
    override('idleCutoff', settings.idleCutoff);
    override('weeklyGpuQuota', settings.kaggleWeeklyQuota);
    if (Object.keys(overrides).length > 0) {
      await attempt('Platform overrides', 'api/profile', 'POST', { overrides });
    }
    if (
      settings.llmDayBudgetUsd !== undefined ||
      settings.llmSessionBudgetUsd !== undefined ||
      settings.llmConversationBudgetUsd !== undefined
    ) {
      const usd = (v: number | undefined): number | null => (v && v > 0 ? v : null);
      await attempt('LLM budgets', 'api/llm/budgets', 'PUT', {
        dayUsd: usd(settings.llmDayBudgetUsd),
        sessionUsd: usd(settings.llmSessionBudgetUsd),
        conversationUsd: usd(settings.llmConversationBudgetUsd)
      });
    }
    if (settings.notify && Object.keys(settings.notify).length > 0) {
      await attempt('Notifications', 'api/settings/notify', 'POST', settings.notify);
    }
    return refusals;
  }

  configure(settings: Partial<IVigiloSettings>): void {
    const before = this._settings;
    this._settings = { ...before, ...settings };
    if (JSON.stringify(before) === JSON.stringify(this._settings)) {
      return;
    }
    this._poll.frequency = this._frequency();
    this._settingsChanged.emit(this.settings);
    if (this._settings.transport !== before.transport) {
      this._sseRetryAt = 0;
      if (this._settings.transport === 'poll') {
        this._closeSource();
      }
      void this._poll.refresh();
    }
  }

  async refresh(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  async startSidecar(): Promise<void> {
    this._update({ connection: 'starting', reason: 'Starting the Vigilo sidecar…' });
    try {
      await requestAPI<unknown>('start', { method: 'POST', body: '{}' }, this._serverSettings);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this._update({ connection: this._everConnected ? 'disconnected' : 'not-running', reason: message });
      throw error;
    }
    this._sseRetryAt = 0;
    await this.refresh();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._llmTimer !== null) {
      clearTimeout(this._llmTimer);
      this._llmTimer = null;
    }
    this._closeSource();
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** One poll tick: check the stream, or fetch /metrics. Rejects to make the poll back off. */
  private async _tick(): Promise<void> {
    if (this._source && this._sseLive) {
      if (this._now() - this._lastEventAt <= this._settings.sseStaleAfterMs) {
        return;
      }
      // Open but silent: a proxy that buffers, or a half-dead connection.
      this._abandonSse('the event stream went silent');
    } else if (this._source && this._now() - this._sourceOpenedAt > this._settings.sseStaleAfterMs) {
      this._abandonSse('the event stream never delivered a snapshot');
    }
    try {
      const metrics = await requestAPI<MetricsSnapshot>('api/metrics', {}, this._serverSettings);
      const reconnected =
        !this._state.status || this._state.connection === 'disconnected' || this._state.connection === 'not-running' || this._state.connection === 'starting';
      if (reconnected) {
        await this._fetchStatus();
        await this._fetchAlertHistory();
        // Not awaited: the first figures do not wait for the chart's past.
        void this._fetchGpuHistory();
        void this._fetchCheckpoints();
      }
      this._everConnected = true;
      const streaming = this._source !== null && this._sseLive;
      this._update({ metrics, connection: streaming ? 'live' : 'polling', reason: streaming ? null : this._pollingReason(), ...this._appendVram(metrics) });
      if (!this._source && this._wantsSse()) {
        this._openSource();
      }
      // A (new) sidecar: its session figures start over. Without the stream,
      // no `llm` event says when they change: refresh them now and then.
      if (reconnected || (!streaming && this._now() - this._llmFetchedAt >= LLM_POLL_INTERVAL_MS)) {
        this._scheduleLlm();
      }
    } catch (error) {
      this._closeSource();
      this._onUnreachable(error);
      throw error;
    }
  }

  private async _fetchStatus(): Promise<void> {
    const status = await requestAPI<StatusResponse>('api/status', {}, this._serverSettings);
    this._checkApiVersion(status.apiVersion);
    this._update({ status });
  }

  private _onUnreachable(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const notRunning = error instanceof VigiloRequestError && error.sidecarNotRunning;
    let connection: ConnectionState;
    let reason: string;
    if (this._everConnected) {
      connection = 'disconnected';
      reason = `Disconnected from the sidecar: ${message} Retrying by itself.`;
    } else if (notRunning) {
      connection = 'not-running';
      reason = message;
    } else {
      connection = 'disconnected';
      reason = `Cannot reach the sidecar: ${message} Retrying by itself.`;
    }
    this._update({ connection, reason });
  }

  private _wantsSse(): boolean {
    const transport = this._settings.transport;
    if (transport === 'poll' || !this._canStream) {
      return false;
    }
    return transport === 'sse' || this._now() >= this._sseRetryAt;
  }

  private _pollingReason(): string | null {
    if (this._settings.transport === 'poll') {
      return 'Polling /metrics (transport set to "poll" in the settings).';
    }
    return this._sseProblem ? `Polling /metrics: ${this._sseProblem}.` : null;
  }

  private _openSource(): void {
    let url = vigiloUrl('api/events', this._serverSettings);
    // EventSource cannot send headers: when Jupyter authenticates by token
    // rather than by cookie, pass it the way JupyterLab does for websockets.
    const { token, appendToken } = this._serverSettings;
    if (appendToken && token) {
      url += `?token=${encodeURIComponent(token)}`;
    }
    const source = this._eventSourceFactory(url);
    this._source = source;
    this._sseLive = false;
    this._sourceOpenedAt = this._now();
    source.addEventListener('hello', event => {
      const hello = this._parse<IHello>(event);
      if (hello) {
        this._checkApiVersion(hello.apiVersion);
        if (this._state.status && hello.pid !== this._state.status.pid) {
          void this._fetchStatus().catch(() => undefined);
        }
      }
    });
    source.addEventListener('snapshot', event => {
      const metrics = this._parse<MetricsSnapshot>(event);
      if (!metrics || source !== this._source) {
        return;
      }
      this._sseLive = true;
      this._sseProblem = null;
      this._lastEventAt = this._now();
      this._everConnected = true;
      countRender('snapshot');
      this._update({ metrics, connection: 'live', reason: null, ...this._appendVram(metrics) });
    });
    source.addEventListener('alert', event => {
      const alert = this._parse<Alert>(event);
      if (alert && source === this._source) {
        this._lastEventAt = this._now();
        this._update({ alerts: [alert, ...this._state.alerts.filter(a => a.id !== alert.id)].slice(0, MAX_ALERTS) });
        if (this._markSeen(alert.id)) {
          this._alertRaised.emit(alert);
        }
      }
    });
    source.addEventListener('checkpoint', event => {
      const data = this._parse<CheckpointEvent>(event);
      if (data && source === this._source) {
        this._lastEventAt = this._now();
        const previous = this._state.checkpoints.data;
        const checkpoints = data.record
          ? [data.record, ...(previous?.checkpoints ?? []).filter(c => c.id !== data.record?.id)].slice(0, 20)
          : previous?.checkpoints ?? [];
        this._update({ checkpoints: { status: 'ready', data: { status: data.status, checkpoints }, error: null } });
      }
    });
    source.addEventListener('llm', () => {
      if (source === this._source) {
        this._lastEventAt = this._now();
        this._scheduleLlm();
      }
    });
    source.onerror = () => {
      if (source !== this._source) {
        return;
      }
      // EventSource would retry by itself, but only we know whether to back
      // off, fall back to polling or report the sidecar gone: close it and let
      // the poll decide right now.
      if (this._sseLive) {
        this._closeSource();
      } else {
        this._abandonSse('the event stream could not be opened through the Jupyter server');
      }
      void this._poll.refresh();
    };
  }

  /**
   * The alerts the sidecar already had when this page (re)connected: shown in
   * the list, remembered as seen so they never become notifications.
   */
  private async _fetchAlertHistory(): Promise<void> {
    let history: Alert[];
    try {
      history = (await requestAPI<{ alerts: Alert[] }>(`api/alerts?limit=${MAX_ALERTS}`, {}, this._serverSettings)).alerts;
    } catch {
      // An older sidecar without /alerts: live alerts still arrive on the stream.
      return;
    }
    if (!Array.isArray(history)) {
      return;
    }
    history.forEach(alert => this._markSeen(alert.id));
    const merged = [...this._state.alerts, ...history.filter(a => !this._state.alerts.some(b => b.id === a.id))];
    merged.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    this._update({ alerts: merged.slice(0, MAX_ALERTS) });
  }

  /** The VRAM series the sidecar already holds (once per connection); snapshots append to it. */
  private async _fetchGpuHistory(): Promise<void> {
    let gpus: GpuHistoryResponse['gpus'];
    try {
      gpus = (await requestAPI<GpuHistoryResponse>('api/gpu/history', {}, this._serverSettings)).gpus;
    } catch {
      // No GPU module (or an older sidecar): the chart starts from the live samples.
      return;
    }
    const history: Record<string, IVramPoint[]> = {};
    for (const gpu of gpus ?? []) {
      const past = gpu.samples.map(s => ({ t: Date.parse(s.t), usedMiB: s.usedMiB }));
      const lastPast = past.length ? past[past.length - 1].t : 0;
      // Samples the stream appended while this request was under way come after the sidecar's series.
      const live = (this._state.gpuHistory[gpu.uuid] ?? []).filter(p => p.t > lastPast);
      history[gpu.uuid] = [...past, ...live].slice(-MAX_VRAM_POINTS);
      this._lastVramAt[gpu.uuid] = Math.max(this._lastVramAt[gpu.uuid] ?? 0, lastPast);
    }
    this._update({ gpuHistory: { ...this._state.gpuHistory, ...history } });
  }

  /**
   * The history patch for one snapshot: a new array only for a GPU that got a
   * newer sample, so charts of unchanged GPUs keep their props and skip rendering.
   */
  private _appendVram(metrics: MetricsSnapshot): Partial<IVigiloState> {
    const gpu = metrics.gpu;
    if (!gpu || gpu.status !== 'ok' || !gpu.sampledAt) {
      return {};
    }
    const t = Date.parse(gpu.sampledAt);
    let next: Record<string, IVramPoint[]> | null = null;
    for (const device of gpu.devices) {
      if (device.memoryUsedMiB === null || (this._lastVramAt[device.uuid] ?? 0) >= t) {
        continue;
      }
      next = next ?? { ...this._state.gpuHistory };
      const points = [...(next[device.uuid] ?? []), { t, usedMiB: device.memoryUsedMiB }];
      next[device.uuid] = points.length > MAX_VRAM_POINTS ? points.slice(points.length - MAX_VRAM_POINTS) : points;
      this._lastVramAt[device.uuid] = t;
    }
    return next ? { gpuHistory: next } : {};
  }

  private async _fetchCheckpoints(): Promise<void> {
    let patch: ICheckpointState;
    try {
      const data = await requestAPI<CheckpointsResponse>('api/checkpoints', {}, this._serverSettings);
      patch = { status: 'ready', data, error: null };
    } catch (error) {
      const missing = error instanceof VigiloRequestError && error.status === 404;
      patch = missing
        ? { status: 'unavailable', data: null, error: 'This sidecar has no checkpoint API yet (GET /checkpoints answered 404).' }
        : { ...this._state.checkpoints, status: 'error', error: `Could not read checkpoints: ${error instanceof Error ? error.message : String(error)}` };
    }
    this._update({ checkpoints: patch });
  }

  /** Remember an alert id; false when it was already known. */
  private _markSeen(id: string): boolean {
    if (this._seenAlerts.has(id)) {
      return false;
    }
    this._seenAlerts.add(id);
    if (this._seenAlerts.size > MAX_SEEN_ALERTS) {
      this._seenAlerts.delete(this._seenAlerts.values().next().value as string);
    }
    return true;
  }

  /**
   * Ask for fresh LLM figures. Bursts of `llm` events collapse: at most one
   * fetch (three requests) per `llmMinIntervalMs`, and never two at once; a
   * request made meanwhile is served by one trailing fetch.
   */
  private _scheduleLlm(): void {
    if (!this._llmWanted || this._isDisposed) {
      return;
    }
    if (this._llmInFlight) {
      this._llmDirty = true;
      return;
    }
    if (this._llmTimer !== null) {
      return;
    }
    const wait = Math.max(0, this._llmStartedAt + this._llmMinIntervalMs - this._now());
    if (wait === 0) {
      void this._fetchLlm();
      return;
    }
    this._llmTimer = setTimeout(() => {
      this._llmTimer = null;
      void this._fetchLlm();
    }, wait);
  }

  private async _fetchLlm(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this._llmInFlight = true;
    this._llmDirty = false;
    this._llmStartedAt = this._now();
    if (this._state.llm.status === 'idle') {
      this._updateLlm({ status: 'loading' });
    }
    try {
      const [usage, cost, list, recent, chains] = await Promise.all([
        requestAPI<LlmUsageResponse>('api/llm/usage', {}, this._serverSettings),
        requestAPI<LlmCostResponse>(`api/llm/cost?days=${LLM_COST_DAYS}`, {}, this._serverSettings),
        requestAPI<{ conversations: ConversationHealth[] }>('api/llm/conversations', {}, this._serverSettings),
        // Only the sparklines need it: an older sidecar without the route still shows everything else.
        requestAPI<{ calls: LlmCallView[] }>(`api/llm/calls?limit=${LLM_CALLS_LIMIT}`, {}, this._serverSettings).catch(() => ({ calls: [] })),
        // Only the cards' successor lines need it, likewise.
        requestAPI<{ links: ChainLink[] }>('api/llm/chains', {}, this._serverSettings).catch(() => ({ links: [] as ChainLink[] }))
      ]);
      const conversations = [...(list.conversations ?? [])]
        .sort((a, b) => (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : 0))
        .slice(0, MAX_CONVERSATIONS);
      this._llmFetchedAt = this._now();
      this._updateLlm({ status: 'ready', usage, cost, conversations, calls: recent.calls ?? [], links: chains.links ?? [], error: null });
    } catch (error) {
      this._llmFetchedAt = this._now();
      const message = error instanceof Error ? error.message : String(error);
      const missing = error instanceof VigiloRequestError && error.status === 404;
      this._updateLlm({
        status: 'error',
        error: missing
          ? `This sidecar has no LLM routes (${message}). Upgrade it with \`pip install -U vigilo\` and restart it.`
          : `Could not load LLM figures: ${message}`
      });
    } finally {
      this._llmInFlight = false;
    }
    if (this._llmDirty) {
      this._scheduleLlm();
    }
  }

  private _updateLlm(patch: Partial<ILlmState>): void {
    this._update({ llm: { ...this._state.llm, ...patch } });
  }

  /** Close the stream; in 'auto', poll instead for a while and say why. */
  private _abandonSse(problem: string): void {
    this._closeSource();
    if (this._settings.transport === 'auto') {
      this._sseProblem = problem;
      this._sseRetryAt = this._now() + SSE_RETRY_AFTER_MS;
    }
  }

  private _closeSource(): void {
    if (this._source) {
      this._source.onerror = null;
      this._source.close();
      this._source = null;
    }
    this._sseLive = false;
  }

  private _parse<T>(event: Event): T | null {
    try {
      return JSON.parse((event as MessageEvent<string>).data) as T;
    } catch {
      return null;
    }
  }

  private _checkApiVersion(sidecar: number): void {
    const apiMismatch = sidecar === API_VERSION ? null : { frontend: API_VERSION, sidecar };
    this._update({ apiMismatch });
  }

  private _frequency(): { interval: number; max: number; backoff: boolean } {
    const interval = Math.max(250, this._settings.refreshIntervalMs);
    return { interval, max: Math.max(interval, this._settings.maxBackoffMs), backoff: true };
  }

  /** Apply a patch; emit `changed` only when something differs. */
  private _update(patch: Partial<IVigiloState>): void {
    if (this._isDisposed) {
      return;
    }
    const current = this._state as unknown as Record<string, unknown>;
    // The VRAM history is replaced, never mutated: identity says whether it changed (no JSON of an hour of samples).
    const changed = Object.entries(patch).some(([key, value]) => (key === 'gpuHistory' ? current[key] !== value : !Private.same(current[key], value)));
    if (!changed) {
      return;
    }
    if (patch.connection === 'not-running') {
      patch = { ...patch, status: null, metrics: null };
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  private _changed = new Signal<IVigiloModel, IVigiloState>(this);
  private _alertRaised = new Signal<IVigiloModel, Alert>(this);
  private _seenAlerts = new Set<string>();
  private _llmWanted = false;
  private _llmInFlight = false;
  private _llmDirty = false;
  private _llmTimer: ReturnType<typeof setTimeout> | null = null;
  private _llmStartedAt = 0;
  private _llmFetchedAt = 0;
  private _llmMinIntervalMs: number;
  private _settingsChanged = new Signal<IVigiloModel, IVigiloSettings>(this);
  private _state: IVigiloState = {
    connection: 'connecting',
    reason: null,
    status: null,
    metrics: null,
    alerts: [],
    apiMismatch: null,
    llm: EMPTY_LLM_STATE,
    gpuHistory: {},
    checkpoints: { status: 'idle', data: null, error: null }
  };
  private _lastVramAt: Record<string, number> = {};
  private _settings: IVigiloSettings;
  private _serverSettings: ServerConnection.ISettings;
  private _eventSourceFactory: (url: string) => EventSource;
  private _canStream: boolean;
  private _now: () => number;
  private _poll: Poll<void, unknown, 'standby'>;
  private _source: EventSource | null = null;
  private _sseLive = false;
  private _sseProblem: string | null = null;
  private _sseRetryAt = 0;
  private _sourceOpenedAt = 0;
  private _lastEventAt = 0;
  private _everConnected = false;
  private _isDisposed = false;
}

export namespace VigiloModel {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    settings?: Partial<IVigiloSettings>;
    /** Injected in tests; defaults to the browser's EventSource. */
    eventSourceFactory?: (url: string) => EventSource;
    /** Injected clock, ms. */
    now?: () => number;
    /** Start connecting at once (default). */
    autoStart?: boolean;
    /** Shortest gap between two LLM fetches, ms (default 2000). */
    llmMinIntervalMs?: number;
  }
}

namespace Private {
  export function same(a: unknown, b: unknown): boolean {
    if (a === b) {
      return true;
    }
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
      return false;
    }
    return JSON.stringify(a) === JSON.stringify(b);
  }
}
