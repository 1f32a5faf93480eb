/**
 * VRAM used over the last N minutes (recharts). Loaded lazily: recharts is
 * most of the labextension's weight and only a GPU needs it. Fed, never
 * fetching: `points` is a new array only when a sample was added, so
 * React.memo skips every snapshot that did not touch this GPU. Animation off
 * and a fixed domain (0 to the card's total, the last N minutes) so the axes
 * never jump at 1 Hz.
 */
import * as React from 'react';
import { Area, AreaChart, ReferenceLine, ResponsiveContainer, XAxis, YAxis } from 'recharts';
import type { IVramPoint } from '../tokens';
import { countRender } from '../renderStats';

/** At most this many points drawn, whatever the window. */
const MAX_DRAWN = 240;

export interface IVramChartProps {
  points: IVramPoint[];
  totalMiB: number;
  minutes: number;
  /** The VRAM warning mark, % (drawn as a dashed line). */
  warnPercent: number;
}

function VramChart(props: IVramChartProps): React.ReactElement {
  countRender('VramChart');
  const { points, totalMiB, minutes } = props;
  const end = points.length ? points[points.length - 1].t : Date.now();
  const start = end - minutes * 60_000;
  const data = React.useMemo(() => {
    const inWindow = points.filter(p => p.t >= start);
    const step = Math.max(1, Math.ceil(inWindow.length / MAX_DRAWN));
    const out = inWindow.filter((_, i) => i % step === 0 || i === inWindow.length - 1);
    return out.map(p => ({ t: p.t, gib: p.usedMiB / 1024 }));
  }, [points, start]);
  const totalGiB = totalMiB / 1024;
  return (
    <div className="jp-Vigilo-chart" aria-label={`VRAM used over the last ${minutes} minutes`}>
      <ResponsiveContainer width="100%" height={80}>
        <AreaChart data={data} margin={{ top: 4, right: 4, bottom: 0, left: 0 }}>
          <XAxis
            dataKey="t"
            type="number"
            domain={[start, end]}
            allowDataOverflow
            tickCount={3}
            tickFormatter={(t: number) => `-${Math.round((end - t) / 60_000)} min`}
            tick={{ fontSize: 9, fill: 'var(--jp-ui-font-color2)' }}
            stroke="var(--jp-border-color1)"
          />
          <YAxis
            domain={[0, Math.ceil(totalGiB)]}
            width={34}
            tickCount={3}
            tickFormatter={(v: number) => `${Math.round(v)}G`}
            tick={{ fontSize: 9, fill: 'var(--jp-ui-font-color2)' }}
            stroke="var(--jp-border-color1)"
          />
          <ReferenceLine y={(totalGiB * props.warnPercent) / 100} stroke="var(--jp-warn-color1)" strokeDasharray="3 3" />
          <Area
            type="linear"
            dataKey="gib"
            stroke="var(--jp-brand-color1)"
            fill="var(--jp-brand-color3)"
            isAnimationActive={false}
            dot={false}
          />
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}

export default React.memo(VramChart);
