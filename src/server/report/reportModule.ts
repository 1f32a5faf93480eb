import { z } from 'zod';
import { renderBanner } from '../../core/notifyReport';
import { prometheusText } from '../../core/prometheus';
import { buildReport, renderHtml, renderText, type ReportLlm, type ReportVramPoint } from '../../core/report';
import type { GpuHistoryResponse, StatusResponse } from '../../shared/api';
import type { CheckpointsResponse } from '../../shared/checkpoint-api';
import { utcDayKey, isoWeekKey } from '../../shared/costBuckets';
import type { ConversationHealth, LlmCostResponse, LlmUsageResponse } from '../../shared/llm-api';
import type { SidecarContext } from '../core/context';
import type { SidecarModule } from '../core/module';
import { isRawRoute, jsonRoute, type JsonRoute } from '../core/route';

export const ReportResponse = z.object({
  /** For terminals and `text/plain` outputs. */
  text: z.string(),
  /** For notebook outputs (`text/html`); values are escaped. */
  html: z.string()
});

/** VRAM samples per GPU the report's chart shows (10 minutes at 1 Hz). */
const REPORT_VRAM_POINTS = 600;

export interface ReportModuleOptions {
  /**
   * The sidecar's other modules: the report reads their GET routes in process
   * (/gpu/history, /llm/cost, /llm/conversations, /checkpoints), so it shows the very
   * figures the API serves, and says nothing when a capability is absent.
   */
  siblings?: () => SidecarModule[];
}

/**
 * GET /report: the dashboard `%vigilo` shows in an output cell, rendered here
 * so the Python glue only displays it. Both renderings in one answer: a
 * notebook output carries both MIME types. GET /metrics/prometheus: the same
 * snapshot for a Prometheus scraper.
 */
export function reportModule(ctx: SidecarContext, status: () => StatusResponse, options: ReportModuleOptions = {}): SidecarModule {
  /** A sibling's GET route answered in process; undefined when no module serves it. */
  async function read<T>(path: string, query: Record<string, string> = {}): Promise<T | undefined> {
    for (const module of options.siblings?.() ?? []) {
      for (const route of module.routes ?? []) {
        if (isRawRoute(route) || route.method !== 'get' || route.path !== path) {
          continue;
        }
        const json = route as JsonRoute<unknown, unknown, unknown>;
        const parsed = json.query ? json.query.parse(query) : query;
        return (await json.handler({ body: undefined, query: parsed, params: {}, req: undefined as never })) as T;
      }
    }
    return undefined;
  }

  async function llmFigures(nowMs: number): Promise<ReportLlm | null> {
    const cost = await read<LlmCostResponse>('/llm/cost', { days: '7' });
    if (!cost) {
      return null;
    }
    const conversations = (await read<{ conversations: ConversationHealth[] }>('/llm/conversations'))?.conversations ?? [];
    const today = cost.byDay.find(b => b.key === utcDayKey(nowMs));
    const week = cost.byWeek.find(b => b.key === isoWeekKey(nowMs));
    // Calls the clients lost are said even when none reached the sidecar.
    const lost = (await read<LlmUsageResponse>('/llm/usage'))?.lost ?? null;
    if (!today && !week && conversations.length === 0 && !lost) {
      return null;
    }
    const worst = [...conversations].sort((a, b) => a.score - b.score)[0] ?? null;
    return {
      todayUsd: today ? today.costUsd : 0,
      weekUsd: week ? week.costUsd : 0,
      unpricedToday: today?.unpricedCalls ?? 0,
      callsToday: today?.calls ?? 0,
      worst,
      lost: lost ? { calls: lost.calls, summary: lost.summary } : null
    };
  }

  /** The last VRAM samples per GPU, from the GPU module's own ring (GET /gpu/history). */
  async function vramHistory(): Promise<Record<string, ReportVramPoint[]>> {
    const history = await read<GpuHistoryResponse>('/gpu/history', { limit: String(REPORT_VRAM_POINTS) });
    return Object.fromEntries((history?.gpus ?? []).map(g => [g.uuid, g.samples.map(p => ({ t: Date.parse(p.t), usedMiB: p.usedMiB }))]));
  }

  async function checkpoints(): Promise<CheckpointsResponse['status'] | null> {
    try {
      return (await read<CheckpointsResponse>('/checkpoints'))?.status ?? null;
    } catch (error) {
      ctx.log(`report: could not read checkpoints: ${String(error)}`);
      return null;
    }
  }

  return {
    name: 'report',
    routes: [
      jsonRoute({
        method: 'get',
        path: '/report',
        summary: 'The current figures rendered for a notebook output cell, as text and as HTML.',
        tags: ['core'],
        response: ReportResponse,
        handler: async () => {
          const snapshot = ctx.snapshot.current();
          let llm: ReportLlm | null = null;
          try {
            llm = await llmFigures(Date.parse(snapshot.takenAt));
          } catch (error) {
            ctx.log(`report: could not read LLM figures: ${String(error)}`);
          }
          const report = buildReport({
            status: status(),
            snapshot,
            vramHistory: await vramHistory(),
            llm,
            checkpoints: options.siblings ? await checkpoints() : undefined
          });
          // Critical alerts and failed notifications on top: on Colab and Kaggle this output is the only screen.
          const banner = renderBanner(ctx.alerts.active());
          // "All clear" under a red banner would contradict it: the banner is the verdict then.
          if (banner.text && report.verdict.level === 'ok') report.verdict.text = '';
          return { text: banner.text + renderText(report), html: banner.html + renderHtml(report) };
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
