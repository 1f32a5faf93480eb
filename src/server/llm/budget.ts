import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { utcDayKey } from '../../shared/costBuckets';
import { formatMoney as usd } from '../../shared/format';
import { BudgetLimits, type BudgetState } from '../../shared/llm-api';
import type { AlertEngine, ThresholdRule } from '../alerts/engine';
import type { Clock } from '../core/clock';
import { writePrivateFile } from '../core/discovery';
import { describeZodError } from '../core/errors';
import type { LlmStore } from '../store/llmStore';

export const BUDGETS_FILE = 'budgets.json';

export const BUDGET_RULES = {
  session: 'llm.budget.session',
  day: 'llm.budget.day',
  conversation: 'llm.budget.conversation'
} as const;

const LEVELS: ThresholdRule['thresholds'] = [
  { value: 50, severity: 'info' },
  { value: 80, severity: 'warning' },
  { value: 100, severity: 'critical' }
];

/**
 * Spend budgets per session (this sidecar run), UTC day and conversation,
 * from `<dataDir>/budgets.json` or PUT /llm/budgets. Crossing 50 / 80 / 100 %
 * raises one alert each through the alert engine. The hard stop (off by
 * default) is reported to clients in every POST /llm/events answer; clients
 * that enabled it refuse the next call before sending it.
 */
export class Budgets {
  private limits: BudgetLimits = {};
  readonly file: string;
  readonly warnings: string[] = [];

  constructor(
    private readonly deps: { dataDir: string; store: LlmStore; alerts: AlertEngine; clock: Clock; runId: string }
  ) {
    this.file = join(deps.dataDir, BUDGETS_FILE);
    this.load();
    const rule = (id: string, what: string, limit: () => number | null | undefined): ThresholdRule => ({
      id,
      description: `LLM spend against the ${what} budget`,
      unit: '%',
      direction: 'above',
      severity: 'warning',
      thresholds: LEVELS,
      message: (value, key, level) => {
        const l = limit() ?? 0;
        const scope = what === 'conversation' ? `conversation ${key}` : what === 'day' ? `today (${key}, UTC)` : 'this session';
        return `LLM spend for ${scope} reached ${Math.round(value)} % of the ${what} budget (${usd((value / 100) * l)} of ${usd(l)}; ${level.value} % mark)`;
      }
    });
    deps.alerts.addRule(rule(BUDGET_RULES.session, 'session', () => this.limits.sessionUsd));
    deps.alerts.addRule(rule(BUDGET_RULES.day, 'day', () => this.limits.dayUsd));
    deps.alerts.addRule(rule(BUDGET_RULES.conversation, 'conversation', () => this.limits.conversationUsd));
  }

  get current(): BudgetLimits {
    return { ...this.limits };
  }

  private load(): void {
    if (!existsSync(this.file)) {
      return;
    }
    try {
      const parsed = BudgetLimits.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (parsed.success) {
        this.limits = parsed.data;
      } else {
        this.warnings.push(`${this.file} ignored: ${describeZodError(parsed.error)}`);
      }
    } catch (error) {
      this.warnings.push(`${this.file} ignored: ${(error as Error).message}`);
    }
  }

  /**
   * Persist the limits (0600), then apply them and re-check spend. Persist
   * first: a failed write (full or read-only disk) throws with nothing changed.
   */
  set(limits: BudgetLimits): void {
    const next = { ...limits };
    writePrivateFile(this.file, JSON.stringify(next, null, 2) + '\n');
    this.limits = next;
    this.evaluate([]);
  }

  /** Spend from the store's running totals: two lookups, whatever the size of the history. */
  spent(): { sessionUsd: number; dayUsd: number } {
    const { store, runId, clock } = this.deps;
    return {
      sessionUsd: store.totals('run', runId)?.costUsd ?? 0,
      dayUsd: store.totals('day', utcDayKey(clock.now()))?.costUsd ?? 0
    };
  }

  /** Feed current spend to the alert rules; `conversations` are those that just had calls. Returns the spend it read. */
  evaluate(conversations: string[]): { sessionUsd: number; dayUsd: number } {
    const spent = this.spent();
    const { sessionUsd, dayUsd } = spent;
    const pct = (spent: number, limit: number | null | undefined): number | null => (limit ? (spent / limit) * 100 : null);
    this.deps.alerts.observe(BUDGET_RULES.session, this.deps.runId, pct(sessionUsd, this.limits.sessionUsd));
    this.deps.alerts.observe(BUDGET_RULES.day, utcDayKey(this.deps.clock.now()), pct(dayUsd, this.limits.dayUsd));
    if (this.limits.conversationUsd) {
      for (const key of conversations) {
        this.deps.alerts.observe(BUDGET_RULES.conversation, key, pct(this.deps.store.conversation(key)?.costUsd ?? 0, this.limits.conversationUsd));
      }
    }
    return spent;
  }

  /**
   * The hard stop applies to the session and day budgets (a conversation
   * budget only alerts). `spent`: the spend just read (evaluate's), so it is
   * not summed twice; read here when not given.
   */
  state(spent?: { sessionUsd: number; dayUsd: number }): BudgetState {
    if (!this.limits.hardStop) {
      return { hardStop: false, reason: null };
    }
    const { sessionUsd, dayUsd } = spent ?? this.spent();
    if (this.limits.sessionUsd && sessionUsd >= this.limits.sessionUsd) {
      return { hardStop: true, reason: `session LLM budget of ${usd(this.limits.sessionUsd)} reached (${usd(sessionUsd)} spent)` };
    }
    if (this.limits.dayUsd && dayUsd >= this.limits.dayUsd) {
      return { hardStop: true, reason: `daily LLM budget of ${usd(this.limits.dayUsd)} reached (${usd(dayUsd)} spent today, UTC)` };
    }
    return { hardStop: false, reason: null };
  }
}
