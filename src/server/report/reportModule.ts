import { z } from 'zod';
import { prometheusText } from '../../core/prometheus';
import { reportSections, renderHtml, renderText } from '../../core/report';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import type { StatusResponse } from '../../shared/api';

export const ReportResponse = z.object({
  /** For terminals and `text/plain` outputs. */
  text: z.string(),
  /** For notebook outputs (`text/html`); values are escaped. */
  html: z.string()
});

/**
 * GET /report: the dashboard `%vigilo` shows in an output cell, rendered here
 * so the Python glue only displays it. Both renderings in one answer: a
 * notebook output carries both MIME types. GET /metrics/prometheus: the same
 * snapshot for a Prometheus scraper.
 */
export function reportModule(ctx: SidecarContext, status: () => StatusResponse): SidecarModule {
  return {
    name: 'report',
    routes: [
      jsonRoute({
        method: 'get',
        path: '/report',
        summary: 'The current figures rendered for a notebook output cell, as text and as HTML.',
        tags: ['core'],
        response: ReportResponse,
        handler: () => {
          const sections = reportSections(status(), ctx.snapshot.current());
          return { text: renderText(sections), html: renderHtml(sections) };
        }
      }),
      {
        method: 'get',
        path: '/metrics/prometheus',
        summary: 'The current snapshot in Prometheus text exposition format (scrape with the bearer token).',
        tags: ['core'],
        contentType: 'text/plain; version=0.0.4',
        handler: (_req, res) => {
          res.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusText(ctx.snapshot.current()));
        }
      }
    ]
  };
}
