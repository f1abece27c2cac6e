/**
 * Pricing and budget periods (pure functions over the cost model and a namespace's budget), and
 * the budget warnings; shared by the run-start path (`launchRun`), the worker's attempt checks and
 * `GET /usage`.
 */
import type { Budget, CostModel } from '../config/index.js';
import { processMetrics } from '../telemetry/index.js';
import { auditRecordId, type AuditLog } from './audit-log.js';
import type { UsageLedger } from './usage-ledger.js';

/** A budget period's bounds, ISO 8601 UTC: [from, to). */
export interface PeriodWindow {
  from: string;
  to: string;
}

/**
 * The UTC calendar period of `budget.period` that holds `now`: the day, the ISO week (from Monday
 * 00:00), or the month.
 *
 * @example
 * budgetPeriod('month', new Date('2026-12-06T16:44:49Z')) // { from: '2026-12-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' }
 */
export function budgetPeriod(period: Budget['period'], now: Date): PeriodWindow {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  let from: number;
  let to: number;
  if (period === 'month') {
    from = Date.UTC(year, month, 1);
    to = Date.UTC(year, month + 1, 1);
  } else if (period === 'week') {
    // getUTCDay: 0 is Sunday; the ISO week starts on Monday.
    from = Date.UTC(year, month, day - ((now.getUTCDay() + 6) % 7));
    to = from + 7 * 86_400_000;
  } else {
    from = Date.UTC(year, month, day);
    to = Date.UTC(year, month, day + 1);
  }
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** What an attempt is priced on. */
export interface AttemptUsage {
  /** The runner the attempt ran on. */
  resourceClass: string;
  durationMs: number;
  connectorCalls: number;
  /** False for an attempt whose code did not run (denied by the policy, outputs from the cache): its time is free. */
  ran: boolean;
}

/** The cost of one attempt: its seconds at its resource class's price, plus its connector calls. */
export function attemptCost(model: CostModel, usage: AttemptUsage): number {
  const perSecond = usage.ran ? (model.perSecond?.[usage.resourceClass] ?? 0) : 0;
  return (perSecond * usage.durationMs) / 1000 + (model.perConnectorCall ?? 0) * usage.connectorCalls;
}

/** The price charged when a run is accepted. */
export function runPrice(model: CostModel): number {
  return model.perRun ?? 0;
}

/** A namespace's budget and its usage in the current period. */
export interface BudgetStatus {
  namespace: string;
  budget: Budget;
  window: PeriodWindow;
  /** Usage so far in the period. */
  usage: number;
}

/** The percentages of a budget at which a warning goes out, once per namespace and period. */
export const BUDGET_WARNINGS = [80, 100] as const;

/** Audit `kind` of budget records: warnings (`warning`), refused starts (`refused`), tasks stopped (`fail`, `pause`). */
export const BUDGET_AUDIT_KIND = 'budget';

/**
 * Warnings this process has seen claimed (`namespace period threshold`): once a warning is sent,
 * the following attempts of the period do not ask the store again. Cleared when it grows past a
 * few periods' worth.
 */
const claimed = new Set<string>();
const CLAIMED_MAX = 10_000;

/** The latest ratio seen per namespace with a budget (bounded: only configured namespaces get one). */
const ratios = new Map<string, number>();
/** Whether the gauge reads {@link ratios}: from the first usage noted, once the process has set its metrics up. */
let observing = false;

const PERIOD_WORDS: Readonly<Record<Budget['period'], string>> = { day: 'daily', week: 'weekly', month: 'monthly' };

/**
 * How much of a budget a namespace has used, in words for messages: amounts to 12 significant
 * digits (sums of prices are binary fractions: 0.0020118000000000002 reads 0.0020118).
 * @example
 * budgetUsedText('team-a', { period: 'day', limit: 0.0025 }, 0.0020118000000000002)
 * // 'namespace team-a has used 0.0020118 of its daily budget of 0.0025'
 */
export function budgetUsedText(namespace: string, budget: Pick<Budget, 'period' | 'limit'>, usage: number): string {
  return `namespace ${namespace} has used ${amountText(usage)} of its ${PERIOD_WORDS[budget.period]} budget of ${amountText(budget.limit)}`;
}

/** An amount of the cost model's unit to 12 significant digits: exact figures, without the noise of binary fractions. */
export function amountText(amount: number): string {
  return String(Number(amount.toPrecision(12)));
}

/** The figures of a budget record or a refusal: namespace, period and its bounds, limit, usage. */
export function budgetFigures({ namespace, budget, window, usage }: BudgetStatus): Record<string, string | number> {
  return { namespace, period: budget.period, from: window.from, to: window.to, limit: budget.limit, usage };
}

/**
 * Notes a namespace's usage: sets its `maestro_budget_used_ratio` and, the first time in the
 * period it reaches 80% and 100% of the limit, appends one warning each to the audit log (the
 * store decides which process sends it). A warning that cannot be recorded is reported through
 * `log`, never a reason to refuse or fail anything.
 */
export async function noteBudgetUsage(
  ledger: Pick<UsageLedger, 'claimBudgetAlert'>,
  auditLog: Pick<AuditLog, 'append'> | undefined,
  status: BudgetStatus,
  log: (message: string, meta: Record<string, unknown>) => void,
): Promise<void> {
  const ratio = status.budget.limit > 0 ? status.usage / status.budget.limit : status.usage > 0 ? Number.POSITIVE_INFINITY : 0;
  ratios.set(status.namespace, ratio);
  if (!observing) {
    observing = true;
    processMetrics().observe('maestro_budget_used_ratio', () => [...ratios].map(([namespace, value]) => [value, { namespace }] as const));
  }
  if (auditLog === undefined) return;
  try {
    for (const threshold of BUDGET_WARNINGS) {
      if (ratio * 100 < threshold) break;
      const key = `${status.namespace} ${status.window.from} ${threshold}`;
      if (claimed.has(key)) continue;
      const fresh = await ledger.claimBudgetAlert(status.namespace, status.window.from, threshold);
      if (claimed.size >= CLAIMED_MAX) claimed.clear();
      claimed.add(key);
      if (!fresh) continue;
      await auditLog.append({
        kind: BUDGET_AUDIT_KIND,
        id: auditRecordId(),
        time: new Date().toISOString(),
        namespace: status.namespace,
        actor: 'maestro',
        result: 'warning',
        reasons: [`${budgetUsedText(status.namespace, status.budget, status.usage)} (${threshold}%)`],
        details: { ...budgetFigures(status), threshold },
      });
    }
  } catch (error) {
    log('a budget warning could not be recorded', { namespace: status.namespace, error: String(error) });
  }
}
