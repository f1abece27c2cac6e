/**
 * The worker's side of the usage ledger: one row per task attempt when it ends (written by
 * `runTask` beside the task log's flush, so it adds no wait of its own to the attempt), and the
 * run's row completed when the run ends (beside its receipt). A ledger write that fails is logged
 * and counted (`maestro_usage_write_failures_total`), never a reason to fail the task or the run.
 */
import { metrics } from '@opentelemetry/api';
import type { CostModel } from '../config/index.js';
import type { RunTaskInput } from '../ir/index.js';
import type { WriteReceiptInput } from '../provenance/index.js';
import { attemptCost, runPrice, type AttemptOutcome, type UsageLedger } from '../store/index.js';

/** What the worker records usage with. */
export interface UsageDeps {
  /** The store's ledger. */
  ledger: Pick<UsageLedger, 'recordTaskAttempt' | 'recordRunEnd'>;
  /** Prices of attempts and runs. @default {} — everything costs 0 */
  costModel?: CostModel;
}

/** Where a failed ledger write is told. */
export type UsageLog = (message: string, meta: Record<string, unknown>) => void;

const meter = metrics.getMeter('maestro');
const writeFailures = meter.createCounter('maestro_usage_write_failures_total', {
  description: 'Usage ledger rows (task attempts, runs) the worker could not write.',
});

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
    writeFailures.add(1, { table: 'task_attempts' });
    log('the usage ledger could not record the task attempt', { runId: input.runId, taskId: input.taskId, attempt: input.attempt, error: String(error) });
  }
}

/** Runs' final statuses the ledger records (an ending run has one of them). */
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Completes a run's ledger row from what its receipt is written from; resolves when it is written
 * or its failure logged (never rejects).
 */
export async function recordRunEnd({ ledger, costModel = {} }: UsageDeps, input: WriteReceiptInput, log: UsageLog): Promise<void> {
  const { state } = input;
  if (!ENDED.has(state.status)) return;
  try {
    await ledger.recordRunEnd({
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
    writeFailures.add(1, { table: 'run_records' });
    log('the usage ledger could not record the run', { runId: input.runId, error: String(error) });
  }
}

/**
 * `writeReceipt` that also completes the run's ledger row, both at once: what the receipt sink and
 * the `writeReceipt` activity call at a run's end.
 */
export function withRunRecord<R>(writeReceipt: (input: WriteReceiptInput) => Promise<R>, usage: UsageDeps | undefined, log: UsageLog): (input: WriteReceiptInput) => Promise<R> {
  if (usage === undefined) return writeReceipt;
  return async (input) => {
    const recorded = recordRunEnd(usage, input, log);
    try {
      return await writeReceipt(input);
    } finally {
      await recorded;
    }
  };
}
