/**
 * Alerts as current state: one line per rule and device / conversation,
 * updated in place with the latest value and the time it was first raised;
 * cleared ones leave; each can be dismissed. The history is behind a disclosure.
 */
import * as React from 'react';
import type { ActiveAlert, Alert } from '../../shared/api';
import { formatClock } from '../../shared/format';
import { Section } from './common';

export function AlertsSection(props: {
  active: ActiveAlert[] | null;
  history: Alert[];
  onDismiss: (ruleId: string, key: string) => Promise<void>;
}): React.ReactElement | null {
  const active = props.active ?? [];
  if (active.length === 0 && props.history.length === 0) {
    return null;
  }
  return (
    <Section title={active.length ? `Alerts (${active.length})` : 'Alerts'} className="jp-Vigilo-alerts">
      {props.active === null && <p className="jp-Vigilo-reason">This sidecar does not report current alerts; the history is below.</p>}
      {props.active !== null && active.length === 0 && <p className="jp-Vigilo-muted jp-Vigilo-noAlerts">No alert holds now.</p>}
      <ul className="jp-Vigilo-alertList">
        {active.map(alert => (
          <li
            key={`${alert.ruleId}\u0000${alert.key}`}
            className={`jp-Vigilo-alert jp-Vigilo-alert-${alert.severity}`}
            data-rule={alert.ruleId}
            data-key={alert.key}
          >
            <span className="jp-Vigilo-alertText">
              <span className="jp-Vigilo-alertMessage" title={alert.message}>
                {alert.message}
              </span>
              <span className="jp-Vigilo-alertTime" title={`first raised ${alert.raisedAt}, updated ${alert.updatedAt}`}>
                since {formatClock(alert.raisedAt)}
                {alert.updatedAt !== alert.raisedAt ? ` · updated ${formatClock(alert.updatedAt)}` : ''}
              </span>
            </span>
            <button
              type="button"
              className="jp-Vigilo-dismiss"
              title="Dismiss until it gets worse"
              aria-label={`Dismiss: ${alert.message}`}
              onClick={() => void props.onDismiss(alert.ruleId, alert.key).catch(() => undefined)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      {props.history.length > 0 && (
        <details className="jp-Vigilo-alertHistory">
          <summary>History ({props.history.length})</summary>
          <ul>
            {props.history.map(a => (
              <li key={a.id} className={`jp-Vigilo-alert-${a.severity}`}>
                <span className="jp-Vigilo-muted">{formatClock(a.at)}</span> {a.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}
