/** Session time left, idle cut-off and the Kaggle GPU quota as bars that deplete, with the warning marks. */
import * as React from 'react';
import { countdownBar, type ICountdown } from '../../shared/dashboard';
import { formatClock, formatDuration } from '../../shared/format';
import { Bar, Section } from './common';

export function Countdowns(props: { items: ICountdown[]; platform: string }): React.ReactElement | null {
  if (props.items.length === 0) {
    return (
      <Section title="Time left" className="jp-Vigilo-countdowns">
        <p className="jp-Vigilo-reason jp-Vigilo-noCountdown">No time limit: a {props.platform} runtime has no lifetime, idle cut-off or quota.</p>
      </Section>
    );
  }
  return (
    <Section title="Time left" className="jp-Vigilo-countdowns">
      {props.items.map(c => (
        <CountdownRow key={c.id} countdown={c} />
      ))}
    </Section>
  );
}

function CountdownRow(props: { countdown: ICountdown }): React.ReactElement {
  const c = props.countdown;
  if (c.remainingS === null) {
    return (
      <div className={`jp-Vigilo-countdown jp-Vigilo-countdown-${c.id}`} data-countdown={c.id}>
        <div className="jp-Vigilo-countdownHead">
          <span className="jp-Vigilo-label">{c.label}</span>
          <span className="jp-Vigilo-value jp-Vigilo-countdownValue jp-mod-unknown">unknown</span>
        </div>
        <p className="jp-Vigilo-countdownDetail">{c.unknownReason}</p>
      </div>
    );
  }
  const bar = countdownBar(c);
  return (
    <div className={`jp-Vigilo-countdown jp-Vigilo-countdown-${c.id}`} data-countdown={c.id} data-level={c.level}>
      <div className="jp-Vigilo-countdownHead">
        <span className="jp-Vigilo-label">{c.label}</span>
        <span className={`jp-Vigilo-value jp-Vigilo-countdownValue jp-mod-${c.level}`}>
          {formatDuration(c.remainingS)} left
        </span>
      </div>
      <Bar percent={bar?.percent ?? null} label={`${c.label}: time left`} level={c.level} marks={bar?.marks ?? []} className="jp-Vigilo-countdownBar" />
      <p className="jp-Vigilo-countdownDetail">
        {[c.endsAt && c.id !== 'quota' ? `${c.id === 'session' ? 'ends' : 'at'} ${formatClock(c.endsAt)}` : null, c.detail].filter(Boolean).join(' · ')}
      </p>
    </div>
  );
}
