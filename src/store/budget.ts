/**
 * Pricing and budget periods: pure functions over the cost model and a namespace's budget, shared
 * by the run-start path (`launchRun`), the worker's attempt checks and `GET /usage`.
 */
import type { Budget, CostModel } from '../config/index.js';

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
