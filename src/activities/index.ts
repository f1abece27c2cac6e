/**
 * Activities: plain async functions over one typed dependency object. The worker registers what
 * {@link createActivities} returns; the interpreter calls them by name.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError } from '../errors/index.js';
import type { ApprovalRequest, SignalRequest } from '../ir/index.js';
import { verifyApproval, verifySignal } from '../provenance/index.js';
import { signalPayloadProblems } from '../tasks/index.js';
import { probeRuns } from './probe-runs.js';
import { createRunTask, type ActivityDeps } from './run-task.js';
import { createAuthorizeSubWorkflow } from './sub-workflow.js';

export type { ActivityDeps } from './run-task.js';
export type { SubWorkflowDeps } from './sub-workflow.js';
export { createAttemptLog, type AttemptLog, type AttemptLogOptions, type AttemptLogTarget } from './attempt-log.js';

/** Builds every activity Maestro registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    runTask: createRunTask(deps),
    writeReceipt: deps.writeReceipt,
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
