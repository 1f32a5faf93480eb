/** CPU and memory, compact; the runtime (platform, accelerator, evidence) and the sidecar at the bottom. */
import * as React from 'react';
import type { MetricsSnapshot, StatusResponse } from '../../shared/api';
import { describeRestarts, type SidecarLifecycle } from '../../shared/lifecycle-api';
import { formatBytes, formatDuration, formatPercent, ratioPercent } from '../../shared/format';
import { levelColour } from '../../shared/alertLevels';
import { acceleratorLine, effectiveIdleCutoffS, runtimeNotes } from '../../shared/runtimeFacts';
import { Bar, Row, Section } from './common';

export function SystemSection(props: { system: MetricsSnapshot['system'] }): React.ReactElement {
  const system = props.system;
  if (!system) {
    return (
      <Section title="CPU and memory">
        <p className="jp-Vigilo-reason">The system collector has not reported yet.</p>
      </Section>
    );
  }
  const memPercent = ratioPercent(system.memory.usedBytes, system.memory.totalBytes);
  return (
    <Section title="CPU and memory" className="jp-Vigilo-system">
      <Row
        label="CPU"
        value={
          <>
            <span className="jp-Vigilo-cpuPercent">{system.cpuPercent === null ? 'measuring…' : formatPercent(system.cpuPercent)}</span> of{' '}
            <span className="jp-Vigilo-cores">{system.cores}</span> cores
          </>
        }
        title={`Load average ${system.load.map(l => l.toFixed(2)).join(' · ')} (1, 5, 15 min)`}
      />
      <Bar percent={system.cpuPercent} label="CPU usage" />
      <Row
        label="Memory"
        value={
          <>
            <span className="jp-Vigilo-memUsed">{formatBytes(system.memory.usedBytes)}</span> of{' '}
            <span className="jp-Vigilo-memTotal">{formatBytes(system.memory.totalBytes)}</span>
          </>
        }
      />
      <Bar percent={memPercent} label="Memory used" level={levelColour(memPercent, null, 'system.memory')} />
    </Section>
  );
}

/** The sidecar's restarts, as a row only when there were some (the Node and engine are in the Sidecar row's tooltip). */
function RestartsRow(props: { lifecycle: SidecarLifecycle }): React.ReactElement | null {
  const restarted = describeRestarts(props.lifecycle.restarts);
  return restarted ? <Row label="Restarts" value={restarted} valueClass="jp-Vigilo-restarts" /> : null;
}

function sidecarTitle(pid: number, lifecycle: SidecarLifecycle | undefined): string {
  return lifecycle ? `pid ${pid} · Node ${lifecycle.node.version} (${lifecycle.node.path}) · storage engine ${lifecycle.storageEngine}` : `pid ${pid}`;
}

export function RuntimeSection(props: { status: StatusResponse; metrics: MetricsSnapshot | null }): React.ReactElement {
  const fromMetrics = props.metrics?.platform;
  const platform = fromMetrics && typeof fromMetrics.name === 'string' ? { ...props.status.platform, ...fromMetrics } : props.status.platform;
  const evidence = Array.isArray(platform.evidence) ? platform.evidence : [];
  const accelerator = platform.accelerator;
  const sidecar = props.metrics?.sidecar;
  return (
    <Section title="Runtime" className="jp-Vigilo-platform">
      <Row label="Platform" value={platform.name} valueClass="jp-Vigilo-platformName" title={evidence.join('\n')} />
      {accelerator && <Row label="Accelerator" value={acceleratorLine(accelerator) ?? accelerator.kind} valueClass="jp-Vigilo-accelerator" title={accelerator.evidence.join('\n')} />}
      {runtimeNotes(platform, effectiveIdleCutoffS(props.metrics)).map(n => (
        <Row key={n.label} label={n.label} value={n.ask ? `${n.value} — say yours: ${n.ask}` : n.value} valueClass={`jp-Vigilo-runtime${n.label}`} />
      ))}
      {sidecar && (
        <Row
          label="Sidecar"
          value={
            <>
              v{sidecar.version} · up <span className="jp-Vigilo-uptime">{formatDuration(sidecar.uptimeS)}</span> · {formatBytes(sidecar.rssBytes)}
            </>
          }
          title={sidecarTitle(sidecar.pid, props.status.lifecycle)}
        />
      )}
      {props.status.lifecycle && <RestartsRow lifecycle={props.status.lifecycle} />}
      {evidence.length > 0 && (
        <details className="jp-Vigilo-evidence">
          <summary>Why {platform.name}</summary>
          <ul>
            {evidence.map(line => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}
