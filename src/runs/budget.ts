/**
 * The run-start path's budget check: a run is charged its price when accepted, and refused
 * (`BUDGET_EXCEEDED`, audited, nothing started) when its namespace's usage in the budget's period
 * plus that price would exceed the limit. Usage is the ledger's (attempts ended, run prices
 * charged): the cost of runs still running is not known until their attempts end, so it is not
 * reserved; concurrent starts are charged one by one under a lock per namespace in the store,
 * shared by every API replica, so a burst of starts never charges past the limit.
 */
import type { Budget, CostModel } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { CompiledWorkflow } from '../ir/index.js';
import { BUDGET_AUDIT_KIND, amountText, budgetFigures, budgetPeriod, budgetUsedText, noteBudgetUsage, runPrice, type AuditLog, type BudgetStatus, type Store } from '../store/index.js';
import { recordBeforeActing } from './record.js';

/** What {@link chargeRun} needs of the launch context. */
export interface ChargeContext {
  store: Store;
  auditLog: AuditLog;
  costModel?: CostModel;
  budgets?: Readonly<Record<string, Budget>>;
}

/** What {@link chargeRun} needs of the request. */
export interface ChargeRequest {
  runId: string;
  namespace: string;
  compiled: CompiledWorkflow;
  startedBy: string;
  traceId?: string;
}

/**
 * Charges `request`'s run its price (its row in the usage ledger).
 * @throws MaestroError `BUDGET_EXCEEDED` (403, details: namespace, period, limit, usage) when the namespace's budget cannot pay for it.
 * @throws MaestroError `AUDIT_UNAVAILABLE` when the refusal cannot be recorded.
 */
export async function chargeRun(context: ChargeContext, request: ChargeRequest): Promise<void> {
  const price = runPrice(context.costModel ?? {});
  const budget = context.budgets?.[request.namespace];
  const now = new Date();
  const window = budget && budgetPeriod(budget.period, now);
  const charge = await context.store.chargeRunStart(
    {
      namespace: request.namespace,
      runId: request.runId,
      workflow: request.compiled.ir.name,
      workflowVersion: request.compiled.ir.version,
      startedBy: request.startedBy,
      createdAt: now.toISOString(),
      runPrice: price,
    },
    budget && window && { limit: budget.limit, ...window },
  );
  if (!budget || !window) return;
  const status: BudgetStatus = { namespace: request.namespace, budget, window, usage: charge.charged ? charge.usage + price : charge.usage };
  await noteBudgetUsage(context.store, context.auditLog, status, (message, meta) => console.warn(`maestro: ${message}`, meta));
  if (charge.charged) return;
  const message = `${budgetUsedText(request.namespace, budget, charge.usage)}; a run costs ${amountText(price)}: nothing started`;
  await recordBeforeActing(context.auditLog, {
    kind: BUDGET_AUDIT_KIND,
    runId: request.runId,
    namespace: request.namespace,
    actor: request.startedBy,
    action: 'refused',
    reason: message,
    details: { ...budgetFigures(status), price },
    ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
  });
  throw new MaestroError('BUDGET_EXCEEDED', message, { details: budgetFigures(status) });
}
