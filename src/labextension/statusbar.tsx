import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { formatBytes, formatPercent, ratioPercent } from '../shared/format';
import { vigiloIcon } from './icons';
import type { IVigiloModel, IVigiloState } from './tokens';

/** One line for the status bar, e.g. "CPU 12% · Mem 3.1/15.6 GiB · GPU —". */
export function summarize(state: IVigiloState): string {
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
  const system = state.metrics?.system;
  if (!system) {
    return 'Vigilo: waiting for data';
  }
  const parts = [
    `CPU ${formatPercent(system.cpuPercent)}`,
    `Mem ${formatBytes(system.memory.usedBytes).split(' ')[0]}/${formatBytes(system.memory.totalBytes)}`
  ];
  const gpu = state.metrics?.gpu;
  if (gpu && gpu.status === 'ok' && gpu.devices.length > 0) {
    const d = gpu.devices[0];
    parts.push(`VRAM ${formatPercent(ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB))}`);
  } else {
    parts.push('GPU —');
  }
  return parts.join(' · ');
}

/** The compact status-bar item; clicking it opens the panel. */
export class VigiloStatusItem extends ReactWidget {
  constructor(options: VigiloStatusItem.IOptions) {
    super();
    this._model = options.model;
    this._onClick = options.onClick;
    this.addClass('jp-Vigilo-statusItem');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this._model.changed} initialArgs={this._model.state}>
        {(_, state) => {
          const s = state ?? this._model.state;
          const text = summarize(s);
          return (
            <div
              className={`jp-Vigilo-statusText jp-Vigilo-status-${s.connection}`}
              title={s.reason ?? 'Vigilo: open the panel'}
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
