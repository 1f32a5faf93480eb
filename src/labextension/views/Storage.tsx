/** Disks with the platform's paths, Kaggle's output folder against its limit, and whether Google Drive is mounted. */
import * as React from 'react';
import type { MetricsSnapshot, PlatformName } from '../../shared/api';
import { levelColour } from '../../shared/alertLevels';
import { disks, outputText } from '../../shared/dashboard';
import { formatPercent, formatUsedOf } from '../../shared/format';
import { Bar, Row, Section } from './common';

export const DRIVE_HOW_TO = "from google.colab import drive; drive.mount('/content/drive')";

/** `alerts`: the snapshot's section, whose levels colour the bars as the sidecar's disk and output alerts fire. */
export function StorageSectionView(props: {
  storage: MetricsSnapshot['storage'];
  system: MetricsSnapshot['system'];
  platform: PlatformName;
  alerts?: MetricsSnapshot['alerts'];
}): React.ReactElement {
  const { storage, system, platform, alerts } = props;
  const shown = disks({ storage, system });
  return (
    <Section title="Storage" className="jp-Vigilo-storage">
      {storage && storage.status !== 'ok' && <p className="jp-Vigilo-reason">{storage.reason ?? storage.status}</p>}
      {shown.length === 0 && <p className="jp-Vigilo-reason">No disk reported yet.</p>}
      {shown.map(d => (
        <div key={d.path} className="jp-Vigilo-disk-entry" data-path={d.path}>
          <Row label={d.path} value={`${formatUsedOf(d.usedBytes, d.totalBytes)} · ${formatPercent(d.usedPercent)}`} valueClass="jp-Vigilo-diskValue" />
          <Bar percent={d.usedPercent} label={`Disk ${d.path} used`} level={levelColour(d.usedPercent, alerts, 'storage.disk')} />
        </div>
      ))}
      {storage?.output && (
        <div className="jp-Vigilo-disk-entry jp-Vigilo-output" data-path={storage.output.path}>
          <Row
            label={`${storage.output.path} (output)`}
            block
            valueClass="jp-Vigilo-outputValue"
            value={`${outputText(storage.output)} · ${storage.output.files} file${storage.output.files === 1 ? '' : 's'}`}
          />
          <Bar
            percent={storage.output.usedPercent}
            label="Output folder against its limit"
            level={levelColour(storage.output.usedPercent, alerts, 'storage.output')}
          />
        </div>
      )}
      {storage && (platform === 'colab' || storage.drive.mounted) && (
        <div className={`jp-Vigilo-drive ${storage.drive.mounted ? 'jp-mod-ok' : 'jp-mod-warning'}`}>
          <span className="jp-Vigilo-label">Google Drive</span>{' '}
          {storage.drive.mounted ? (
            <span className="jp-Vigilo-driveState">mounted at {storage.drive.mountPoint}</span>
          ) : (
            <>
              <span className="jp-Vigilo-driveState">not mounted — checkpoints have nowhere durable to go</span>
              <p className="jp-Vigilo-small">
                Mount it in a cell: <code>{DRIVE_HOW_TO}</code>
              </p>
            </>
          )}
        </div>
      )}
    </Section>
  );
}
