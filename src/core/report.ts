/**
 * The dashboard `%vigilo` shows in an output cell (Colab and Kaggle have no
 * JupyterLab extension, so this is their panel). Pure: facts in, text or HTML
 * out. It says what the panel says, from the same rules (src/shared/dashboard.ts)
 * and formats (src/shared/format.ts): the verdict, the countdowns, the GPUs
 * with a VRAM bar, a small inline-SVG chart and the OOM ETA, storage and
 * Drive, checkpoints, LLM spend and the worst conversation.
 *
 * The HTML is one block of fixed-layout tables (the same label column in
 * every section) with inline styles only: no script, no external resource,
 * colours that read on light and dark output areas (mid-tone fills on a
 * translucent grey track, text in the output area's own colour).
 */
import type { MetricsSnapshot, PlatformName, StatusResponse } from '../shared/api';
import { acceleratorLine, effectiveIdleCutoffS, runtimeNotes } from '../shared/runtimeFacts';
import type { CheckpointStatus } from '../shared/checkpoint-api';
import { levelColour } from '../shared/alertLevels';
import { countdownBar, countdowns, disks, oomLevel, oomSummary, outputText, verdict, type Level } from '../shared/dashboard';
import {
  bytesOfMiB,
  formatApproxDuration,
  formatBytes,
  formatClock,
  formatDuration,
  formatMoney,
  formatPercent,
  ratioPercent,
  type IClockOptions
} from '../shared/format';
import type { ConversationHealth } from '../shared/llm-api';

export interface ReportVramPoint {
  t: number;
  usedMiB: number;
}

/** LLM figures for the report (from the sidecar's own /llm routes). */
export interface ReportLlm {
  todayUsd: number | null;
  weekUsd: number | null;
  unpricedToday: number;
  callsToday: number;
  /** The conversation with the lowest health score, if any. */
  worst: ConversationHealth | null;
  /** Calls the clients dropped before the sidecar stored them (GET /llm/usage `lost`); null or absent when none. */
  lost?: { calls: number; summary: string } | null;
}

export interface ReportInput {
  status: StatusResponse;
  snapshot: MetricsSnapshot;
  /** Recent VRAM per GPU uuid, oldest first. */
  vramHistory?: Record<string, ReportVramPoint[]>;
  llm?: ReportLlm | null;
  /** null: this sidecar has no checkpoint capability. */
  checkpoints?: CheckpointStatus | null;
  clock?: IClockOptions;
}

export type ReportLevel = 'ok' | 'warn' | 'bad';

export interface ReportRow {
  label: string;
  value: string;
  /** 'warn' / 'bad' rows are highlighted. */
  level?: ReportLevel;
  /** A bar under the value: percent filled, warning marks (0–100). */
  bar?: { percent: number | null; marks?: number[] };
  /** A small line chart (VRAM over time), values against a fixed maximum. */
  chart?: { values: number[]; max: number; caption: string };
}

export interface ReportSection {
  title: string;
  rows: ReportRow[];
}

export interface Report {
  verdict: { text: string; level: ReportLevel };
  sections: ReportSection[];
}

const LEVEL: Record<Level, ReportLevel> = { ok: 'ok', warning: 'warn', critical: 'bad' };

