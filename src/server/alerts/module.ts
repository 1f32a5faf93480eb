import { z } from 'zod';
import { ActiveAlertsResponse, AlertDismissBody, AlertSettingsBody, AlertSettingsResponse, AlertsResponse } from '../../shared/api';
import { intervalCollector } from '../core/collector';
import { ApiError } from '../core/errors';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';

const AlertsQuery = z
  .object({
    since: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    ruleId: z.string().max(200).optional()
  })
  .strict();

/**
 * GET /alerts (history), GET /alerts/active and POST /alerts/dismiss (current
 * state, also in the snapshot's `alerts` section), GET and POST
 * /settings/alerts over the engine on `ctx.alerts`.
 */
export function alertsModule(ctx: SidecarContext): SidecarModule {
  const settingsView = () => ({ rules: ctx.alerts.ruleViews(), file: ctx.alerts.settingsFile });
  // The effective levels ride along, so the panel's and the report's colours follow the user's thresholds (src/shared/alertLevels.ts).
  const publish = (): void => ctx.snapshot.update('alerts', { active: ctx.alerts.active(), levels: ctx.alerts.levels() });
  ctx.alerts.onActiveChange(publish);
  ctx.alerts.onLevelsChange(publish);
  publish();
  return {
    name: 'alerts',
    // One-shot events leave the current alerts after their time even when nothing else changes.
    collectors: [intervalCollector({ name: 'alerts-expiry', intervalMs: 60_000, sample: async () => ctx.alerts.expireEvents() })],
    routes: [
      jsonRoute({
        method: 'get',
        path: '/alerts/active',
        summary: 'The alerts that hold now: one per rule and device / conversation, updated in place with the latest value; cleared ones leave.',
        tags: ['alerts'],
        response: ActiveAlertsResponse,
        handler: () => ({ alerts: ctx.alerts.active() })
      }),
      jsonRoute({
        method: 'post',
        path: '/alerts/dismiss',
        summary: 'Hide one current alert (ruleId + key) until it crosses a more severe level or crosses again.',
        tags: ['alerts'],
        body: AlertDismissBody,
        response: ActiveAlertsResponse,
        errors: ['not_found'],
        handler: ({ body }) => {
          if (!ctx.alerts.dismiss(body.ruleId, body.key)) {
            throw new ApiError('not_found', `No current alert for rule ${body.ruleId} and key "${body.key}".`);
          }
          return { alerts: ctx.alerts.active() };
        }
      }),
      jsonRoute({
        method: 'get',
        path: '/alerts',
        summary: 'Alert history, newest first (threshold crossings and one-shot events such as GPU changes and kernel restarts).',
        tags: ['alerts'],
        query: AlertsQuery,
        response: AlertsResponse,
        handler: ({ query }) => ({ alerts: ctx.alerts.list({ since: query.since, limit: query.limit ?? 200, ruleId: query.ruleId }) })
      }),
      jsonRoute({
        method: 'get',
        path: '/settings/alerts',
        summary: 'Every alert rule with its effective thresholds, hysteresis and on/off state, and the settings file that overrides them.',
        tags: ['alerts'],
        response: AlertSettingsResponse,
        handler: settingsView
      }),
      jsonRoute({
        method: 'post',
        path: '/settings/alerts',
        summary: 'Override thresholds / hysteresis / enabled per rule id; merged into <dataDir>/alerts.json and applied at once.',
        tags: ['alerts'],
        body: AlertSettingsBody,
        response: AlertSettingsResponse,
        handler: ({ body }) => {
          ctx.alerts.updateSettings(body);
          return settingsView();
        }
      })
    ]
  };
}
