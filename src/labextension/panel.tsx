import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import type { Alert, GpuDevice, MetricsSnapshot, StatusResponse } from '../shared/api';
import { formatByKey, formatBytes, formatDuration, formatMiB, formatPercent, humanize, ratioPercent } from '../shared/format';
import type { ConversationHealth } from '../shared/llm-api';
import { vigiloIcon } from './icons';
import { bucketText, costText, findBucket, formatTokens, formatUsd, isoWeekKey, utcDayKey } from './llmFormat';
import { copyConversationSummary } from './notifications';
import { PANEL_ID, type ConnectionState, type ILlmState, type IVigiloModel, type IVigiloState } from './tokens';

/** Sections of the snapshot this panel draws itself; any other one is drawn generically. */
const KNOWN_SECTIONS = new Set(['takenAt', 'sidecar', 'system', 'gpu', 'platform']);

const CONNECTION_LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  polling: 'polling',
  'not-running': 'not running',
  starting: 'starting…',
  disconnected: 'disconnected'
};

/**
 * The left-sidebar panel. Draws the model's state; never fetches: the model
 * owns the connection and this view re-renders on its `changed` signal.
 */
export class VigiloPanel extends ReactWidget {
  constructor(options: VigiloPanel.IOptions) {
    super();
    this._model = options.model;
    this._onStart = options.onStart;
    this.id = PANEL_ID;
    this.title.icon = vigiloIcon;
    this.title.caption = 'Vigilo: runtime monitor';
    this.addClass('jp-Vigilo-panel');
  }

  protected render(): React.ReactElement {
    const onCopySummary = (id: string): Promise<boolean> => copyConversationSummary(this._model, id);
    return (
      <UseSignal signal={this._model.changed} initialArgs={this._model.state}>
        {(_, state) => <PanelView state={state ?? this._model.state} onStart={this._onStart} onCopySummary={onCopySummary} />}
      </UseSignal>
    );
  }

  /** The LLM figures are fetched the first time the panel is seen, then kept fresh by the model. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.wantLlm();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._model.wantLlm();
    }
  }

  private _model: IVigiloModel;
  private _onStart: () => void;
}

export namespace VigiloPanel {
  export interface IOptions {
    model: IVigiloModel;
    /** Start the sidecar (the `vigilo:start-sidecar` command: it reports failures). */
    onStart: () => void;
  }
}

function PanelView(props: {
  state: IVigiloState;
  onStart: () => void;
  onCopySummary: (conversationId: string) => Promise<boolean>;
}): React.ReactElement {
  const { state } = props;
  const metrics = state.metrics;
  const stale = state.connection === 'disconnected' || state.connection === 'starting';
  return (
    <div className="jp-Vigilo-body">
      <header className="jp-Vigilo-header">
        <h2 className="jp-Vigilo-title">Vigilo</h2>
        <span className={`jp-Vigilo-badge jp-Vigilo-badge-${state.connection}`} data-connection={state.connection}>
          {CONNECTION_LABELS[state.connection]}
        </span>
      </header>
      <ConnectionBanner state={state} onStart={props.onStart} />
      {state.apiMismatch && (
        <div className="jp-Vigilo-warning" role="alert">
          This panel speaks API v{state.apiMismatch.frontend}, the sidecar speaks v{state.apiMismatch.sidecar}. Restart the
          sidecar from the same Vigilo install (<code>%vigilo stop</code> then <code>%vigilo</code>) or upgrade both with{' '}
          <code>pip install -U vigilo</code> and reload the page.
        </div>
      )}
      {state.status && (
        <SectionBoundary name="Runtime" resetKey={metrics?.takenAt ?? ''}>
          <PlatformSection status={state.status} metrics={metrics} />
        </SectionBoundary>
      )}
      {metrics && (
        <div className={stale ? 'jp-Vigilo-sections jp-mod-stale' : 'jp-Vigilo-sections'}>
          <SectionBoundary name="System" resetKey={metrics.takenAt}>
            <SystemSections metrics={metrics} />
          </SectionBoundary>
          <SectionBoundary name="GPU" resetKey={metrics.takenAt}>
            <GpuSectionView metrics={metrics} />
          </SectionBoundary>
          <SectionBoundary name="LLM" resetKey={metrics.takenAt}>
            <LlmSection llm={state.llm} onCopySummary={props.onCopySummary} />
          </SectionBoundary>
          <SectionBoundary name="Alerts" resetKey={metrics.takenAt}>
            <AlertsSection alerts={state.alerts} />
          </SectionBoundary>
          <SectionBoundary name="Other sections" resetKey={metrics.takenAt}>
            <ExtraSections metrics={metrics} />
          </SectionBoundary>
          <SectionBoundary name="Sidecar" resetKey={metrics.takenAt}>
            <SidecarSectionView metrics={metrics} />
          </SectionBoundary>
        </div>
      )}
    </div>
  );
}

