/** Small building blocks every section uses: a section frame, a label/value row, bars, ids that ellipsize. */
import * as React from 'react';
import type { Level } from '../../shared/dashboard';
import { countRender } from '../renderStats';

export function Section(props: { title: string; className?: string; children: React.ReactNode; aside?: React.ReactNode }): React.ReactElement {
  return (
    <section className={`jp-Vigilo-section ${props.className ?? ''}`.trim()}>
      <h3 className="jp-Vigilo-sectionTitle">
        <span>{props.title}</span>
        {props.aside}
      </h3>
      {props.children}
    </section>
  );
}

export function Row(props: {
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

export function levelOfPercent(percent: number | null, warn = 80, critical = 95): Level {
  const p = percent ?? 0;
  return p >= critical ? 'critical' : p >= warn ? 'warning' : 'ok';
}

/**
 * A horizontal bar. `percent` fills it; `marks` (0–100) draw thin ticks, e.g.
 * the warning thresholds of a countdown.
 */
export function Bar(props: { percent: number | null; label: string; level?: Level; marks?: number[]; className?: string }): React.ReactElement {
  const percent = Math.max(0, Math.min(100, props.percent ?? 0));
  const level = props.level ?? levelOfPercent(props.percent);
  return (
    <div
      className={`jp-Vigilo-bar jp-Vigilo-bar-${level} ${props.className ?? ''}`.trim()}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={props.percent === null ? undefined : Math.round(percent)}
    >
      <div className="jp-Vigilo-barFill" style={{ width: `${percent}%` }} />
      {(props.marks ?? []).map(m => (
        <span key={m} className="jp-Vigilo-barMark" style={{ left: `${Math.max(0, Math.min(100, m))}%` }} />
      ))}
    </div>
  );
}

/** A long identifier: ellipsized in the layout, the full text on hover. */
export function Ident(props: { text: string; className?: string }): React.ReactElement {
  return (
    <span className={`jp-Vigilo-ident ${props.className ?? ''}`.trim()} title={props.text}>
      {props.text}
    </span>
  );
}

/** A small inline SVG line of values (latency per message); no axes, fixed size. */
export const Sparkline = React.memo(function Sparkline(props: { values: number[]; label: string; width?: number; height?: number }): React.ReactElement | null {
  countRender('Sparkline');
  const { values } = props;
  if (values.length < 2) {
    return null;
  }
  const w = props.width ?? 90;
  const h = props.height ?? 20;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * (w - 2) + 1).toFixed(1)},${(h - 1 - ((v - min) / span) * (h - 2)).toFixed(1)}`).join(' ');
  return (
    <svg className="jp-Vigilo-sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label}>
      <polyline points={points} fill="none" strokeWidth="1.5" />
    </svg>
  );
});

/** Loaded charts are optional: while the chunk loads (or if it fails) the figures beside them still show. */
export class ChartBoundary extends React.Component<{ children: React.ReactNode }, { failed: boolean }> {
  state = { failed: false };
  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }
  render(): React.ReactNode {
    return this.state.failed ? <p className="jp-Vigilo-reason">The chart could not be drawn.</p> : this.props.children;
  }
}
