/**
 * `/usage`: a namespace's usage from the usage ledger over a window — sums by workflow, by task
 * (`uses`) and by resource class, the totals — and its budget with the share of it used in the
 * current period. Read like the other namespace reads: only a namespace the caller has access to.
 */
import { MaestroError } from '../../errors/index.js';
import { budgetPeriod } from '../../store/index.js';
import { caller, type RouteHandler } from '../context.js';
import { requestNamespace } from './access.js';

/** Widest window one request may sum over (a little over a year: a yearly report, a monthly budget's history). */
const MAX_WINDOW_MS = 400 * 86_400_000;

function instant(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new MaestroError('BAD_REQUEST', `${name} must be an RFC 3339 date-time`, { details: { errors: [{ path: `query.${name}`, message: 'not a date-time' }] } });
  return new Date(time);
}

/**
 * `GET /usage?namespace=&from=&to=`: the window defaults to the namespace's current budget period
 * (the current UTC month without a budget); `from` < `to`, at most 400 days apart.
 */
export const getUsage: RouteHandler = async (context) => {
  const query = context.query as { namespace?: string; from?: string; to?: string };
  const namespace = requestNamespace(caller(context), query.namespace);
  const budget = context.deps.config.budgets[namespace];
  const now = context.deps.clock();
  const current = budgetPeriod(budget?.period ?? 'month', now);
  const from = instant(query.from, 'from') ?? new Date(current.from);
  const to = instant(query.to, 'to') ?? (query.from === undefined ? new Date(current.to) : now);
  if (from >= to) throw new MaestroError('BAD_REQUEST', 'from must be before to', { details: { errors: [{ path: 'query.from', message: 'not before to' }] } });
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) throw new MaestroError('BAD_REQUEST', 'from and to may be at most 400 days apart', { details: { errors: [{ path: 'query.to', message: 'window longer than 400 days' }] } });
  const report = await context.deps.store.usageReport(namespace, from.toISOString(), to.toISOString());
  if (budget === undefined) return { status: 200, body: report };
  const used = await context.deps.store.usageTotal(namespace, current.from, current.to);
  return {
    status: 200,
    body: {
      ...report,
      budget: { period: budget.period, limit: budget.limit, onExceed: budget.onExceed ?? 'fail', from: current.from, to: current.to, usage: used, usedRatio: budget.limit > 0 ? used / budget.limit : used > 0 ? 1 : 0 },
    },
  };
};
