/**
 * The worker's side of the usage ledger: one row per task attempt when it ends (written by
 * `runTask` beside the task log's flush, so it adds no wait of its own to the attempt), and the
 * run's row completed when the run ends (beside its receipt). A ledger write that fails is logged
 * and counted (`maestro_usage_write_failures`), never a reason to fail the task or the run.
 *
 * And the namespaces' budgets ({@link createBudgetGuard}), checked at each attempt's start and
 * end against the ledger's usage (read at most every {@link BUDGET_CACHE_MS} per namespace).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Budget, CostModel } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { RunTaskInput } from '../ir/index.js';
import type { WriteReceiptInput } from '../provenance/index.js';
import { processMetrics, type ProcessMetrics } from '../telemetry/index.js';
import { recordRunMetrics } from './run-metrics.js';
import {
  BUDGET_AUDIT_KIND,
  attemptCost,
  auditRecordId,
  budgetFigures,
  budgetPeriod,
  budgetUsedText,
  noteBudgetUsage,
  runPrice,
  type AttemptOutcome,
  type AuditLog,
  type BudgetStatus,
  type RunEndRecorded,
  type UsageLedger,
} from '../store/index.js';

/** What the worker records usage and checks budgets with. */
export interface UsageDeps {
  /** The store's ledger. */
  ledger: Pick<UsageLedger, 'recordTaskAttempt' | 'recordRunEnd' | 'usageTotal' | 'claimBudgetAlert'>;
  /** Prices of attempts and runs. @default {} — everything costs 0 */
  costModel?: CostModel;
  /** Budget of each namespace that has one. @default {} — no budgets */
  budgets?: Readonly<Record<string, Budget>>;
  /** Where budget warnings and the tasks a budget stopped are recorded. @default undefined — not recorded */
  auditLog?: Pick<AuditLog, 'append'>;
  /**
   * Pauses a run (a namespace with `onExceed: pause`).
   * @default undefined — the attempt fails with `BUDGET_EXCEEDED` instead
   */
  pauseRun?: (runId: string) => Promise<void>;
}

/** Where a failed ledger write is told. */
export type UsageLog = (message: string, meta: Record<string, unknown>) => void;


/** How one attempt went, as `runTask` saw it. */
export interface AttemptEnding {
  /** When the attempt began in the worker (ms since the epoch). */
  startedMs: number;
  /** When Temporal scheduled it (ms since the epoch). */
  scheduledMs?: number;
  outcome: AttemptOutcome;
  errorCode?: string;
  connectorCalls: number;
}

/**
 * Writes one attempt's row; resolves when it is written or its failure logged (never rejects).
 */
export async function recordAttempt({ ledger, costModel = {} }: UsageDeps, input: RunTaskInput, ending: AttemptEnding, log: UsageLog): Promise<void> {
  const endedMs = Date.now();
  const durationMs = Math.max(0, endedMs - ending.startedMs);
  const ran = ending.outcome !== 'denied' && ending.outcome !== 'cached';
  try {
    await ledger.recordTaskAttempt({
      namespace: input.namespace,
      runId: input.runId,
      workflow: input.policy?.workflow.name ?? '',
      workflowVersion: input.policy?.workflow.version ?? '',
      taskId: input.taskId,
      uses: input.uses,
      attempt: input.attempt,
      runner: input.runsOn,
      resourceClass: input.runsOn,
      ...(ending.scheduledMs === undefined ? {} : { queuedAt: new Date(ending.scheduledMs).toISOString() }),
      startedAt: new Date(ending.startedMs).toISOString(),
      endedAt: new Date(endedMs).toISOString(),
      durationMs,
      outcome: ending.outcome,
      ...(ending.errorCode === undefined ? {} : { errorCode: ending.errorCode }),
      cacheHit: ending.outcome === 'cached',
      cost: attemptCost(costModel, { resourceClass: input.runsOn, durationMs, connectorCalls: ending.connectorCalls, ran }),
      connectorCalls: ending.connectorCalls,
    });
  } catch (error) {
    processMetrics().add('maestro_usage_write_failures', 1, { table: 'task_attempts' });
    log('the usage ledger could not record the task attempt', { runId: input.runId, taskId: input.taskId, attempt: input.attempt, error: String(error) });
  }
}

/** Runs' final statuses the ledger records (an ending run has one of them). */
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Completes a run's ledger row from what its receipt is written from; resolves when it is written
 * or its failure logged (never rejects).
 */
export async function recordRunEnd({ ledger, costModel = {} }: UsageDeps, input: WriteReceiptInput, log: UsageLog): Promise<RunEndRecorded> {
  const { state } = input;
  if (!ENDED.has(state.status)) return {};
  try {
    return await ledger.recordRunEnd({
      namespace: input.namespace ?? 'default',
      runId: input.runId,
      workflow: input.ir.name,
      workflowVersion: input.ir.version,
      status: state.status as 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
      workflowStartedAt: state.startedAt,
      endedAt: state.endedAt ?? new Date().toISOString(),
      ...(state.status === 'FAILED' && state.error !== undefined ? { errorCode: state.error.code } : {}),
      runPrice: runPrice(costModel),
    });
  } catch (error) {
    processMetrics().add('maestro_usage_write_failures', 1, { table: 'run_records' });
    log('the usage ledger could not record the run', { runId: input.runId, error: String(error) });
    return {};
  }
}

