/**
 * The report `%vigilo` shows in an output cell (Colab and Kaggle have no
 * JupyterLab extension, so this is their dashboard). Pure: status and
 * snapshot in, text or HTML out. Sections it does not know are skipped.
 */
import type { MetricsSnapshot, StatusResponse } from '../shared/api';
import { formatBytes, formatDuration, formatPercent } from '../shared/format';

export interface ReportRow {
  label: string;
  value: string;
  /** 'warn' / 'bad' rows are highlighted. */
  level?: 'ok' | 'warn' | 'bad';
}

export interface ReportSection {
  title: string;
  rows: ReportRow[];
}

export function reportSections(status: StatusResponse, snapshot: MetricsSnapshot): ReportSection[] {
  const sections: ReportSection[] = [];

  const runtime: ReportRow[] = [
    { label: 'Platform', value: `${status.platform.name} (${status.platform.evidence.join('; ')})` },
    { label: 'Sidecar', value: `v${status.version}, pid ${status.pid}, up ${formatDuration(status.uptimeS)}` }
  ];
  if (snapshot.session) {
    const session = snapshot.session;
    runtime.push({
      label: 'Session',
      value:
        session.remainingS === null
          ? `running for ${formatDuration(session.elapsedS)} (no lifetime limit on this platform)`
          : `${formatDuration(session.remainingS)} left of ${formatDuration(session.lifetimeS)} (running ${formatDuration(session.elapsedS)})`,
      level: levelBelow(session.remainingS, 30 * 60, 10 * 60)
    });
  }
  if (snapshot.idle && snapshot.idle.remainingS !== null) {
    runtime.push({
      label: 'Idle cut-off',
      value: `${formatDuration(snapshot.idle.remainingS)} left (idle ${formatDuration(snapshot.idle.idleS)}, last activity from ${snapshot.idle.source})`,
      level: levelBelow(snapshot.idle.remainingS, 15 * 60, 5 * 60)
    });
  }
  if (snapshot.quota && snapshot.quota.remainingS !== null) {
    runtime.push({
      label: 'GPU quota',
      value: `${formatDuration(snapshot.quota.remainingS)} left this week (${snapshot.quota.basis}; resets ${snapshot.quota.resetsAt})`,
      level: levelBelow(snapshot.quota.remainingS, 3 * 3600, 3600)
    });
  }
  sections.push({ title: 'Runtime', rows: runtime });

  if (snapshot.system) {
    const sys = snapshot.system;
    const memPct = sys.memory.totalBytes > 0 ? (100 * sys.memory.usedBytes) / sys.memory.totalBytes : null;
    const rows: ReportRow[] = [
      { label: 'CPU', value: `${formatPercent(sys.cpuPercent)} of ${sys.cores} cores, load ${sys.load.map(l => l.toFixed(2)).join(' ')}` },
      {
        label: 'Memory',
        value: `${formatBytes(sys.memory.usedBytes)} of ${formatBytes(sys.memory.totalBytes)} (${formatPercent(memPct)})`,
        level: levelAbove(memPct, 80, 90)
      }
    ];
    // The storage section (when present) reports disks with the platform's paths.
    for (const disk of snapshot.storage ? [] : sys.disks.slice(0, 4)) {
      const pct = disk.totalBytes > 0 ? (100 * disk.usedBytes) / disk.totalBytes : null;
      rows.push({
        label: `Disk ${disk.mount}`,
        value: `${formatBytes(disk.usedBytes)} of ${formatBytes(disk.totalBytes)} (${formatPercent(pct)})`,
        level: levelAbove(pct, 85, 95)
      });
    }
    sections.push({ title: 'System', rows });
  }

  if (snapshot.gpu) {
    const gpu = snapshot.gpu;
    const rows: ReportRow[] = [];
    if (gpu.status !== 'ok') {
      rows.push({ label: 'GPU', value: `${gpu.status}: ${gpu.reason ?? 'no reason given'}`, level: gpu.status === 'error' ? 'bad' : 'ok' });
    }
    for (const d of gpu.devices) {
      const oom = d.oom;
      const pct = d.memoryTotalMiB && d.memoryUsedMiB !== null ? (100 * d.memoryUsedMiB) / d.memoryTotalMiB : null;
      rows.push({
        label: `GPU ${d.index}`,
        value: `${d.name}: VRAM ${formatBytes((d.memoryUsedMiB ?? NaN) * 1048576)} of ${formatBytes((d.memoryTotalMiB ?? NaN) * 1048576)} (${formatPercent(pct)}), util ${formatPercent(d.utilizationPercent)}, ${d.temperatureC ?? '—'} °C`,
        level: levelAbove(pct, 85, 95)
      });
      if (oom && oom.secondsToLimit !== null) {
        rows.push({
          label: `GPU ${d.index} OOM`,
          value: `VRAM full in about ${formatDuration(oom.secondsToLimit)} (${oom.basis}, confidence ${Math.round(oom.confidence * 100)} %)`,
          level: levelBelow(oom.secondsToLimit, 15 * 60, 5 * 60)
        });
      }
    }
    sections.push({ title: 'GPU', rows });
  }
  if (snapshot.storage) {
    const storage = snapshot.storage;
    const rows: ReportRow[] = storage.disks.map(disk => ({
      label: `Disk ${disk.path}`,
      value: `${formatBytes(disk.usedBytes)} of ${formatBytes(disk.totalBytes)} (${formatPercent(disk.usedPercent)})`,
      level: levelAbove(disk.usedPercent, 85, 95)
    }));
    if (storage.output) {
      rows.push({
        label: 'Output folder',
        value: `${storage.output.path}: ${storage.output.truncated ? 'at least ' : ''}${formatBytes(storage.output.bytes)} of ${formatBytes(storage.output.limitBytes)} (${formatPercent(storage.output.usedPercent)})`,
        level: levelAbove(storage.output.usedPercent, 80, 95)
      });
    }
    if (status.platform.name === 'colab' || storage.drive.mounted) {
      rows.push({
        label: 'Google Drive',
        value: storage.drive.mounted ? `mounted at ${storage.drive.mountPoint}` : 'not mounted: nothing here survives the runtime',
        level: storage.drive.mounted ? 'ok' : 'warn'
      });
    }
    if (rows.length > 0) {
      sections.push({ title: 'Storage', rows });
    }
  }
  return sections;
}

