/** One card per GPU: name, VRAM bar and chart, the live OOM ETA, utilisation, temperature, per-process VRAM. */
import * as React from 'react';
import { levelColour } from '../../shared/alertLevels';
import type { GpuDevice, GpuSection, MetricsSnapshot } from '../../shared/api';
import { oomLevel, oomSummary } from '../../shared/dashboard';
import { bytesOfMiB, formatBytes, formatPercent, formatUsedOf, ratioPercent } from '../../shared/format';

const mib = (v: number | null): number | null => (v === null ? null : v * 1048576);
import type { IVramPoint } from '../tokens';
import { Bar, ChartBoundary, Ident, Row, Section } from './common';

const VramChart = React.lazy(() => import('./VramChart'));

const EMPTY: IVramPoint[] = [];

export function GpuSectionView(props: {
  gpu: GpuSection | undefined;
  history: Record<string, IVramPoint[]>;
  chartMinutes: number;
  warnPercent: number;
  /** The snapshot's alerts section: its `gpu.vram` levels colour the bar as the sidecar's VRAM alert fires. */
  alerts?: MetricsSnapshot['alerts'];
}): React.ReactElement {
  const { gpu } = props;
  if (!gpu || gpu.status !== 'ok') {
    const text = !gpu
      ? 'No GPU information yet: the GPU collector has not reported.'
      : gpu.status === 'pending'
        ? 'Checking for a GPU…'
        : `No GPU: ${gpu.reason ?? gpu.status}`;
    return (
      <Section title="GPU" className="jp-Vigilo-gpu">
        <p className="jp-Vigilo-reason jp-Vigilo-gpuReason">{text}</p>
      </Section>
    );
  }
  return (
    <Section title={gpu.devices.length > 1 ? `GPUs (${gpu.devices.length})` : 'GPU'} className="jp-Vigilo-gpu">
      {gpu.devices.length === 0 && <p className="jp-Vigilo-reason jp-Vigilo-gpuReason">No GPU device found.</p>}
      {gpu.devices.map(device => (
        <GpuCard
          key={device.uuid || device.index}
          device={device}
          points={props.history[device.uuid] ?? EMPTY}
          chartMinutes={props.chartMinutes}
          warnPercent={props.warnPercent}
          alerts={props.alerts}
          processesReason={gpu.processesReason ?? null}
        />
      ))}
    </Section>
  );
}

function GpuCard(props: {
  device: GpuDevice;
  points: IVramPoint[];
  chartMinutes: number;
  warnPercent: number;
  alerts?: MetricsSnapshot['alerts'];
  processesReason: string | null;
}): React.ReactElement {
  const d = props.device;
  const vram = ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB);
  const oom = d.oom;
  // One rule with the report: a time only when the predictor gives one, never on flat peaks.
  const summary = oomSummary(d);
  const warned = oom?.secondsToLimit !== null && oom?.secondsToLimit !== undefined;
  const torch = d.torch ?? null;
  const processes = [...(d.processes ?? [])].sort((a, b) => (b.usedMiB ?? 0) - (a.usedMiB ?? 0));
  return (
    <div className="jp-Vigilo-card jp-Vigilo-gpuCard" data-gpu={d.uuid}>
      <div className="jp-Vigilo-cardHeader">
        <span className="jp-Vigilo-gpuName">{d.name}</span>
        <span className="jp-Vigilo-muted">GPU {d.index}</span>
      </div>
      <Row
        label="VRAM"
        value={
          <>
            <span className="jp-Vigilo-vramUsed">{formatUsedOf(mib(d.memoryUsedMiB), mib(d.memoryTotalMiB))}</span> ·{' '}
            <span className="jp-Vigilo-vramPercent">{formatPercent(vram)}</span>
          </>
        }
      />
      <Bar percent={vram} label={`GPU ${d.index} memory used`} level={levelColour(vram, props.alerts, 'gpu.vram')} />
      {d.memoryTotalMiB !== null && props.points.length > 1 && (
        <ChartBoundary>
          <React.Suspense fallback={<div className="jp-Vigilo-chart jp-mod-loading" />}>
            <VramChart points={props.points} totalMiB={d.memoryTotalMiB} minutes={props.chartMinutes} warnPercent={props.warnPercent} />
          </React.Suspense>
        </ChartBoundary>
      )}
      <p
        className={`jp-Vigilo-oomEta ${warned ? `jp-mod-${oomLevel(d)}` : ''}`}
        title={oom ? `${oom.basis}; ${oom.samples} samples` : undefined}
      >
        {warned ? `${summary.text} · confidence ${Math.round((oom?.confidence ?? 0) * 100)}%` : `Out of memory: ${summary.text}`}
      </p>
      {torch && (
        <div className={`jp-Vigilo-torch jp-mod-${torch.kind === 'ok' || torch.kind === 'cache' ? 'ok' : 'warning'}`}>
          <Row label="PyTorch" value={`${formatBytes(torch.allocatedBytes)} allocated · ${formatBytes(torch.reservedBytes)} reserved`} title={`peak ${formatBytes(torch.maxAllocatedBytes)}`} />
          {torch.findings.map(f => (
            <p key={f} className="jp-Vigilo-small">
              {f}
            </p>
          ))}
          {torch.advice && <p className="jp-Vigilo-small jp-Vigilo-torchAdvice">{torch.advice}</p>}
        </div>
      )}
      <Row label="Utilisation" value={formatPercent(d.utilizationPercent)} valueClass="jp-Vigilo-gpuUtil" />
      <Row label="Temperature" value={d.temperatureC === null ? '—' : `${d.temperatureC.toFixed(0)} °C`} />
      {processes.length > 0 ? (
        <details className="jp-Vigilo-processes">
          <summary>
            {processes.length} process{processes.length === 1 ? '' : 'es'} on this GPU
          </summary>
          <ul>
            {processes.map(p => (
              <li key={p.pid} className="jp-Vigilo-process">
                <Ident text={p.processName} />
                <span className="jp-Vigilo-muted" title={p.kernelId ? `kernel ${p.kernelId}` : undefined}>
                  {p.kernelId ? 'a notebook kernel' : `pid ${p.pid}`}
                </span>
                <span>{formatBytes(bytesOfMiB(p.usedMiB))}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : (
        <p className="jp-Vigilo-muted jp-Vigilo-small">{props.processesReason ? `Processes: ${props.processesReason}` : 'No process uses this GPU.'}</p>
      )}
    </div>
  );
}