export function buildReport(input: ReportInput): Report {
  const { status, snapshot } = input;
  const clock = input.clock ?? {};
  const platform: PlatformName = snapshot.platform?.name ?? status.platform.name;
  const v = verdict(snapshot, platform, clock);
  const sections: ReportSection[] = [];

  // Runtime: the platform, then each countdown that applies here.
  const runtime: ReportRow[] = [{ label: 'Platform', value: `${platform}${acceleratorText(snapshot, status)}` }];
  for (const n of runtimeNotes(snapshot.platform ?? status.platform, effectiveIdleCutoffS(snapshot))) {
    runtime.push({ label: n.label, value: n.ask ? `${n.value} — say yours: ${n.ask}` : n.value, level: n.ask ? 'warn' : undefined });
  }
  for (const c of countdowns(snapshot, platform, clock)) {
    if (c.remainingS === null) {
      runtime.push({ label: c.label, value: `unknown: ${c.unknownReason}` });
      continue;
    }
    const ends = c.endsAt && c.id !== 'quota' ? ` (${c.id === 'session' ? 'ends' : 'at'} ${formatClock(c.endsAt, clock)})` : '';
    runtime.push({
      label: c.label,
      value: `${formatDuration(c.remainingS)} left${ends}${c.detail ? ` · ${c.detail}` : ''}`,
      level: LEVEL[c.level],
      bar: countdownBar(c) ?? undefined
    });
  }
  if (platform === 'local' && runtime.length === 1) {
    runtime.push({ label: 'Time limit', value: 'none: a local runtime has no lifetime, idle cut-off or quota' });
  }
  if (snapshot.progress?.verdict) {
    const p = snapshot.progress;
    runtime.push({
      label: 'Will it finish?',
      value: p.verdict!.text,
      level: p.verdict!.kind === 'runs-out' || p.verdict!.kind === 'stalled' ? 'bad' : 'ok',
      bar: p.main?.fraction !== null && p.main?.fraction !== undefined ? { percent: p.main.fraction * 100 } : undefined
    });
  }
  runtime.push({ label: 'Sidecar', value: `v${status.version}, pid ${status.pid}, up ${formatDuration(status.uptimeS)}` });
  sections.push({ title: 'Runtime', rows: runtime });

  // GPUs.
  const gpu = snapshot.gpu;
  if (gpu) {
    const rows: ReportRow[] = [];
    if (gpu.status !== 'ok') {
      rows.push({ label: 'GPU', value: `${gpu.status}: ${gpu.reason ?? 'no reason given'}`, level: gpu.status === 'error' ? 'bad' : 'ok' });
    }
    for (const d of gpu.devices) {
      const pct = ratioPercent(d.memoryUsedMiB, d.memoryTotalMiB);
      const history = input.vramHistory?.[d.uuid] ?? [];
      rows.push({
        label: `GPU ${d.index}`,
        value: `${d.name} · VRAM ${formatBytes(bytesOfMiB(d.memoryUsedMiB))} of ${formatBytes(bytesOfMiB(d.memoryTotalMiB))} (${formatPercent(pct)}) · util ${formatPercent(d.utilizationPercent)} · ${d.temperatureC === null ? '—' : `${d.temperatureC.toFixed(0)} °C`}`,
        level: LEVEL[levelColour(pct, snapshot.alerts, 'gpu.vram')],
        bar: { percent: pct },
        chart:
          history.length > 1 && d.memoryTotalMiB
            ? { values: history.map(p => p.usedMiB), max: d.memoryTotalMiB, caption: `VRAM, last ${formatApproxDuration((history[history.length - 1].t - history[0].t) / 1000)}` }
            : undefined
      });
      const oom = oomSummary(d);
      rows.push({
        label: 'Out of memory',
        value: oom.shownS !== null && !oom.tentative ? `${oom.text} (confidence ${Math.round((d.oom?.confidence ?? 0) * 100)}%)` : oom.text,
        level: LEVEL[oomLevel(d) ?? 'ok']
      });
      if (d.torch) {
        rows.push({
          label: 'PyTorch',
          value: `${d.torch.findings[0]}${d.torch.advice ? ` — ${d.torch.advice}` : ''}`,
          level: d.torch.kind === 'oom' || d.torch.kind === 'leak' ? 'bad' : d.torch.kind === 'fragmentation' ? 'warn' : 'ok'
        });
      }
    }
    sections.push({ title: 'GPU', rows });
  }

  // Memory, then storage with the platform's paths.
  const storageRows: ReportRow[] = [];
  if (snapshot.system) {
    const sys = snapshot.system;
    const memPct = ratioPercent(sys.memory.usedBytes, sys.memory.totalBytes);
    storageRows.push({
      label: 'Memory',
      value: `${formatBytes(sys.memory.usedBytes)} of ${formatBytes(sys.memory.totalBytes)} (${formatPercent(memPct)}) · CPU ${formatPercent(sys.cpuPercent)} of ${sys.cores} cores`,
      level: LEVEL[levelColour(memPct, snapshot.alerts, 'system.memory')],
      bar: { percent: memPct }
    });
  }
  const storage = snapshot.storage;
  for (const d of disks(snapshot)) {
    storageRows.push({
      label: `Disk ${d.path}`,
      value: `${formatBytes(d.usedBytes)} of ${formatBytes(d.totalBytes)} (${formatPercent(d.usedPercent)})`,
      level: LEVEL[levelColour(d.usedPercent, snapshot.alerts, 'storage.disk')],
      bar: { percent: d.usedPercent }
    });
  }
  if (storage?.output) {
    const o = storage.output;
    storageRows.push({
      label: 'Output folder',
      value: `${o.path}: ${outputText(o)}`,
      level: LEVEL[levelColour(o.usedPercent, snapshot.alerts, 'storage.output')],
      bar: { percent: o.usedPercent }
    });
  }
  if (storage && (platform === 'colab' || storage.drive.mounted)) {
    storageRows.push({
      label: 'Google Drive',
      value: storage.drive.mounted
        ? `mounted at ${storage.drive.mountPoint}`
        : "not mounted — checkpoints have nowhere durable to go. Mount it: from google.colab import drive; drive.mount('/content/drive')",
      level: storage.drive.mounted ? 'ok' : 'warn'
    });
  }
  if (storageRows.length > 0) {
    sections.push({ title: 'Memory and storage', rows: storageRows });
  }

  // Checkpoints.
  if (input.checkpoints !== undefined) {
    const c = input.checkpoints;
    const rows: ReportRow[] = [];
    if (c === null) {
      rows.push({ label: 'Checkpoints', value: 'not available in this sidecar yet' });
    } else {
      const last = c.lastVerified;
      rows.push({
        label: 'Last checkpoint',
        value: last ? `${formatApproxDuration(c.lastAgeS)} ago (${formatClock(last.time, clock)}) · ${last.verified ? 'verified' : 'not verified'} · ${last.path}` : 'none yet',
        level: last ? 'ok' : 'warn'
      });
      rows.push({ label: 'Destination', value: c.destination.fix ? `${c.destination.reason} — ${c.destination.fix}` : c.destination.reason, level: c.destination.durable ? 'ok' : 'warn' });
      rows.push({ label: 'Automatic', value: `${c.auto ? 'on' : 'off'} · next: ${c.nextDue.reason}` });
      if (c.saving) {
        rows.push({ label: 'Saving', value: c.saving.phase, bar: { percent: ratioPercent(c.saving.bytesDone, c.saving.bytesTotal) } });
      }
      if (c.lastError) {
        rows.push({ label: 'Last failure', value: `${c.lastError.message} ${c.lastError.fix}`, level: 'bad' });
      }
    }
    sections.push({ title: 'Checkpoints', rows });
  }

  // LLM spend and the conversation that needs attention most.
  if (input.llm) {
    const l = input.llm;
    const rows: ReportRow[] = [
      { label: 'Spend today (UTC)', value: `${formatMoney(l.todayUsd)}${l.unpricedToday ? ` + ${l.unpricedToday} unpriced calls` : ''} · ${l.callsToday} calls` },
      { label: 'This week', value: formatMoney(l.weekUsd) }
    ];
    if (l.worst) {
      const w = l.worst;
      rows.push({
        label: 'Worst conversation',
        value: `${w.conversationId} (${w.model ?? 'unknown model'}): ${w.score}/100 ${w.status} · context ${formatPercent(w.context.percent)} · ${w.context.messagesLeft === null ? 'messages left unknown' : `about ${w.context.messagesLeft} messages left`}${w.recommendations[0] ? ` · ${w.recommendations[0]}` : ''}`,
        level: w.status === 'degrading' ? 'bad' : w.status === 'watch' ? 'warn' : 'ok',
        bar: { percent: w.context.percent }
      });
    }
    if (l.lost && l.lost.calls > 0) {
      rows.push({ label: 'Calls lost', value: l.lost.summary, level: 'bad' });
    }
    sections.push({ title: 'LLM', rows });
  }

  return { verdict: { text: v.text, level: LEVEL[v.level] }, sections };
}