/**
 * `writeReceipt` that also completes the run's ledger row (with `usage`), both at once, then
 * records the run's metrics (see `recordRunMetrics`): what the receipt sink and the `writeReceipt`
 * activity call at a run's end.
 */
export function withRunRecord<R>(writeReceipt: (input: WriteReceiptInput) => Promise<R>, usage: UsageDeps | undefined, metrics: ProcessMetrics, log: UsageLog): (input: WriteReceiptInput) => Promise<R> {
  return async (input) => {
    const recorded = usage === undefined ? Promise.resolve({}) : recordRunEnd(usage, input, log);
    try {
      return await writeReceipt(input);
    } finally {
      recordRunMetrics(metrics, input, await recorded);
    }
  };
}

/** How long the worker reuses a namespace's usage read from the ledger. */
export const BUDGET_CACHE_MS = 2000;
/** How often a paused attempt checks whether its namespace is back under its budget. */
const BUDGET_RECHECK_MS = 2000;

/** The budget checks of `runTask`. */
export interface BudgetGuard {
  /**
   * At an attempt's start, when the namespace's budget is spent: `fail` — throws
   * `BUDGET_EXCEEDED`; `pause` — pauses the run and waits (heartbeating) until the namespace is
   * back under its budget (a new period, or a worker started with a larger budget).
   */
  beforeAttempt(input: RunTaskInput, signal: AbortSignal, heartbeat: () => void): Promise<void>;
  /**
   * At an attempt's end, with its cost: when it took the namespace to its budget, `fail` — throws
   * `BUDGET_EXCEEDED`; `pause` — pauses the run (the attempt's outputs are kept).
   */
  afterAttempt(input: RunTaskInput, cost: number): Promise<void>;
}

/** The budget checks over `usage`'s ledger, with a cache per namespace (bounded: only namespaces with a budget). */
export function createBudgetGuard(usage: UsageDeps, log: UsageLog): BudgetGuard {
  const { ledger, budgets = {}, auditLog, pauseRun } = usage;
  const cache = new Map<string, { expires: number; from: string; usage: number }>();

  async function status(namespace: string, fresh = false): Promise<BudgetStatus | undefined> {
    const budget = budgets[namespace];
    if (budget === undefined) return undefined;
    const now = Date.now();
    const window = budgetPeriod(budget.period, new Date(now));
    const cached = cache.get(namespace);
    if (!fresh && cached !== undefined && cached.expires > now && cached.from === window.from) return { namespace, budget, window, usage: cached.usage };
    const used = await ledger.usageTotal(namespace, window.from, window.to);
    cache.set(namespace, { expires: now + BUDGET_CACHE_MS, from: window.from, usage: used });
    return { namespace, budget, window, usage: used };
  }

  /** Records that the budget stopped an attempt, then fails it or pauses its run. */
  async function act(input: RunTaskInput, current: BudgetStatus, when: 'start' | 'end'): Promise<'paused' | never> {
    const pause = current.budget.onExceed === 'pause' && pauseRun !== undefined;
    const message = budgetUsedText(input.namespace, current.budget, current.usage);
    try {
      await auditLog?.append({
        kind: BUDGET_AUDIT_KIND,
        id: auditRecordId(),
        time: new Date().toISOString(),
        namespace: input.namespace,
        runId: input.runId,
        taskId: input.taskId,
        actor: 'maestro',
        result: pause ? 'pause' : 'fail',
        reasons: [message],
        details: { ...budgetFigures(current), attempt: input.attempt, at: when },
      });
    } catch (error) {
      log('the budget record could not be written', { runId: input.runId, taskId: input.taskId, error: String(error) });
    }
    if (pause) {
      try {
        await pauseRun(input.runId);
        return 'paused';
      } catch (error) {
        log('the run could not be paused for its budget; the task fails instead', { runId: input.runId, error: String(error) });
      }
    }
    throw new MaestroError('BUDGET_EXCEEDED', `${message}: the task stops here`, { retryable: false, details: budgetFigures(current) });
  }

  return {
    async beforeAttempt(input, signal, heartbeat) {
      let current = await status(input.namespace);
      if (current === undefined || current.usage < current.budget.limit) return;
      await noteBudgetUsage(ledger, auditLog, current, log);
      await act(input, current, 'start');
      // Paused: wait until the namespace is back under its budget, or the run is cancelled.
      while (current !== undefined && current.usage >= current.budget.limit) {
        await sleep(BUDGET_RECHECK_MS, undefined, { signal });
        heartbeat();
        current = await status(input.namespace, true);
      }
    },

    async afterAttempt(input, cost) {
      const current = await status(input.namespace);
      if (current === undefined) return;
      // This attempt's row is written after this check: count its cost now (and for the next attempts here).
      const after = { ...current, usage: current.usage + cost };
      const cached = cache.get(input.namespace);
      if (cached !== undefined) cached.usage = after.usage;
      await noteBudgetUsage(ledger, auditLog, after, log);
      if (after.usage >= after.budget.limit && cost > 0) await act(input, after, 'end');
    },
  };
}
