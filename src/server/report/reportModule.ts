import { z } from 'zod';
import { reportSections, renderHtml, renderText } from '../../core/report';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import type { StatusResponse } from '../../shared/api';

export const ReportQuery = z.object({ format: z.enum(['text', 'html']).default('text') });

/** GET /report: the dashboard `%vigilo` shows in an output cell, rendered here so the Python glue only displays it. */
export function reportModule(ctx: SidecarContext, status: () => StatusResponse): SidecarModule {
  return {
    name: 'report',
    routes: [
      jsonRoute({
        method: 'get',
        path: '/report',
        summary: 'The current figures rendered for a notebook output cell (text or HTML).',
        tags: ['core'],
        query: ReportQuery,
        response: z.object({ format: z.enum(['text', 'html']), report: z.string() }),
        handler: ({ query }) => {
          const sections = reportSections(status(), ctx.snapshot.current());
          return { format: query.format, report: query.format === 'html' ? renderHtml(sections) : renderText(sections) };
        }
      })
    ]
  };
}