function acceleratorText(snapshot: MetricsSnapshot, status: StatusResponse): string {
  const a = snapshot.platform?.accelerator ?? status.platform.accelerator;
  if (!a || a.kind === 'unknown') {
    return '';
  }
  return a.kind === 'none' ? ' · no accelerator' : ` · ${acceleratorLine(a)}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function textBar(percent: number | null, width = 20): string {
  const p = Math.max(0, Math.min(100, percent ?? 0));
  const filled = Math.round((p / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function renderText(report: Report): string {
  const width = Math.max(...report.sections.flatMap(s => s.rows.map(r => r.label.length)), 8);
  const mark = (l: ReportLevel | undefined): string => (l === 'bad' ? '!!' : l === 'warn' ? ' !' : '  ');
  const lines: string[] = [];
  if (report.verdict.text) {
    lines.push(`${mark(report.verdict.level)} ${report.verdict.text}`, '');
  }
  for (const section of report.sections) {
    lines.push(`Vigilo · ${section.title}`);
    for (const r of section.rows) {
      lines.push(`  ${mark(r.level)} ${r.label.padEnd(width)}  ${r.value}`);
      if (r.bar) {
        lines.push(`     ${' '.repeat(width)}  ${textBar(r.bar.percent)}`);
      }
    }
  }
  return lines.join('\n');
}

/** Mid-tones that read on white and on near-black output areas. */
const COLORS: Record<ReportLevel, string> = { ok: '#3a9a5b', warn: '#d48806', bad: '#d9363e' };
const TRACK = 'rgba(128,128,128,0.28)';
const ACCENT = '#4a86d6';

function htmlBar(bar: NonNullable<ReportRow['bar']>, level: ReportLevel): string {
  const p = Math.max(0, Math.min(100, bar.percent ?? 0));
  const fill = level === 'ok' ? ACCENT : COLORS[level];
  const marks = (bar.marks ?? [])
    .map(m => `<span style="position:absolute;top:0;bottom:0;left:${m.toFixed(1)}%;width:1px;background:currentColor;opacity:.55"></span>`)
    .join('');
  return `<div class="vigilo-live" style="position:relative;height:7px;margin:3px 0 1px;border-radius:4px;background:${TRACK};overflow:hidden;max-width:420px"><div style="width:${p.toFixed(1)}%;height:100%;background:${fill}"></div>${marks}</div>`;
}

function htmlChart(chart: NonNullable<ReportRow['chart']>): string {
  const w = 240;
  const h = 40;
  const values = chart.values.length > 120 ? chart.values.filter((_, i, a) => i % Math.ceil(a.length / 120) === 0 || i === a.length - 1) : chart.values;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - (Math.min(v, chart.max) / chart.max) * h).toFixed(1)}`);
  const area = `0,${h} ${points.join(' ')} ${w},${h}`;
  return (
    `<div class="vigilo-live" style="margin-top:3px"><svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(chart.caption)}" style="display:block;background:${TRACK.replace('0.28', '0.1')};border-radius:3px">` +
    `<polygon points="${area}" fill="${ACCENT}" fill-opacity="0.25"/><polyline points="${points.join(' ')}" fill="none" stroke="${ACCENT}" stroke-width="1.5"/></svg>` +
    `<div style="font-size:11px;opacity:.7">${escapeHtml(chart.caption)}</div></div>`
  );
}

