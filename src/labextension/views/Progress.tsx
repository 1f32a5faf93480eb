/** "Will it finish?": the main progress bar of the run and the verdict against the time left. */
import * as React from 'react';
import type { ProgressSection } from '../../shared/api';
import { formatClock, formatCount, formatDuration } from '../../shared/format';
import { Bar, Ident, Row, Section } from './common';

export function ProgressSectionView(props: { progress: ProgressSection | undefined }): React.ReactElement | null {
  const p = props.progress;
  if (!p || (!p.main && !p.verdict)) {
    return null;
  }
  const main = p.main;
  const level = p.verdict?.kind === 'runs-out' || p.verdict?.kind === 'stalled' ? 'critical' : 'ok';
  return (
    <Section title="Will it finish?" className="jp-Vigilo-progress">
      {p.verdict && <p className={`jp-Vigilo-progressVerdict jp-mod-${level}`}>{p.verdict.text}</p>}
      {main && (
        <>
          <Row
            label="Progress"
            value={
              <>
                <Ident text={main.name} /> {formatCount(main.n)}
                {main.total !== null ? ` of ${formatCount(main.total)}` : ''}
              </>
            }
          />
          <Bar percent={main.fraction === null ? null : main.fraction * 100} label="Training progress" level={level} />
          <Row
            label="Finishes"
            value={main.remainingS === null ? main.status : `in ${formatDuration(main.remainingS)}${main.finishesAt ? ` (${formatClock(main.finishesAt)})` : ''}`}
            title={main.basis}
          />
        </>
      )}
    </Section>
  );
}
