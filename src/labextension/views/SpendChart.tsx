/**
 * LLM spend per UTC day, stacked by provider (one theme colour each), loaded
 * lazily with the other recharts charts. Unpriced calls add nothing to a bar;
 * the tooltip says them in words.
 */
import * as React from 'react';
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMoney } from '../../shared/format';
import { costText, PROVIDER_COLOURS, type ISpendChartData, type ISpendDay } from '../llmFormat';
import { countRender } from '../renderStats';

const TICK = { fontSize: 9, fill: 'var(--jp-ui-font-color2)' };

function DayTip(props: { active?: boolean; payload?: ReadonlyArray<{ payload?: ISpendDay }>; providers: string[] }): React.ReactElement | null {
  const day = props.payload?.[0]?.payload;
  if (!props.active || !day) {
    return null;
  }
  const lines = props.providers.filter(p => day.providers[p]);
  return (
    <div className="jp-Vigilo-chartTip">
      <div className="jp-Vigilo-chartTipTitle">{day.key} (UTC)</div>
      {lines.length === 0 && <div>no calls</div>}
      {lines.map(p => {
        const s = day.providers[p];
        return (
          <div key={p}>
            <span className="jp-Vigilo-swatch" style={{ background: PROVIDER_COLOURS[p] }} /> {p}: {costText(s.costUsd, s.unpricedCalls)} · {s.calls} call{s.calls === 1 ? '' : 's'}
          </div>
        );
      })}
    </div>
  );
}

function SpendChart(props: { data: ISpendChartData }): React.ReactElement {
  countRender('SpendChart');
  const { days, providers } = props.data;
  // The tallest day fills the chart, however small the bill ($0.0008 is still a visible bar); $0.01 when nothing is priced.
  const tallest = Math.max(0, ...days.map(d => Object.values(d.providers).reduce((a, s) => a + s.usd, 0)));
  const max = tallest > 0 ? tallest : 0.01;
  return (
    <div className="jp-Vigilo-chart jp-Vigilo-spendChart" aria-label={`LLM spend per day by provider: ${providers.join(', ')}`}>
      <ResponsiveContainer width="100%" height={70}>
        <BarChart data={days} margin={{ top: 4, right: 4, bottom: 0, left: 0 }}>
          <XAxis dataKey="key" tickFormatter={(k: string) => k.slice(8)} tick={TICK} stroke="var(--jp-border-color1)" interval={0} />
          <YAxis domain={[0, max]} width={50} tickCount={2} tickFormatter={(v: number) => formatMoney(v)} tick={TICK} stroke="var(--jp-border-color1)" />
          <Tooltip content={<DayTip providers={providers} />} isAnimationActive={false} cursor={{ fill: 'var(--jp-layout-color2)' }} />
          {providers.map(p => (
            <Bar key={p} name={p} stackId="spend" dataKey={(d: ISpendDay) => d.providers[p]?.usd ?? 0} fill={PROVIDER_COLOURS[p] ?? 'var(--jp-ui-font-color2)'} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export default React.memo(SpendChart);