export function renderHtml(report: Report): string {
  const verdict = report.verdict.text
    ? `<div class="vigilo-verdict" style="margin:2px 0 10px;padding:7px 10px;border-left:4px solid ${COLORS[report.verdict.level]};background:${TRACK.replace('0.28', '0.12')};border-radius:3px;font-size:15px;font-weight:600;${report.verdict.level === 'ok' ? '' : `color:${COLORS[report.verdict.level]}`}"><span class="vigilo-live">${escapeHtml(report.verdict.text)}</span></div>`
    : '';
  const sections = report.sections
    .map(section => {
      const rows = section.rows
        .map(r => {
          const level = r.level ?? 'ok';
          const color = level === 'ok' ? '' : `color:${COLORS[level]};`;
          return (
            `<tr style="background:transparent;border:none"><td style="width:140px;text-align:left;border:none;padding:3px 12px 3px 0;vertical-align:top;opacity:.72;white-space:nowrap;overflow:hidden;text-overflow:ellipsis">${escapeHtml(r.label)}</td>` +
            `<td style="text-align:left;border:none;padding:3px 0;vertical-align:top;${color}overflow-wrap:anywhere"><span class="vigilo-live">${escapeHtml(r.value)}</span>` +
            `${r.bar ? htmlBar(r.bar, level) : ''}${r.chart ? htmlChart(r.chart) : ''}</td></tr>`
          );
        })
        .join('');
      return (
        `<div style="margin:0 0 8px"><div style="font-size:11px;font-weight:600;letter-spacing:.06em;text-transform:uppercase;opacity:.65;border-bottom:1px solid ${TRACK};padding-bottom:2px;margin-bottom:2px">${escapeHtml(section.title)}</div>` +
        `<table style="border-collapse:collapse;table-layout:fixed;width:100%;max-width:680px;background:transparent;color:inherit">${rows}</table></div>`
      );
    })
    .join('');
  return `<div class="vigilo-report" style="font-family:var(--jp-ui-font-family,-apple-system,'Segoe UI',Roboto,sans-serif);font-size:13px;line-height:1.45;color:inherit;max-width:700px">${verdict}${sections}</div>`;
}
