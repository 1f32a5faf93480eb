import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { PlatformName } from '../shared/api';
import { countdowns, verdict, type IVerdict } from '../shared/dashboard';
import { formatMoney, formatPercent, formatShortDuration, ratioPercent } from '../shared/format';
import { vigiloIcon } from './icons';
import { costText, findBucket, utcDayKey } from './llmFormat';
import { DEFAULT_SETTINGS, type IVigiloModel, type IVigiloSettings, type IVigiloState } from './tokens';

function platformOf(state: IVigiloState): PlatformName {
  return state.metrics?.platform?.name ?? state.status?.platform.name ?? 'local';
}

/** The verdict on the latest figures; null before the first snapshot. */
function verdictOf(state: IVigiloState): IVerdict | null {
  return state.metrics ? verdict(state.metrics, platformOf(state)) : null;
}

/**
 * One line for the status bar: the soonest countdown, VRAM and today's LLM
 * spend, e.g. "10h57m · VRAM 53% · $0.82"; each part switchable in the settings.
 * `v`: the state's verdict, when the caller has it already.
 */
export function summarize(
  state: IVigiloState,
  parts: IVigiloSettings['statusBar'] = DEFAULT_SETTINGS.statusBar,
  v: IVerdict | null = verdictOf(state)
): string {
  switch (state.connection) {
    case 'connecting':
      return 'Vigilo: connecting…';
    case 'starting':
      return 'Vigilo: starting…';
    case 'not-running':
      return 'Vigilo: not running';
    case 'disconnected':
      return 'Vigilo: disconnected';
    default:
      break;
  }
  const metrics = state.metrics;
  if (!metrics) {
    return 'Vigilo: waiting for data';
  }
  const out: string[] = [];
  if (parts.countdown) {
    // Never the word "idle": JupyterLab shows the kernel's "Idle" in the same bar, and tools (Galata's runCell) look for it.
    const threat = v?.threat;
    if (threat && (threat.kind === 'oom' || threat.kind === 'vram')) {
      out.push(threat.kind === 'oom' ? `OOM ${formatShortDuration(threat.seconds)}` : threat.text);
    } else {
      const soonest = countdowns(metrics, platformOf(state))
        .filter(c => c.remainingS !== null)
        .sort((a, b) => (a.remainingS ?? 0) - (b.remainingS ?? 0))[0];
      if (soonest) {
        out.push(`${soonest.id === 'idle' ? 'cut-off ' : soonest.id === 'quota' ? 'quota ' : ''}${formatShortDuration(soonest.remainingS)}`);
      }
    }
  }
  if (parts.vram) {
    const gpu = metrics.gpu;
    if (gpu && gpu.status === 'ok' && gpu.devices.length > 0) {
      const worst = Math.max(...gpu.devices.map(d => ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB) ?? 0));
      out.push(`VRAM ${formatPercent(worst)}`);
    } else if (metrics.system) {
      out.push(`Mem ${formatPercent(ratioPercent(metrics.system.memory.usedBytes, metrics.system.memory.totalBytes))}`);
    }
  }
  if (parts.spend && state.llm.cost) {
    const today = findBucket(state.llm.cost.byDay, utcDayKey(Date.parse(metrics.takenAt)));
    out.push(today ? costText(today.costUsd, today.unpricedCalls) : formatMoney(0));
  }
  return out.length ? out.join(' · ') : 'Vigilo';
}

/** The status bar's tooltip: the verdict in full. */
export function statusTitle(state: IVigiloState, v: IVerdict | null = verdictOf(state)): string {
  if (state.reason) {
    return state.reason;
  }
  if (!v) {
    return 'Vigilo: open the panel';
  }
  return `Vigilo: ${v.text}. Click to open the panel.`;
}

/** The compact status-bar item; clicking it opens the panel. */
export class VigiloStatusItem extends ReactWidget {
  constructor(options: VigiloStatusItem.IOptions) {
    super();
    this._model = options.model;
    this._onClick = options.onClick;
    this.addClass('jp-Vigilo-statusItem');
    this._model.settingsChanged.connect(() => this.update(), this);
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this._model.changed} initialArgs={this._model.state}>
        {(_, state) => {
          const s = state ?? this._model.state;
          // One verdict per render, shared by the line, the tooltip and the level.
          const v = verdictOf(s);
          const text = summarize(s, this._model.settings.statusBar, v);
          return (
            <div
              className={`jp-Vigilo-statusText jp-Vigilo-status-${s.connection}`}
              title={statusTitle(s, v)}
              data-level={v?.level ?? 'ok'}
              onClick={this._onClick}
            >
              <vigiloIcon.react tag="span" className="jp-Vigilo-statusIcon" />
              <span>{text}</span>
            </div>
          );
        }}
      </UseSignal>
    );
  }

  private _model: IVigiloModel;
  private _onClick: () => void;
}

export namespace VigiloStatusItem {
  export interface IOptions {
    model: IVigiloModel;
    onClick: () => void;
  }
}
