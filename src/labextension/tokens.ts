import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { Alert, MetricsSnapshot, StatusResponse } from '../shared/api';
import type { ConversationHealth, LlmCostResponse, LlmSummaryResponse, LlmUsageResponse } from '../shared/llm-api';

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
}

export const DEFAULT_SETTINGS: IVigiloSettings = {
  transport: 'auto',
  refreshIntervalMs: 2000,
  maxBackoffMs: 30_000,
  sseStaleAfterMs: 45_000,
  showStatusBar: true,
  reportActivity: true,
  notifyAlerts: true
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
  /** Why the last fetch failed, for the user. */
  error: string | null;
}

export const EMPTY_LLM_STATE: ILlmState = { status: 'idle', usage: null, cost: null, conversations: [], error: null };

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
  /**
   * An alert raised while this page was connected (from the event stream), once per alert id;
   * alerts already in the sidecar's history when the page connected are not emitted.
   */
  readonly alertRaised: ISignal<IVigiloModel, Alert>;
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