/** Highlight a countdown that is running low. */
function levelBelow(value: number | null | undefined, warn: number, bad: number): ReportRow['level'] {
  if (value === null || value === undefined) {
    return 'ok';
  }
  return value <= bad ? 'bad' : value <= warn ? 'warn' : 'ok';
}

/** Highlight a usage figure that is getting high. */
function levelAbove(value: number | null | undefined, warn: number, bad: number): ReportRow['level'] {
  if (value === null || value === undefined) {
    return 'ok';
  }
  return value >= bad ? 'bad' : value >= warn ? 'warn' : 'ok';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function renderText(sections: ReportSection[]): string {
  const width = Math.max(...sections.flatMap(s => s.rows.map(r => r.label.length)), 8);
  return sections
    .map(section => {
      const rows = section.rows.map(r => `  ${r.level === 'bad' ? '!!' : r.level === 'warn' ? ' !' : '  '} ${r.label.padEnd(width)}  ${r.value}`);
      return [`Vigilo · ${section.title}`, ...rows].join('\n');
    })
    .join('\n');
}

export function renderHtml(sections: ReportSection[]): string {
  const colors = { ok: 'inherit', warn: '#b45f06', bad: '#c62828' };
  const body = sections
    .map(section => {
      const rows = section.rows
        .map(
          r =>
            `<tr><td style="padding:1px 12px 1px 0;opacity:.75">${escapeHtml(r.label)}</td><td style="color:${colors[r.level ?? 'ok']}">${escapeHtml(r.value)}</td></tr>`
        )
        .join('');
      return `<div style="margin:4px 0"><b>${escapeHtml(section.title)}</b><table style="border-collapse:collapse">${rows}</table></div>`;
    })
    .join('');
  return `<div class="vigilo-report" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px">${body}</div>`;
}
