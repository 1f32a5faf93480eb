/**
 * The report `%vigilo` shows in an output cell (Colab and Kaggle have no
 * JupyterLab extension, so this is their dashboard). Pure: status and
 * snapshot in, text or HTML out. Sections it does not know are skipped.
 */
import type { MetricsSnapshot, StatusResponse } from '../shared/api';
import { formatBytes, formatDuration, formatPercent } from './format';

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

type Loose = Record<string, any>;

export function reportSections(status: StatusResponse, snapshot: MetricsSnapshot): ReportSection[] {
  const sections: ReportSection[] = [];
  const s = snapshot as Loose;

  sections.push({
    title: 'Runtime',
    rows: [
      { label: 'Platform', value: `${status.platform.name} (${status.platform.evidence.join('; ')})` },
      { label: 'Sidecar', value: `v${status.version}, pid ${status.pid}, up ${formatDuration(status.uptimeS)}` }
    ]
  });

  if (s.system) {
    const sys = s.system as NonNullable<MetricsSnapshot['system']>;
    const memPct = sys.memory.totalBytes > 0 ? (100 * sys.memory.usedBytes) / sys.memory.totalBytes : null;
    const rows: ReportRow[] = [
      { label: 'CPU', value: `${formatPercent(sys.cpuPercent)} of ${sys.cores} cores, load ${sys.load.map(l => l.toFixed(2)).join(' ')}` },
      {
        label: 'Memory',
        value: `${formatBytes(sys.memory.usedBytes)} of ${formatBytes(sys.memory.totalBytes)} (${formatPercent(memPct)})`,
        level: memPct !== null && memPct >= 90 ? 'bad' : memPct !== null && memPct >= 80 ? 'warn' : 'ok'
      }
    ];
    for (const disk of sys.disks.slice(0, 4)) {
      const pct = disk.totalBytes > 0 ? (100 * disk.usedBytes) / disk.totalBytes : null;
      rows.push({
        label: `Disk ${disk.mount}`,
        value: `${formatBytes(disk.usedBytes)} of ${formatBytes(disk.totalBytes)} (${formatPercent(pct)})`,
        level: pct !== null && pct >= 95 ? 'bad' : pct !== null && pct >= 85 ? 'warn' : 'ok'
      });
    }
    sections.push({ title: 'System', rows });
  }

  if (s.gpu) {
    const gpu = s.gpu as NonNullable<MetricsSnapshot['gpu']>;
    const rows: ReportRow[] = [];
    if (gpu.status !== 'ok') {
      rows.push({ label: 'GPU', value: `${gpu.status}: ${gpu.reason ?? 'no reason given'}`, level: gpu.status === 'error' ? 'bad' : 'ok' });
    }
    for (const d of gpu.devices) {
      const pct = d.memoryTotalMiB && d.memoryUsedMiB !== null ? (100 * d.memoryUsedMiB) / d.memoryTotalMiB : null;
      rows.push({
        label: `GPU ${d.index}`,
        value: `${d.name}: VRAM ${formatBytes((d.memoryUsedMiB ?? NaN) * 1048576)} of ${formatBytes((d.memoryTotalMiB ?? NaN) * 1048576)} (${formatPercent(pct)}), util ${formatPercent(d.utilizationPercent)}, ${d.temperatureC ?? '—'} °C`,
        level: pct !== null && pct >= 95 ? 'bad' : pct !== null && pct >= 85 ? 'warn' : 'ok'
      });
    }
    sections.push({ title: 'GPU', rows });
  }
  return sections;
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
