import type { NotifyResponse } from '../../shared/notify-api';

/** GET /notify in a few lines, for `%vigilo notify` and `vigilo notify` (one wording for both). */
export function describeNotify(state: Omit<NotifyResponse, 'summary'>): string {
  const lines: string[] = [];
  if (state.channels.length === 0) {
    lines.push('No notification channel yet. Add one: %vigilo notify add ntfy://ntfy.sh/YOUR-TOPIC   (CLI: vigilo notify add URL; or set VIGILO_NOTIFY)');
  }
  for (const c of state.channels) {
    lines.push(`  ${c.id}  ${c.redacted}${c.label ? ` (${c.label})` : ''}${c.source === 'env' ? '  [VIGILO_NOTIFY]' : ''}`);
  }
  if (state.worker.reason) lines.push(`⚠ ${state.worker.reason}  Fix: ${state.worker.fix ?? ''}`.trimEnd());
  const on = state.rules.filter(r => r.enabled).map(r => r.id);
  const off = state.rules.filter(r => !r.enabled).map(r => r.id);
  lines.push(`On: ${on.join(', ') || 'nothing'}${off.length ? `; off: ${off.join(', ')}` : ''}`);
  const s = state.settings;
  lines.push(`Runtime marks: ${s.runtimeMarksMin.join(', ')} min · long cell: ${s.longCellMin} min · at most ${s.capPerHour} messages an hour per channel`);
  if (s.quietHours) lines.push(`Quiet hours: ${s.quietHours.start}–${s.quietHours.end} ${s.quietHours.timeZone}${s.quietHours.allowCritical ? ' (critical still sent)' : ''}`);
  for (const f of state.failures) lines.push(`✗ ${f.redacted} failing since ${f.at}: ${f.error}`);
  return lines.join('\n');
}
