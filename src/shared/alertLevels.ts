/**
 * Default alert levels read by both the sidecar (its alert rules) and the panel
 * (the marks it draws when the sidecar sent none), so that the two cannot drift.
 * The user changes them live through POST /settings/alerts (Settings Editor).
 */
import type { z } from 'zod';
import type { AlertSeverity } from './api';

export interface IAlertLevel {
  value: number;
  severity: z.infer<typeof AlertSeverity>;
}

/** `session.remaining`, minutes before the runtime reaches its lifetime: a note at 60 and 30, warning at 10, critical at 5. */
export const SESSION_WARN_LEVELS: readonly IAlertLevel[] = [
  { value: 60, severity: 'info' },
  { value: 30, severity: 'info' },
  { value: 10, severity: 'warning' },
  { value: 5, severity: 'critical' }
];
