/**
 * LLM spend beside the runtime: today and this week (with a chart by day and
 * the split by provider), this session's calls and tokens, unknown-model
 * warnings, and one health card per recent conversation.
 */
import * as React from 'react';
import { formatCount } from '../../shared/format';
import type { ChainLink } from '../../shared/transfer-api';
import { bucketText, costText, findBucket, isoWeekKey, PROVIDER_COLOURS, PROVIDER_ORDER, spendChartData, utcDayKey } from '../llmFormat';
import type { ILlmState } from '../tokens';
import { countRender } from '../renderStats';
import { ChartBoundary, Row, Section } from './common';
import { ConversationCard } from './ConversationCard';

const SpendChart = React.lazy(() => import('./SpendChart'));

const LLM_EMPTY_HINT = 'No LLM calls tracked yet — wrap your client: vigilo.wrap(OpenAI())';

/**
 * Memoised: props change only when the LLM figures do (or the UTC day turns),
 * so the 1 Hz snapshots never redraw this section or its chart.
 */
export const LlmSection = React.memo(function LlmSection(props: {
  llm: ILlmState;
  /** Start of the current UTC day, ms (today's and this week's buckets). */
  dayStartMs: number;
  onCopySummary: (id: string) => Promise<boolean>;
  onFreshStart: (id: string) => Promise<ChainLink | null>;
  onUpdatePrices: () => Promise<string>;
}): React.ReactElement {
  countRender('LlmSection');
  const { usage, cost, conversations, calls, status, error } = props.llm;
  const [pricing, setPricing] = React.useState<{ busy: boolean; message: string | null }>({ busy: false, message: null });
  const updatePrices = (): void => {
    setPricing({ busy: true, message: null });
    void props
      .onUpdatePrices()
      .then(message => setPricing({ busy: false, message }))
      .catch((e: unknown) => setPricing({ busy: false, message: e instanceof Error ? e.message : String(e) }));
  };
  // One object per /llm/cost answer (or UTC day): the memoised chart redraws only when it changes.
  const chart = React.useMemo(() => (cost ? spendChartData(cost.byDay, cost.byDayProvider, props.dayStartMs) : null), [cost, props.dayStartMs]);
  const latencies = React.useMemo(() => {
    const map = new Map<string, number[]>();
    // Calls come newest first; sparklines read oldest → newest.
    for (const call of [...calls].reverse()) {
      if (call.conversationId) {
        const list = map.get(call.conversationId) ?? [];
        list.push(call.latencyMs);
        map.set(call.conversationId, list);
      }
    }
    return map;
  }, [calls]);
  if (!usage || !cost) {
    return (
      <Section title="LLM" className="jp-Vigilo-llm">
        <p className="jp-Vigilo-reason jp-Vigilo-llmReason">{status === 'error' && error ? error : 'Loading LLM usage…'}</p>
      </Section>
    );
  }
  const empty = usage.calls === 0 && conversations.length === 0 && cost.byDay.length === 0;
  const warnings = [...new Set([...usage.warnings, ...cost.warnings].map(w => w.message))];
  const tokens = usage.tokens;
  return (
    <Section title="LLM" className="jp-Vigilo-llm">
      {status === 'error' && error && <p className="jp-Vigilo-reason jp-Vigilo-llmReason">{error} (figures below may be old)</p>}
      {empty ? (
        <p className="jp-Vigilo-reason jp-Vigilo-llmEmpty">{LLM_EMPTY_HINT}</p>
      ) : (
        <>
          <div className="jp-Vigilo-spend">
            <div className="jp-Vigilo-spendFigure">
              <span className="jp-Vigilo-label">Today (UTC)</span>
              <span className="jp-Vigilo-big jp-Vigilo-llmToday">{bucketText(findBucket(cost.byDay, utcDayKey(props.dayStartMs)))}</span>
            </div>
            <div className="jp-Vigilo-spendFigure">
              <span className="jp-Vigilo-label">This week</span>
              <span className="jp-Vigilo-big jp-Vigilo-llmWeek">{bucketText(findBucket(cost.byWeek, isoWeekKey(props.dayStartMs)))}</span>
            </div>
          </div>
          {chart && cost.byDay.length > 0 && (
            <ChartBoundary>
              <React.Suspense fallback={<div className="jp-Vigilo-chart jp-mod-loading" />}>
                <SpendChart data={chart} />
              </React.Suspense>
            </ChartBoundary>
          )}
          {cost.byProvider.length > 0 && (
            <p className="jp-Vigilo-small jp-Vigilo-byProvider" aria-label="Spend by provider, last 7 days">
              {[...cost.byProvider]
                .sort((a, b) => PROVIDER_ORDER.indexOf(a.key) - PROVIDER_ORDER.indexOf(b.key))
                .map(p => (
                  <span key={p.key} className="jp-Vigilo-legendItem" data-provider={p.key}>
                    {chart?.providers.includes(p.key) && <span className="jp-Vigilo-swatch" style={{ background: PROVIDER_COLOURS[p.key] }} />}
                    {p.key} {costText(p.costUsd, p.unpricedCalls)}
                  </span>
                ))}
              <span className="jp-Vigilo-legendItem">(7 days)</span>
            </p>
          )}
          <Row
            label="This session"
            value={
              <>
                <span className="jp-Vigilo-llmCalls">{usage.calls}</span> calls
                {usage.errors > 0 && <span className="jp-Vigilo-llmErrors"> ({usage.errors} failed)</span>} ·{' '}
                <span className="jp-Vigilo-llmCost">{costText(usage.costUsd, usage.unpricedCalls)}</span>
              </>
            }
            title={usage.costUsd === null ? undefined : `$${usage.costUsd}`}
          />
          <Row
            label="Tokens"
            valueClass="jp-Vigilo-llmTokens"
            value={`${formatCount(tokens.inputTokens)} in · ${formatCount(tokens.outputTokens)} out · ${formatCount(tokens.cachedInputTokens)} cached`}
            title="Input tokens include the cached ones"
          />
        </>
      )}
      {usage.lost && usage.lost.calls > 0 && (
        <div className="jp-Vigilo-warning jp-Vigilo-llmLost" role="alert" title={usage.lost.sources.map(s => s.message).join('\n')}>
          {usage.lost.summary}
        </div>
      )}
      {usage.untracked && usage.untracked.calls > 0 && (
        <div className="jp-Vigilo-warning jp-Vigilo-llmUntracked" role="alert">
          {usage.untracked.message} <code>{usage.untracked.fix}</code>
        </div>
      )}
      {warnings.map(message => (
        <div key={message} className="jp-Vigilo-warning jp-Vigilo-llmWarning" role="alert">
          {message}
        </div>
      ))}
      <div className="jp-Vigilo-buttons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-Vigilo-updatePrices"
          disabled={pricing.busy}
          onClick={updatePrices}
          title="Fetch the current LiteLLM price file and use it; on any failure the previous prices stay"
        >
          {pricing.busy ? 'Updating prices…' : 'Update prices'}
        </button>
      </div>
      {pricing.message && <p className="jp-Vigilo-small jp-Vigilo-pricesMessage">{pricing.message}</p>}
      {conversations.length > 0 && (
        <div className="jp-Vigilo-llmConversations">
          <h4 className="jp-Vigilo-subTitle">Conversations</h4>
          {conversations.map(c => (
            <ConversationCard key={c.conversationId} conversation={c} latencies={latencies.get(c.conversationId) ?? []} onCopySummary={props.onCopySummary} onFreshStart={props.onFreshStart} links={props.llm.links} />
          ))}
        </div>
      )}
    </Section>
  );
});
