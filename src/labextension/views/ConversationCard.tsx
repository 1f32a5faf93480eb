/** One conversation's health: score with its status word, context bar, messages left, latency sparkline, cost per message, advice, "Copy summary" and "Fresh start". */
import * as React from 'react';
import { formatMoney, formatPercent } from '../../shared/format';
import type { ConversationHealth } from '../../shared/llm-api';
import type { ChainLink } from '../../shared/transfer-api';
import { savingText } from '../freshStart';
import { Bar, Ident, Row, Sparkline } from './common';

const STATUS_WORDS: Record<ConversationHealth['status'], string> = { healthy: 'healthy', watch: 'watch', degrading: 'degrading' };

function messagesLeftText(left: number | null): string {
  if (left === null) {
    return 'messages left unknown';
  }
  if (left < 1) {
    return 'context nearly full: start a new conversation';
  }
  return `about ${left} message${left === 1 ? '' : 's'} left`;
}

export function ConversationCard(props: {
  conversation: ConversationHealth;
  latencies: number[];
  onCopySummary: (id: string) => Promise<boolean>;
  onFreshStart: (id: string) => Promise<ChainLink | null>;
  /** Every successor link the sidecar knows (GET /llm/chains); the card shows the ones naming it. */
  links: ChainLink[];
}): React.ReactElement {
  const c = props.conversation;
  const [copying, setCopying] = React.useState(false);
  const [starting, setStarting] = React.useState(false);
  const [successor, setSuccessor] = React.useState<ChainLink | null>(null);
  const copy = (): void => {
    setCopying(true);
    void props.onCopySummary(c.conversationId).finally(() => setCopying(false));
  };
  const freshStart = (): void => {
    setStarting(true);
    void props
      .onFreshStart(c.conversationId)
      .then(link => link && setSuccessor(link))
      .finally(() => setStarting(false));
  };
  // The chain: the conversation this one continues, and the one that continues it (just made here, or known to the sidecar).
  const previous = props.links.find(l => l.successorId === c.conversationId) ?? null;
  const next = successor ?? props.links.find(l => l.conversationId === c.conversationId) ?? null;
  const perMessage = c.costUsd !== null && c.calls > 0 ? c.costUsd / c.calls : null;
  const lastLatency = props.latencies.length ? props.latencies[props.latencies.length - 1] : null;
  const level = c.status === 'degrading' ? 'critical' : c.status === 'watch' ? 'warning' : 'ok';
  return (
    <div className={`jp-Vigilo-card jp-Vigilo-llmCard jp-Vigilo-llmCard-${c.status}`} data-conversation={c.conversationId}>
      <div className="jp-Vigilo-cardHeader">
        <Ident text={c.conversationId} className="jp-Vigilo-llmConversation" />
        <span className={`jp-Vigilo-score jp-Vigilo-score-${c.status}`} title="Health score (100 = fresh conversation)">
          {c.score}/100
        </span>
        <span className={`jp-Vigilo-statusWord jp-mod-${level}`}>{STATUS_WORDS[c.status]}</span>
      </div>
      <p className="jp-Vigilo-llmModel" title={c.provider}>
        <Ident text={c.model ?? 'unknown model'} /> · {c.calls} call{c.calls === 1 ? '' : 's'} · {formatMoney(c.costUsd)}
      </p>
      <Row label="Context used" value={formatPercent(c.context.percent)} valueClass="jp-Vigilo-llmContextPercent" />
      <Bar percent={c.context.percent} label={`Context used by ${c.conversationId}`} />
      <p className="jp-Vigilo-llmContext" title={c.context.text}>
        {messagesLeftText(c.context.messagesLeft)}
      </p>
      <Row
        label="Latency"
        value={
          <>
            <Sparkline values={props.latencies} label={`Latency of each call in ${c.conversationId}`} />{' '}
            <span className="jp-Vigilo-llmLatency">{lastLatency === null ? '—' : `${(lastLatency / 1000).toFixed(1)} s`}</span>
          </>
        }
        title={c.latency.rising ? 'Latency is rising with each message' : 'Latency of each call, oldest to newest'}
      />
      <Row label="Per message" value={perMessage === null ? 'unknown' : formatMoney(perMessage)} valueClass="jp-Vigilo-llmPerMessage" />
      {c.reasons.length > 0 && (
        <ul className="jp-Vigilo-llmReasons">
          {c.reasons.map(reason => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      {c.recommendations.map(text => (
        <p key={text} className="jp-Vigilo-llmRecommendation">
          {text}
        </p>
      ))}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-Vigilo-copySummary"
        disabled={copying}
        onClick={copy}
        title={
          c.summaryAvailable
            ? 'Copy a summary of this conversation, ready to paste as the system message of a fresh one'
            : 'Message content was not captured: the summary will say so'
        }
      >
        {copying ? 'Copying…' : 'Copy summary'}
      </button>{' '}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-Vigilo-freshStart"
        disabled={starting || !c.summaryAvailable}
        onClick={freshStart}
        title={
          c.summaryAvailable
            ? 'Copy the messages that open a new conversation (this summary as system message, then the last turns), linked to this one as its successor'
            : 'Message content was not captured: there is nothing to carry over'
        }
      >
        {starting ? 'Preparing…' : 'Fresh start'}
      </button>
      {previous && (
        <p className="jp-Vigilo-llmPredecessor">
          Continued from <Ident text={previous.conversationId} />: {savingText(previous)}
        </p>
      )}
      {next && (
        <p className="jp-Vigilo-llmSuccessor">
          Continues as <Ident text={next.successorId} />: {savingText(next)}
        </p>
      )}
    </div>
  );
}
