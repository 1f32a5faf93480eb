/** The one line a user reads first: the soonest threat and its time. */
import * as React from 'react';
import type { IVerdict } from '../../shared/dashboard';

export function VerdictLine(props: { verdict: IVerdict | null; stale: boolean }): React.ReactElement {
  const v = props.verdict;
  if (!v) {
    return <div className="jp-Vigilo-verdict jp-Vigilo-verdict-pending">Waiting for the first figures…</div>;
  }
  const others = v.threats.filter(t => t !== v.threat && t.level !== 'ok');
  return (
    <div className={`jp-Vigilo-verdict jp-Vigilo-verdict-${v.level}${props.stale ? ' jp-mod-stale' : ''}`} role="status" data-level={v.level}>
      <span className="jp-Vigilo-verdictText">{v.text}</span>
      {others.length > 0 && <span className="jp-Vigilo-verdictMore">{others.map(t => t.text).join(' · ')}</span>}
    </div>
  );
}
