import { z } from 'zod';
import { AlertSettingsBody, AlertSettingsResponse, AlertsResponse } from '../../shared/api';
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

/** GET /alerts, GET and POST /settings/alerts over the engine on `ctx.alerts`. */
export function alertsModule(ctx: SidecarContext): SidecarModule {
  const settingsView = () => ({ rules: ctx.alerts.ruleViews(), file: ctx.alerts.settingsFile });
  return {
    name: 'alerts',
    routes: [
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
