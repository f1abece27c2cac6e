/**
 * Concurrency keys in the run-start path: before a run of a workflow with `spec.concurrency` starts,
 * its key is evaluated over the params and acquired from the key's lock workflow with one
 * Update-with-Start (the lock starts on first use; Temporal runs one lock per workflow id and its
 * updates one at a time, so two API replicas starting runs of the same key at the same moment get
 * consistent answers). The lock's id holds the namespace, so the same key text in two namespaces
 * names two locks.
 */
import { createHash } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError } from '../errors/index.js';
import {
  CONCURRENCY_LOCK_PREFIX,
  CONCURRENCY_LOCK_WORKFLOW,
  ExpressionError,
  acquireUpdate,
  concurrencyKeyOf,
  lockQuery,
  type AcquireResult,
  type CompiledWorkflow,
  type InterpreterInput,
  type LockInput,
  type RunConcurrency,
} from '../ir/index.js';

/** The workflow id of the lock of `key` in `namespace`. */
export function lockIdOf(namespace: string, key: string): string {
  return `${CONCURRENCY_LOCK_PREFIX}${namespace}:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * Acquires the run's concurrency key, or learns its place in the key's queue (and, with
 * `cancel-running`, which holders to cancel: {@link AcquiredKey.cancel}).
 * @returns undefined for a workflow without `spec.concurrency` (nothing is asked).
 * @throws MaestroError `CONCURRENCY_LIMIT` (409) when the key is taken and `onConflict` is `reject`;
 *   `PARAMS_INVALID` when the key does not evaluate to a string.
 */
export async function acquireConcurrencyKey(
  client: Client,
  taskQueue: string,
  request: { runId: string; compiled: CompiledWorkflow; params: Record<string, unknown>; namespace: string },
): Promise<AcquiredKey | undefined> {
  const { ir } = request.compiled;
  if (ir.concurrency === undefined) return undefined;
  const { limit, onConflict } = ir.concurrency;
  let key: string;
  try {
    key = concurrencyKeyOf({ ...ir, concurrency: ir.concurrency }, request.params);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    throw new MaestroError('PARAMS_INVALID', error.message, { cause: error });
  }
  const lockId = lockIdOf(request.namespace, key);
  const lockInput: LockInput = { namespace: request.namespace, key };
  let result: AcquireResult;
  try {
    result = await client.workflow.executeUpdateWithStart(acquireUpdate, {
      args: [{ runId: request.runId, limit, onConflict }],
      startWorkflowOperation: new WithStartWorkflowOperation(CONCURRENCY_LOCK_WORKFLOW, {
        workflowId: lockId,
        taskQueue,
        args: [lockInput],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      throw new MaestroError('CONCURRENCY_UNAVAILABLE', `the lock of concurrency key "${key}" refused the run: ${error.cause.message}`, { cause: error });
    }
    throw error;
  }
  if (result.outcome === 'rejected') {
    throw new MaestroError('CONCURRENCY_LIMIT', `concurrency key "${key}" is held by ${result.holders.join(', ')} (limit ${limit}, onConflict: reject); nothing was started`, {
      details: { key, limit, holders: result.holders },
    });
  }
  return { key, lockId, granted: result.outcome === 'granted', cancel: result.cancel ?? [] };
}

/** The run's key as the interpreter gets it, and the holders `cancel-running` cancels. */
export type AcquiredKey = NonNullable<InterpreterInput['concurrency']> & { cancel: string[] };

/** A run's concurrency key as its detail shows it; while QUEUED, the runs holding it and its 1-based position. */
export interface ConcurrencyView {
  key: string;
  holders?: string[];
  position?: number;
}

/** Who holds the run's key and where the run waits, asked of the key's lock. */
export async function concurrencyView(client: Client, runId: string, { key, lockId }: RunConcurrency): Promise<ConcurrencyView> {
  try {
    const view = await client.workflow.getHandle(lockId).query(lockQuery);
    const at = view.queue.indexOf(runId);
    return { key, holders: view.holders, ...(at < 0 ? {} : { position: at + 1 }) };
  } catch (error) {
    // No lock (yet): the run's acquire has not reached it; the detail shows the key alone.
    if (error instanceof WorkflowNotFoundError) return { key, holders: [] };
    throw error;
  }
}
