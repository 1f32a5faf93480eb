import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { Alert, MetricsSnapshot, StatusResponse } from '../shared/api';
import type { CheckpointRequestResponse, CheckpointsResponse } from '../shared/checkpoint-api';
import type { ConversationHealth, LlmCallView, LlmCostResponse, LlmSummaryResponse, LlmUsageResponse, PricingUpdateResponse } from '../shared/llm-api';
import type { ChainLink, FreshStartResponse } from '../shared/transfer-api';

/**
 * Where the connection to the sidecar stands. Every value is something the
 * panel renders in words; none is only logged.
 */
export type ConnectionState =
  /** First contact not made yet. */
  | 'connecting'
  /** Receiving snapshots over Server-Sent Events through the Jupyter server. */
  | 'live'
  /** Receiving snapshots by polling /metrics (SSE unavailable or turned off). */
  | 'polling'
  /** The Jupyter server answered that no sidecar is running. */
  | 'not-running'
  /** `POST /vigilo/start` is under way. */
  | 'starting'
  /** The sidecar (or the Jupyter server) stopped answering; retrying with backoff. */
  | 'disconnected';

/** Settings of the `vigilo:plugin` schema (schema/plugin.json); applied live. */
export interface IVigiloSettings {
  /** 'auto': SSE, falling back to polling; 'sse' or 'poll' force one. */
  transport: 'auto' | 'sse' | 'poll';
  /** Polling period and first retry delay, in ms. */
  refreshIntervalMs: number;
  /** Longest wait between retries while the sidecar is down, in ms. */
  maxBackoffMs: number;
  /** How long the SSE stream may stay silent before the model falls back to polling, in ms. */
  sseStaleAfterMs: number;
  /** Show the compact summary in the status bar. */
  showStatusBar: boolean;
  /** Tell the sidecar about keyboard and cell-execution activity (idle countdown). */
  reportActivity: boolean;
  /** Raise a JupyterLab notification for each new warning or critical alert. */
  notifyAlerts: boolean;
  /** Parts of the status-bar line. */
  statusBar: { countdown: boolean; vram: boolean; spend: boolean };
  /** Minutes of VRAM history the GPU chart shows (10–60). */
  chartMinutes: number;
  /** Thresholds, overrides, quota and budgets the sidecar applies (pushed to its endpoints). */
  sidecar: ISidecarSettings;
}

/** Settings the sidecar owns (schema `sidecar`): pushed to its endpoints when they change. */
export interface ISidecarSettings {
  /** VRAM used, %: warning and critical marks (gpu.vram). */
  vramWarnPercent?: number;
  vramCriticalPercent?: number;
  /** Minutes of warning before a predicted OOM (gpu.oom). */
  oomLeadMin?: number;
  /** Minutes before the runtime ends at which to warn (session.remaining). */
  sessionWarnMin?: number[];
  /** Platform overrides, e.g. "24h", "90m"; empty: the platform's default. */
  sessionLifetime?: string;
  idleCutoff?: string;
  /** Kaggle GPU hours per week, e.g. "30h"; empty: the default. */
  kaggleWeeklyQuota?: string;
  /** LLM budgets in USD; 0: none. */
  llmDayBudgetUsd?: number;
  llmSessionBudgetUsd?: number;
  llmConversationBudgetUsd?: number;
  /** Notification rules, long-cell minutes, hourly cap, quiet hours (POST /settings/notify; docs/NOTIFY.md). */
  notify?: {
    rules?: Record<string, boolean>;
    longCellMin?: number;
    capPerHour?: number;
    quietHours?: { start: string; end: string; timeZone: string };
  };
}

/** One VRAM sample for the chart: time (ms) and MiB used. */
export interface IVramPoint {
  t: number;
  usedMiB: number;
}

/** The checkpoint card's data (GET /checkpoints, the `checkpoint` event). */
export interface ICheckpointState {
  /** 'unavailable': this sidecar has no checkpoint API (the card says so). */
  status: 'idle' | 'ready' | 'unavailable' | 'error';
  data: CheckpointsResponse | null;
  error: string | null;
}

export const DEFAULT_SETTINGS: IVigiloSettings = {
  transport: 'auto',
  refreshIntervalMs: 2000,
  maxBackoffMs: 30_000,
  sseStaleAfterMs: 45_000,
  showStatusBar: true,
  reportActivity: true,
  notifyAlerts: true,
  statusBar: { countdown: true, vram: true, spend: true },
  chartMinutes: 10,
  sidecar: {}
};