/**
 * A section the sidecar sent in an unexpected shape must not blank the whole
 * panel: it says what failed, and the other sections keep drawing.
 */
class SectionBoundary extends React.Component<
  { name: string; resetKey: string; children: React.ReactNode },
  { error: string | null }
> {
  state = { error: null as string | null };

  componentDidUpdate(previous: { resetKey: string }): void {
    // Try again with the next snapshot.
    if (this.state.error !== null && previous.resetKey !== this.props.resetKey) {
      this.setState({ error: null });
    }
  }

  static getDerivedStateFromError(error: unknown): { error: string } {
    return { error: error instanceof Error ? error.message : String(error) };
  }

  render(): React.ReactNode {
    if (this.state.error !== null) {
      return (
        <Section title={this.props.name} className="jp-Vigilo-sectionError">
          <p className="jp-Vigilo-reason">
            This section could not be drawn ({this.state.error}). GET /vigilo/api/metrics shows the raw data.
          </p>
        </Section>
      );
    }
    return this.props.children;
  }
}

function ConnectionBanner(props: { state: IVigiloState; onStart: () => void }): React.ReactElement | null {
  const { connection, reason } = props.state;
  if (connection === 'live' || (connection === 'polling' && !reason)) {
    return null;
  }
  const canStart = connection === 'not-running' || connection === 'disconnected';
  let text = reason;
  if (connection === 'connecting') {
    text = 'Connecting to the Vigilo sidecar through the Jupyter server…';
  } else if (connection === 'not-running') {
    text = `The Vigilo sidecar is not running. ${reason ?? ''}`.trim();
  }
  return (
    <div className={`jp-Vigilo-banner jp-Vigilo-banner-${connection}`} role="status">
      <p className="jp-Vigilo-reason">{text}</p>
      {canStart && (
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept jp-Vigilo-start" onClick={props.onStart}>
          Start Vigilo
        </button>
      )}
    </div>
  );
}

function Section(props: { title: string; className?: string; children: React.ReactNode }): React.ReactElement {
  return (
    <section className={`jp-Vigilo-section ${props.className ?? ''}`.trim()}>
      <h3 className="jp-Vigilo-sectionTitle">{props.title}</h3>
      {props.children}
    </section>
  );
}

function Row(props: {
  label: string;
  value: React.ReactNode;
  valueClass?: string;
  title?: string;
  /** Long values go under their label instead of beside it. */
  block?: boolean;
}): React.ReactElement {
  return (
    <div className={props.block ? 'jp-Vigilo-row jp-mod-block' : 'jp-Vigilo-row'} title={props.title}>
      <span className="jp-Vigilo-label">{props.label}</span>
      <span className={`jp-Vigilo-value ${props.valueClass ?? ''}`.trim()}>{props.value}</span>
    </div>
  );
}

function Bar(props: { percent: number | null; label: string }): React.ReactElement {
  const percent = props.percent ?? 0;
  const level = percent >= 95 ? 'critical' : percent >= 80 ? 'warning' : 'ok';
  return (
    <div
      className={`jp-Vigilo-bar jp-Vigilo-bar-${level}`}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={props.percent === null ? undefined : Math.round(percent)}
    >
      <div className="jp-Vigilo-barFill" style={{ width: `${percent}%` }} />
    </div>
  );
}

