/** Disks with the platform's paths, Kaggle's output folder against its limit, and whether Google Drive is mounted. */
import * as React from 'react';
import type { MetricsSnapshot, PlatformName } from '../../shared/api';
import { formatDecimalBytes, formatPercent, formatUsedOf, ratioPercent } from '../../shared/format';
import { Bar, Row, Section } from './common';

export const DRIVE_HOW_TO = "from google.colab import drive; drive.mount('/content/drive')";

export function StorageSectionView(props: { storage: MetricsSnapshot['storage']; system: MetricsSnapshot['system']; platform: PlatformName }): React.ReactElement {
  const { storage, system, platform } = props;
  const disks = storage
    ? storage.disks.map(d => ({ path: d.path, used: d.usedBytes, total: d.totalBytes, percent: d.usedPercent }))
    : (system?.disks ?? []).slice(0, 3).map(d => ({ path: d.mount, used: d.usedBytes, total: d.totalBytes, percent: ratioPercent(d.usedBytes, d.totalBytes) }));
  return (
    <Section title="Storage" className="jp-Vigilo-storage">
      {storage && storage.status !== 'ok' && <p className="jp-Vigilo-reason">{storage.reason ?? storage.status}</p>}
      {disks.length === 0 && <p className="jp-Vigilo-reason">No disk reported yet.</p>}
      {disks.map(d => (
        <div key={d.path} className="jp-Vigilo-disk-entry" data-path={d.path}>
          <Row label={d.path} value={`${formatUsedOf(d.used, d.total)} · ${formatPercent(d.percent)}`} valueClass="jp-Vigilo-diskValue" />
          <Bar percent={d.percent} label={`Disk ${d.path} used`} level={d.percent !== null && d.percent >= 95 ? 'critical' : d.percent !== null && d.percent >= 85 ? 'warning' : 'ok'} />
        </div>
      ))}
      {storage?.output && (
        <div className="jp-Vigilo-disk-entry jp-Vigilo-output" data-path={storage.output.path}>
          <Row
            label={`${storage.output.path} (output)`}
            block
            valueClass="jp-Vigilo-outputValue"
            value={`${storage.output.truncated ? 'at least ' : ''}${formatDecimalBytes(storage.output.bytes)} of the ${formatDecimalBytes(storage.output.limitBytes)} limit (${formatPercent(storage.output.usedPercent)}) · ${storage.output.files} file${storage.output.files === 1 ? '' : 's'}`}
          />
          <Bar
            percent={storage.output.usedPercent}
            label="Output folder against its limit"
            level={(storage.output.usedPercent ?? 0) >= 95 ? 'critical' : (storage.output.usedPercent ?? 0) >= 80 ? 'warning' : 'ok'}
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
