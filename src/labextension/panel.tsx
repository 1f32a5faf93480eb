import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import { Notification } from '@jupyterlab/apputils';
import { utcDayStart } from '../shared/costBuckets';
import { levelValue, liveLevels } from '../shared/alertLevels';
import { countdowns, verdict } from '../shared/dashboard';
import { vigiloIcon } from './icons';
import type { ChainLink } from '../shared/transfer-api';
import { copyFreshStart } from './freshStart';
import { copyConversationSummary } from './notifications';
import { countRender } from './renderStats';
import { PANEL_ID, type ConnectionState, type IVigiloModel, type IVigiloSettings, type IVigiloState } from './tokens';
import { AlertsSection } from './views/Alerts';
import { CheckpointSection } from './views/Checkpoints';
import { Section } from './views/common';
import { Countdowns } from './views/Countdowns';
import { GpuSectionView } from './views/GpuCard';
import { LlmSection } from './views/Llm';
import { ProgressSectionView } from './views/Progress';
import { StorageSectionView } from './views/Storage';
import { RuntimeSection, SystemSection } from './views/System';
import { VerdictLine } from './views/Verdict';

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
    // Settings (chart window, warning marks) change rarely: redraw then.
    this._model.settingsChanged.connect(() => this.update(), this);
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this._model.changed} initialArgs={this._model.state}>
        {(_, state) => <PanelView state={state ?? this._model.state} settings={this._model.settings} actions={this._actions} />}
      </UseSignal>
    );
  }

  /** One object for the lifetime of the panel: the sections' callbacks never change identity. */
  private _actions: IPanelActions = {
    onStart: () => this._onStart(),
    onCopySummary: id => copyConversationSummary(this._model, id),
    onFreshStart: id => copyFreshStart(this._model, id),
    onDismiss: (ruleId, key) =>
      this._model.dismissAlert(ruleId, key).catch(error => {
        Notification.warning(`Could not dismiss the alert: ${error instanceof Error ? error.message : String(error)}`, { autoClose: 8000 });
      }),
    onCheckpointNow: async () => (await this._model.checkpointNow()).message,
    onUpdatePrices: async () => (await this._model.updatePrices()).summary,
    onSetAuto: auto => this._model.setCheckpointAuto(auto)
  };

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

interface IPanelActions {
  onStart: () => void;
  onCopySummary: (conversationId: string) => Promise<boolean>;
  onFreshStart: (conversationId: string) => Promise<ChainLink | null>;
  onDismiss: (ruleId: string, key: string) => Promise<void>;
  onCheckpointNow: () => Promise<string>;
  onUpdatePrices: () => Promise<string>;
  onSetAuto: (auto: boolean) => Promise<void>;
}

function PanelView(props: { state: IVigiloState; settings: IVigiloSettings; actions: IPanelActions }): React.ReactElement {
  countRender('PanelView');
  const { state, settings, actions } = props;
  const metrics = state.metrics;
  const stale = state.connection === 'disconnected' || state.connection === 'starting';
  const platform = metrics?.platform?.name ?? state.status?.platform.name ?? 'local';
  const nowMs = metrics ? Date.parse(metrics.takenAt) : Date.now();
  const v = metrics ? verdict(metrics, platform) : null;
  const items = metrics ? countdowns(metrics, platform) : [];
  // The sidecar's VRAM warning in force (the user's setting applied); a rule turned off puts the chart's line at the top.
  const warnPercent = levelValue(liveLevels(metrics?.alerts, 'gpu.vram'), 'warning') ?? 100;
  const key = metrics?.takenAt ?? '';
  return (
    <div className="jp-Vigilo-body">
      <header className="jp-Vigilo-header">
        <h2 className="jp-Vigilo-title">Vigilo</h2>
        <span className={`jp-Vigilo-badge jp-Vigilo-badge-${state.connection}`} data-connection={state.connection}>
          {CONNECTION_LABELS[state.connection]}
        </span>
      </header>
      <ConnectionBanner state={state} onStart={actions.onStart} />
      {state.apiMismatch && (
        <div className="jp-Vigilo-warning" role="alert">
          This panel speaks API v{state.apiMismatch.frontend}, the sidecar speaks v{state.apiMismatch.sidecar}. Restart the
          sidecar from the same Vigilo install (<code>%vigilo stop</code> then <code>%vigilo</code>) or upgrade both with{' '}
          <code>pip install -U vigilo</code> and reload the page.
        </div>
      )}
      {metrics && (
        <div className={stale ? 'jp-Vigilo-sections jp-mod-stale' : 'jp-Vigilo-sections'}>
          <VerdictLine verdict={v} stale={stale} />
          <SectionBoundary name="Time left" resetKey={key}>
            <Countdowns items={items} platform={platform} />
          </SectionBoundary>
          <SectionBoundary name="Will it finish?" resetKey={key}>
            <ProgressSectionView progress={metrics.progress} />
          </SectionBoundary>
          <SectionBoundary name="GPU" resetKey={key}>
            <GpuSectionView gpu={metrics.gpu} history={state.gpuHistory} chartMinutes={settings.chartMinutes} warnPercent={warnPercent} alerts={metrics.alerts} />
          </SectionBoundary>
          <SectionBoundary name="Alerts" resetKey={key}>
            <AlertsSection active={metrics.alerts?.active ?? null} history={state.alerts} onDismiss={actions.onDismiss} />
          </SectionBoundary>
          <SectionBoundary name="Storage" resetKey={key}>
            <StorageSectionView storage={metrics.storage} system={metrics.system} platform={platform} alerts={metrics.alerts} />
          </SectionBoundary>
          <SectionBoundary name="Checkpoints" resetKey={key}>
            <CheckpointSection checkpoints={state.checkpoints} nowMs={nowMs} onCheckpointNow={actions.onCheckpointNow} onSetAuto={actions.onSetAuto} />
          </SectionBoundary>
          <SectionBoundary name="LLM" resetKey={key}>
            <LlmSection llm={state.llm} dayStartMs={utcDayStart(nowMs)} onCopySummary={actions.onCopySummary} onFreshStart={actions.onFreshStart} onUpdatePrices={actions.onUpdatePrices} />
          </SectionBoundary>
          <SectionBoundary name="CPU and memory" resetKey={key}>
            <SystemSection system={metrics.system} />
          </SectionBoundary>
          {state.status && (
            <SectionBoundary name="Runtime" resetKey={key}>
              <RuntimeSection status={state.status} metrics={metrics} />
            </SectionBoundary>
          )}
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

