/** The last checkpoint (age, where, verified), "Checkpoint now", auto on/off, and progress while saving. */
import * as React from 'react';
import { formatApproxDuration, formatBytes, formatClock, ratioPercent } from '../../shared/format';
import type { ICheckpointState } from '../tokens';
import { Bar, Ident, Row, Section } from './common';

export function CheckpointSection(props: {
  checkpoints: ICheckpointState;
  /** The snapshot's time, ms: ages move on with each snapshot. */
  nowMs: number;
  onCheckpointNow: () => Promise<string>;
  onSetAuto: (auto: boolean) => Promise<void>;
}): React.ReactElement {
  const { checkpoints } = props;
  const [busy, setBusy] = React.useState(false);
  const [message, setMessage] = React.useState<string | null>(null);
  if (checkpoints.status === 'idle') {
    return (
      <Section title="Checkpoints" className="jp-Vigilo-checkpoints">
        <p className="jp-Vigilo-reason">Reading checkpoints…</p>
      </Section>
    );
  }
  if (!checkpoints.data) {
    return (
      <Section title="Checkpoints" className="jp-Vigilo-checkpoints">
        <p className="jp-Vigilo-reason jp-Vigilo-checkpointReason">
          {checkpoints.status === 'unavailable'
            ? 'Checkpoints are not available in this sidecar yet: upgrade Vigilo for automatic checkpoints.'
            : checkpoints.error}
        </p>
      </Section>
    );
  }
  const { status } = checkpoints.data;
  const last = status.lastVerified;
  const ageS = last ? Math.max(0, (props.nowMs - Date.parse(last.time)) / 1000) : null;
  const saving = status.saving;
  const run = (fn: () => Promise<string | void>): void => {
    setBusy(true);
    void fn()
      .then(text => setMessage(typeof text === 'string' ? text : null))
      .catch((error: unknown) => setMessage(error instanceof Error ? error.message : String(error)))
      .finally(() => setBusy(false));
  };
  return (
    <Section title="Checkpoints" className="jp-Vigilo-checkpoints">
      <Row
        label="Last"
        valueClass="jp-Vigilo-checkpointAge"
        value={last ? `${formatApproxDuration(ageS)} ago (${formatClock(last.time)})${last.verified ? ' · verified' : ''}` : 'none yet'}
      />
      {last && <Row label="Where" block value={<Ident text={last.path} />} />}
      <Row
        label="Destination"
        block
        valueClass={status.destination.durable ? '' : 'jp-mod-warning'}
        value={status.destination.durable ? status.destination.reason : `${status.destination.reason}${status.destination.fix ? ` — ${status.destination.fix}` : ''}`}
      />
      {saving && (
        <div className="jp-Vigilo-checkpointProgress">
          <Row label="Saving" value={`${saving.phase}${saving.bytesTotal ? ` · ${formatBytes(saving.bytesDone)} of ${formatBytes(saving.bytesTotal)}` : ''}`} />
          <Bar percent={ratioPercent(saving.bytesDone, saving.bytesTotal) ?? (saving.phase === 'requested' ? 5 : 50)} label="Checkpoint progress" level="ok" />
        </div>
      )}
      {status.lastError && <p className="jp-Vigilo-warning">{`${status.lastError.message} ${status.lastError.fix}`}</p>}
      <Row label="Next" block value={status.nextDue.reason} />
      <div className="jp-Vigilo-buttons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept jp-Vigilo-checkpointNow"
          disabled={busy || saving !== null}
          onClick={() => run(props.onCheckpointNow)}
        >
          Checkpoint now
        </button>
        <label className="jp-Vigilo-toggle">
          <input type="checkbox" checked={status.auto} disabled={busy} onChange={e => run(() => props.onSetAuto(e.target.checked))} /> Automatic
        </label>
      </div>
      {message && <p className="jp-Vigilo-small jp-Vigilo-checkpointMessage">{message}</p>}
    </Section>
  );
}
