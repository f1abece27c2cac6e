/**
 * Activities: plain async functions over one typed dependency object. The worker registers what
 * {@link createActivities} returns; the interpreter calls them by name.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError } from '../errors/index.js';
import type { ApprovalRequest, SignalRequest } from '../ir/index.js';
import { verifyApproval, verifySignal, type WriteReceiptInput } from '../provenance/index.js';
import { signalPayloadProblems } from '../tasks/index.js';
import { inReceiptSpan, recordRunSpan, type RunSpanInput } from '../telemetry/index.js';
import { probeRuns } from './probe-runs.js';
import { createRemoteTaskActivities, type RemoteTaskDeps } from './remote-task.js';
import { createRunTask, type ActivityDeps } from './run-task.js';
import { createAuthorizeSubWorkflow } from './sub-workflow.js';

export type { ActivityDeps } from './run-task.js';
export type { RemoteTaskDeps } from './remote-task.js';
export type { SubWorkflowDeps } from './sub-workflow.js';
export { createAttemptLog, type AttemptLog, type AttemptLogOptions, type AttemptLogTarget } from './attempt-log.js';
export { withRunRecord, type UsageDeps } from './usage.js';
export { progressSink, type InjectedProgressSinks, type ProgressPublication, type ProgressSinks } from './run-progress.js';

/** Builds every activity Maestro registers. */
export function createActivities(deps: RemoteTaskDeps) {
  return {
    runTask: createRunTask(deps),
    ...createRemoteTaskActivities(deps),
    writeReceipt: withRunSpans(deps.writeReceipt),
    verifyApproval: createVerifyApproval(deps),
    verifySignal: createVerifySignal(deps),
    authorizeSubWorkflow: createAuthorizeSubWorkflow(deps),
    probeRuns,
  };
}

/**
 * Builds the `verifyApproval` activity the interpreter runs (as a local activity) before it counts
 * an approval: the decision must carry the API's proof (see `signApproval`). A refusal is a
 * non-retryable failure of type `FORBIDDEN`.
 */
function createVerifyApproval({ approvalKey }: Pick<ActivityDeps, 'approvalKey'>) {
  return function verifyApprovalActivity(input: { runId: string; request: ApprovalRequest }): Promise<void> {
    try {
      if (approvalKey === undefined) throw new MaestroError('FORBIDDEN', 'approval refused: this worker has no approval key to check it with (MAESTRO_APPROVAL_KEY)');
      verifyApproval(approvalKey, input.runId, input.request);
      return Promise.resolve();
    } catch (error) {
      if (!(error instanceof MaestroError)) throw error;
      throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true });
    }
  };
}

/** Input of the `verifySignal` activity: the signal, and the waits that are to take it with their schemas. */
export interface VerifySignalInput {
  runId: string;
  request: SignalRequest;
  waits: { taskId: string; schema?: Record<string, unknown> }[];
}

/**
 * Builds the `verifySignal` activity the interpreter runs (as a local activity) before a task takes
 * a signal: the signal must carry the API's proof (see `signSignal`, `FORBIDDEN` otherwise), and its
 * payload must be within bounds and match the schema of every wait (`SIGNAL_PAYLOAD_INVALID`,
 * naming the task). Ajv runs here, in the worker, never in the workflow sandbox; the verdict is
 * recorded in history, so a replay does not run it again.
 */
function createVerifySignal({ approvalKey }: Pick<ActivityDeps, 'approvalKey'>) {
  return function verifySignalActivity({ runId, request, waits }: VerifySignalInput): Promise<void> {
    try {
      if (approvalKey === undefined) throw new MaestroError('FORBIDDEN', 'signal refused: this worker has no approval key to check it with (MAESTRO_APPROVAL_KEY)');
      verifySignal(approvalKey, runId, request);
      for (const { taskId, schema } of waits) {
        const problem = signalPayloadProblems(request.payload, schema);
        if (problem !== undefined) throw new MaestroError('SIGNAL_PAYLOAD_INVALID', `task "${taskId}": ${problem}`);
      }
      return Promise.resolve();
    } catch (error) {
      if (!(error instanceof MaestroError)) throw error;
      throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true });
    }
  };
}

/** The activities' types, for `proxyActivities<Activities>()` in the interpreter. */
export type Activities = ReturnType<typeof createActivities>;

/**
 * The sink the interpreter writes a run's receipt through (`proxySinks<ReceiptSinks>()`) in
 * history format 2: called once the run's last activation ends, in the worker, before the run's
 * end goes to Temporal (see {@link receiptSink}).
 */
export type ReceiptSinks = {
  maestroReceipts: { write(input: WriteReceiptInput): void };
};

/**
 * Attempts at writing a receipt through the sink, and the wait before the first retry (doubling):
 * all within the workflow task's timeout (10 s), which the run's end waits on.
 */
const RECEIPT_ATTEMPTS = 3;
const RECEIPT_RETRY_MS = 500;

/**
 * The worker's side of {@link ReceiptSinks}: `write` (the `writeReceipt` activity's function),
 * retried a few times. A receipt that cannot be written is logged through
 * `log`, never a reason to change the run's outcome.
 */
export function receiptSink(
  write: ActivityDeps['writeReceipt'],
  log: (message: string, meta: Record<string, unknown>) => void,
): { maestroReceipts: { write: { fn(info: unknown, input: WriteReceiptInput): Promise<void>; callDuringReplay: false } } } {
  return {
    maestroReceipts: {
      write: {
        async fn(_info, input) {
          const run = runSpanInput(input);
          try {
            for (let attempt = 1; ; attempt += 1) {
              try {
                await inReceiptSpan(run, () => write(input));
                return;
              } catch (error) {
                if (attempt >= RECEIPT_ATTEMPTS) {
                  log('the run receipt could not be written', { runId: input.runId, error: String(error) });
                  return;
                }
                await new Promise((resolve) => setTimeout(resolve, RECEIPT_RETRY_MS * 2 ** (attempt - 1)));
              }
            }
          } finally {
            recordRunSpan(run);
          }
        },
        callDuringReplay: false,
      },
    },
  };
}

/** What the run's span and the receipt's say of a run ending, from its receipt's input. */
function runSpanInput({ runId, ir, state, namespace, trace }: WriteReceiptInput): RunSpanInput {
  return { runId, workflow: ir.name, state, ...(namespace === undefined ? {} : { namespace }), ...(trace === undefined ? {} : { trace }) };
}

/**
 * The `writeReceipt` activity (a sub-workflow's run, or a run recorded before the receipt sink):
 * the receipt written in its span, then the run's span emitted (see `recordRunSpan`).
 */
function withRunSpans(write: ActivityDeps['writeReceipt']): ActivityDeps['writeReceipt'] {
  return async (input) => {
    const run = runSpanInput(input);
    try {
      return await inReceiptSpan(run, () => write(input));
    } finally {
      recordRunSpan(run);
    }
  };
}