function PlatformSection(props: { status: StatusResponse; metrics: MetricsSnapshot | null }): React.ReactElement {
  // The snapshot's platform section (when its collector reports) is fresher than /status.
  const fromMetrics = props.metrics?.platform as Partial<StatusResponse['platform']> | undefined;
  const platform = fromMetrics && typeof fromMetrics.name === 'string' ? { ...props.status.platform, ...fromMetrics } : props.status.platform;
  const evidence = Array.isArray(platform.evidence) ? platform.evidence : [];
  const accelerator = (platform as { accelerator?: { kind?: unknown; model?: unknown; count?: unknown } }).accelerator;
  return (
    <Section title="Runtime" className="jp-Vigilo-platform">
      <Row label="Platform" value={platform.name} valueClass="jp-Vigilo-platformName" title={evidence.join('\n')} />
      {accelerator && typeof accelerator.kind === 'string' && (
        <Row
          label="Accelerator"
          value={accelerator.kind === 'none' ? 'none' : `${String(accelerator.model ?? accelerator.kind)}${Number(accelerator.count) > 1 ? ` ×${accelerator.count}` : ''}`}
        />
      )}
      {evidence.length > 0 && (
        <details className="jp-Vigilo-evidence">
          <summary>Why</summary>
          <ul>
            {evidence.map(line => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}

function SystemSections(props: { metrics: MetricsSnapshot }): React.ReactElement {
  const system = props.metrics.system;
  if (!system) {
    return (
      <Section title="System">
        <p className="jp-Vigilo-reason">The system collector has not reported yet.</p>
      </Section>
    );
  }
  const memPercent = ratioPercent(system.memory.usedBytes, system.memory.totalBytes);
  return (
    <>
      <Section title="CPU" className="jp-Vigilo-cpu">
        <Row label="Usage" value={system.cpuPercent === null ? 'measuring…' : formatPercent(system.cpuPercent)} valueClass="jp-Vigilo-cpuPercent" />
        <Bar percent={system.cpuPercent} label="CPU usage" />
        <Row label="Cores" value={system.cores} valueClass="jp-Vigilo-cores" />
        <Row label="Load" value={system.load.map(l => l.toFixed(2)).join(' · ')} title="Load average over 1, 5 and 15 min" />
      </Section>
      <Section title="Memory" className="jp-Vigilo-memory">
        <Row
          label="Used"
          value={
            <>
              <span className="jp-Vigilo-memUsed">{formatBytes(system.memory.usedBytes)}</span> of{' '}
              <span className="jp-Vigilo-memTotal">{formatBytes(system.memory.totalBytes)}</span>
            </>
          }
        />
        <Bar percent={memPercent} label="Memory used" />
        <Row label="Available" value={formatBytes(system.memory.availableBytes)} />
      </Section>
      <Section title="Disk" className="jp-Vigilo-disk">
        {system.disks.length === 0 && <p className="jp-Vigilo-reason">No disk reported.</p>}
        {system.disks.map(disk => (
          <div key={disk.mount} className="jp-Vigilo-disk-entry">
            <Row label={disk.mount} value={`${formatBytes(disk.usedBytes)} of ${formatBytes(disk.totalBytes)}`} title={disk.fs} />
            <Bar percent={ratioPercent(disk.usedBytes, disk.totalBytes)} label={`Disk ${disk.mount} used`} />
          </div>
        ))}
      </Section>
    </>
  );
}

function GpuSectionView(props: { metrics: MetricsSnapshot }): React.ReactElement {
  const gpu = props.metrics.gpu;
  if (!gpu) {
    return (
      <Section title="GPU" className="jp-Vigilo-gpu">
        <p className="jp-Vigilo-reason jp-Vigilo-gpuReason">No GPU information yet: the GPU collector has not reported.</p>
      </Section>
    );
  }
  if (gpu.status !== 'ok') {
    const label = gpu.status === 'pending' ? 'Checking for a GPU…' : `GPU ${gpu.status}`;
    return (
      <Section title="GPU" className="jp-Vigilo-gpu">
        <p className="jp-Vigilo-reason jp-Vigilo-gpuReason">
          {label}
          {gpu.reason ? `: ${gpu.reason}` : ''}
        </p>
      </Section>
    );
  }
  return (
    <Section title={gpu.devices.length > 1 ? `GPUs (${gpu.devices.length})` : 'GPU'} className="jp-Vigilo-gpu">
      {gpu.devices.length === 0 && <p className="jp-Vigilo-reason">No GPU device found.</p>}
      {gpu.devices.map(device => (
        <GpuDeviceView key={device.uuid || device.index} device={device} />
      ))}
    </Section>
  );
}

function GpuDeviceView(props: { device: GpuDevice }): React.ReactElement {
  const d = props.device;
  const vram = ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB);
  return (
    <div className="jp-Vigilo-gpuDevice">
      <Row label={`#${d.index}`} value={d.name} valueClass="jp-Vigilo-gpuName" />
      <Row label="VRAM" value={`${formatMiB(d.memoryUsedMiB)} of ${formatMiB(d.memoryTotalMiB)}`} />
      <Bar percent={vram} label={`GPU ${d.index} memory used`} />
      <Row label="Utilisation" value={formatPercent(d.utilizationPercent)} />
      <Row label="Temperature" value={d.temperatureC === null ? '—' : `${d.temperatureC.toFixed(0)} °C`} />
    </div>
  );
}

const LLM_EMPTY_HINT = 'No LLM calls tracked yet — wrap your client: vigilo.wrap(OpenAI())';

/**
 * LLM spend beside the runtime: this sidecar run's calls, tokens and cost,
 * today's and this week's cost from the stored history, unknown-model
 * warnings, and one health card per recent conversation.
 */
function LlmSection(props: { llm: ILlmState; onCopySummary: (id: string) => Promise<boolean> }): React.ReactElement {
  const { usage, cost, conversations, status, error } = props.llm;
  if (!usage || !cost) {
    return (
      <Section title="LLM" className="jp-Vigilo-llm">
        <p className="jp-Vigilo-reason jp-Vigilo-llmReason">
          {status === 'error' && error ? error : 'Loading LLM usage…'}
        </p>
      </Section>
    );
  }
  const now = Date.now();
  const empty = usage.calls === 0 && conversations.length === 0 && cost.byDay.length === 0;
  const warnings = [...new Set([...usage.warnings, ...cost.warnings].map(w => w.message))];
  const tokens = usage.tokens;
  return (
    <Section title="LLM" className="jp-Vigilo-llm">
      {status === 'error' && error && <p className="jp-Vigilo-reason jp-Vigilo-llmReason">{error} (figures below may be old)</p>}
      {empty ? (
        <p className="jp-Vigilo-reason jp-Vigilo-llmEmpty">{LLM_EMPTY_HINT}</p>
      ) : (
        <>
          <Row
            label="Calls (this session)"
            value={
              <>
                <span className="jp-Vigilo-llmCalls">{usage.calls}</span>
                {usage.errors > 0 && <span className="jp-Vigilo-llmErrors"> ({usage.errors} failed)</span>}
              </>
            }
          />
          <Row
            label="Tokens"
            valueClass="jp-Vigilo-llmTokens"
            value={`in ${formatTokens(tokens.inputTokens)} · out ${formatTokens(tokens.outputTokens)} · cached ${formatTokens(tokens.cachedInputTokens)}`}
            title="Input tokens include the cached ones"
            block
          />
          <Row
            label="Cost (this session)"
            valueClass={usage.costUsd === null ? 'jp-Vigilo-llmCost jp-mod-unknown' : 'jp-Vigilo-llmCost'}
            value={costText(usage.costUsd, usage.unpricedCalls)}
            title={usage.costUsd === null ? undefined : `$${usage.costUsd}`}
          />
          <Row label="Today (UTC)" valueClass="jp-Vigilo-llmToday" value={bucketText(findBucket(cost.byDay, utcDayKey(now)))} />
          <Row label="This week" valueClass="jp-Vigilo-llmWeek" value={bucketText(findBucket(cost.byWeek, isoWeekKey(now)))} />
        </>
      )}
      {warnings.map(message => (
        <div key={message} className="jp-Vigilo-warning jp-Vigilo-llmWarning" role="alert">
          {message}
        </div>
      ))}
      {conversations.length > 0 && (
        <div className="jp-Vigilo-llmConversations">
          <h4 className="jp-Vigilo-subTitle">Recent conversations</h4>
          {conversations.map(c => (
            <ConversationCard key={c.conversationId} conversation={c} onCopySummary={props.onCopySummary} />
          ))}
        </div>
      )}
    </Section>
  );
}

function ConversationCard(props: {
  conversation: ConversationHealth;
  onCopySummary: (id: string) => Promise<boolean>;
}): React.ReactElement {
  const c = props.conversation;
  const [copying, setCopying] = React.useState(false);
  const copy = (): void => {
    setCopying(true);
    void props.onCopySummary(c.conversationId).finally(() => setCopying(false));
  };
  const left = c.context.messagesLeft;
  return (
    <div className={`jp-Vigilo-llmCard jp-Vigilo-llmCard-${c.status}`} data-conversation={c.conversationId}>
      <div className="jp-Vigilo-llmCardHeader">
        <span className="jp-Vigilo-llmConversation" title={c.conversationId}>
          {c.conversationId}
        </span>
        <span className={`jp-Vigilo-score jp-Vigilo-score-${c.status}`} title={`Health: ${c.status}`}>
          {c.score}/100
        </span>
      </div>
      <p className="jp-Vigilo-llmModel" title={`${c.provider}; cost of the priced calls`}>
        {`${c.model ?? 'unknown model'} · ${c.calls} call${c.calls === 1 ? '' : 's'} · ${formatUsd(c.costUsd)}`}
      </p>
      <Row label="Context used" value={formatPercent(c.context.percent)} valueClass="jp-Vigilo-llmContextPercent" />
      <Bar percent={c.context.percent} label={`Context used by ${c.conversationId}`} />
      <p className="jp-Vigilo-llmContext">
        {left !== null && !c.context.text.includes('left') ? `${c.context.text} — about ${left} messages left` : c.context.text}
      </p>
      {c.reasons.length > 0 && (
        <ul className="jp-Vigilo-llmReasons">
          {c.reasons.map(reason => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      {c.recommendations.map(text => (
        <p key={text} className="jp-Vigilo-llmRecommendation">
          {text}
        </p>
      ))}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-Vigilo-copySummary"
        disabled={copying}
        onClick={copy}
        title={
          c.summaryAvailable
            ? 'Copy a summary of this conversation, ready to paste as the system message of a fresh one'
            : 'Message content was not captured: the summary will say so'
        }
      >
        {copying ? 'Copying…' : 'Copy summary'}
      </button>
    </div>
  );
}

function AlertsSection(props: { alerts: Alert[] }): React.ReactElement | null {
  if (props.alerts.length === 0) {
    return null;
  }
  return (
    <Section title="Alerts" className="jp-Vigilo-alerts">
      <ul className="jp-Vigilo-alertList">
        {props.alerts.map(alert => (
          <li key={alert.id} className={`jp-Vigilo-alert jp-Vigilo-alert-${alert.severity}`} title={alert.at}>
            {alert.message}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/**
 * Sections other engineers add to the snapshot (session clocks, storage,
 * quota, llm, ...). Drawn simply and defensively until they get their own
 * view: a section that says why it is unavailable shows the reason; otherwise
 * its plain fields, formatted by the unit their name carries.
 */
function ExtraSections(props: { metrics: MetricsSnapshot }): React.ReactElement {
  const entries = Object.entries(props.metrics).filter(([key]) => !KNOWN_SECTIONS.has(key));
  return (
    <>
      {entries.map(([key, value]) => (
        <Section key={key} title={humanize(key)} className={`jp-Vigilo-extra jp-Vigilo-extra-${key}`}>
          <GenericValue value={value} />
        </Section>
      ))}
    </>
  );
}

function GenericValue(props: { value: unknown }): React.ReactElement {
  const { value } = props;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return <Row label="Value" value={formatByKey('', value)} />;
  }
  const record = value as Record<string, unknown>;
  const status = typeof record.status === 'string' ? record.status : null;
  const reason = typeof record.reason === 'string' ? record.reason : null;
  const rows = flatten(record).filter(([key, v]) => !HIDDEN_FIELD.test(key) && !isEmpty(v));
  return (
    <>
      {status && status !== 'ok' && (
        <p className="jp-Vigilo-reason">
          {status}
          {reason ? `: ${reason}` : ''}
        </p>
      )}
      {rows.slice(0, MAX_GENERIC_ROWS).map(([key, v]) => {
        const text = formatByKey(key, v);
        return (
          <Row
            key={key}
            label={humanize(key.split('.').pop() ?? key)}
            value={text}
            title={key}
            block={text.length > 28}
          />
        );
      })}
      {rows.length > MAX_GENERIC_ROWS && (
        <p className="jp-Vigilo-more">…and {rows.length - MAX_GENERIC_ROWS} more fields (GET /vigilo/api/metrics).</p>
      )}
      {rows.length === 0 && !(status && status !== 'ok') && <p className="jp-Vigilo-reason">Nothing to report yet.</p>}
    </>
  );
}

/** Bookkeeping fields a person does not need in the panel. */
const HIDDEN_FIELD = /(^|\.)(status|reason|sampledAt|checkedAt)$/;
const MAX_GENERIC_ROWS = 10;

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') {
    return true;
  }
  if (Array.isArray(value)) {
    return value.length === 0;
  }
  if (typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).every(isEmpty);
  }
  return false;
}

/** One level of nesting flattened to "a.b" keys; deeper values are summarised. */
function flatten(record: Record<string, unknown>): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(record)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        out.push([`${key}.${sub}`, v]);
      }
    } else {
      out.push([key, value]);
    }
  }
  return out;
}

function SidecarSectionView(props: { metrics: MetricsSnapshot }): React.ReactElement | null {
  const sidecar = props.metrics.sidecar;
  if (!sidecar) {
    return null;
  }
  return (
    <Section title="Sidecar" className="jp-Vigilo-sidecar">
      <Row label="Uptime" value={formatDuration(sidecar.uptimeS)} valueClass="jp-Vigilo-uptime" />
      <Row label="Version" value={sidecar.version} />
      <Row label="PID" value={sidecar.pid} />
      <Row label="Memory (RSS)" value={formatBytes(sidecar.rssBytes)} />
    </Section>
  );
}