/** The LLM figures the panel shows (GET /llm/usage, /llm/cost, /llm/conversations). */
export interface ILlmState {
  /**
   * 'idle': nobody asked for LLM data yet; 'loading': first fetch under way;
   * 'ready': the figures below are the latest; 'error': the last fetch failed (`error` says why,
   * the previous figures, if any, stay).
   */
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** This sidecar run's usage. */
  usage: LlmUsageResponse | null;
  /** Spend from the stored history, by day and ISO week. */
  cost: LlmCostResponse | null;
  /** The most recently active conversations, newest first (at most `MAX_CONVERSATIONS`). */
  conversations: ConversationHealth[];
  /** The most recent calls (latency sparklines per conversation). */
  calls: LlmCallView[];
  /** Successor links (fresh starts): which conversation continues which, and what each message saves. */
  links: ChainLink[];
  /** Why the last fetch failed, for the user. */
  error: string | null;
}

export const EMPTY_LLM_STATE: ILlmState = { status: 'idle', usage: null, cost: null, conversations: [], calls: [], links: [], error: null };

/** What the frontend knows about the sidecar at one moment. */
export interface IVigiloState {
  connection: ConnectionState;
  /** A sentence saying why the connection is in this state, for the user. */
  reason: string | null;
  status: StatusResponse | null;
  metrics: MetricsSnapshot | null;
  /** Most recent alerts first (from `alert` events), at most 20. */
  alerts: Alert[];
  /** Set when the sidecar speaks another API version than this frontend. */
  apiMismatch: { frontend: number; sidecar: number } | null;
  /** LLM usage, spend and conversation health; fetched once a view asked for it (`wantLlm()`). */
  llm: ILlmState;
  /** VRAM samples per GPU uuid, oldest first: fetched once from /gpu/history, then appended from snapshots. */
  gpuHistory: Record<string, IVramPoint[]>;
  checkpoints: ICheckpointState;
}

/** The one owner of the connection to the sidecar. */
export interface IVigiloModel extends IDisposable {
  readonly state: IVigiloState;
  /** Emitted only when `state` really changed. */
  readonly changed: ISignal<IVigiloModel, IVigiloState>;
  readonly settings: IVigiloSettings;
  /** Emitted after `configure()` changed a setting. */
  readonly settingsChanged: ISignal<IVigiloModel, IVigiloSettings>;
  /** Apply new settings to the running connection. */
  configure(settings: Partial<IVigiloSettings>): void;
  /** Ask the Jupyter server to launch the sidecar, then reconnect. */
  startSidecar(): Promise<void>;
  /** Check now instead of waiting for the next retry. */
  refresh(): Promise<void>;
  /**
   * A view needs the LLM figures: fetch them now (once), then keep them fresh
   * on the sidecar's `llm` events. Cheap to call again.
   */
  wantLlm(): void;
  /** The context-transfer summary of one conversation (GET /llm/conversations/:id/summary). */
  fetchSummary(conversationId: string): Promise<LlmSummaryResponse>;
  /** The opening of the next conversation, recorded as this one's successor (POST /llm/conversations/:id/fresh-start). */
  freshStart(conversationId: string): Promise<FreshStartResponse>;
  /**
   * An alert raised while this page was connected (from the event stream), once per alert id;
   * alerts already in the sidecar's history when the page connected are not emitted.
   */
  readonly alertRaised: ISignal<IVigiloModel, Alert>;
  /** Hide one current alert (POST /alerts/dismiss). */
  dismissAlert(ruleId: string, key: string): Promise<void>;
  /** "Update prices": the sidecar fetches the current LiteLLM price file (POST /llm/pricing/update). */
  updatePrices(): Promise<PricingUpdateResponse>;
  /** "Checkpoint now" (POST /checkpoints). */
  checkpointNow(): Promise<CheckpointRequestResponse>;
  /** Automatic checkpoints on/off (PUT /checkpoints/settings). */
  setCheckpointAuto(auto: boolean): Promise<void>;
  /**
   * Push the settings the sidecar owns (thresholds, platform overrides, quota,
   * budgets) to its endpoints. Resolves to the sidecar's refusals, in words
   * (empty when everything applied).
   */
  applySidecarSettings(settings: ISidecarSettings): Promise<string[]>;
}

export const IVigiloModel = new Token<IVigiloModel>(
  'vigilo:IVigiloModel',
  'The Vigilo model: live sidecar status and metrics, reached through the Jupyter server.'
);

export namespace CommandIDs {
  export const openPanel = 'vigilo:open-panel';
  export const startSidecar = 'vigilo:start-sidecar';
  export const refresh = 'vigilo:refresh';
}

/** Plugin ids; `vigilo:plugin` carries the settings schema. */
export namespace PluginIDs {
  export const model = 'vigilo:plugin';
  export const panel = 'vigilo:panel';
  export const statusBar = 'vigilo:status-bar';
  export const activity = 'vigilo:activity';
}

export const PANEL_ID = 'vigilo-panel';
