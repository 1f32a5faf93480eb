/** LLM spend per UTC day (bars), loaded lazily with the other recharts charts. */
import * as React from 'react';
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMoney } from '../../shared/format';
import { countRender } from '../renderStats';

export interface ISpendDay {
  key: string;
  usd: number;
}

function SpendChart(props: { days: ISpendDay[] }): React.ReactElement {
  countRender('SpendChart');
  const max = Math.max(0.01, ...props.days.map(d => d.usd));
  return (
    <div className="jp-Vigilo-chart jp-Vigilo-spendChart" aria-label="LLM spend per day">
      <ResponsiveContainer width="100%" height={70}>
        <BarChart data={props.days} margin={{ top: 4, right: 4, bottom: 0, left: 0 }}>
          <XAxis dataKey="key" tickFormatter={(k: string) => k.slice(8)} tick={{ fontSize: 9, fill: 'var(--jp-ui-font-color2)' }} stroke="var(--jp-border-color1)" interval={0} />
          <YAxis domain={[0, max]} width={40} tickCount={2} tickFormatter={(v: number) => formatMoney(v)} tick={{ fontSize: 9, fill: 'var(--jp-ui-font-color2)' }} stroke="var(--jp-border-color1)" />
          <Tooltip formatter={(v: unknown) => formatMoney(Number(v))} isAnimationActive={false} />
          <Bar dataKey="usd" fill="var(--jp-brand-color1)" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export default React.memo(SpendChart);
