/**
 * Activities: plain async functions over one typed dependency object. The worker registers what
 * {@link createActivities} returns; the interpreter calls them by name.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError } from '../errors/index.js';
import type { ApprovalRequest } from '../ir/index.js';
import { verifyApproval } from '../provenance/index.js';
import { probeRuns } from './probe-runs.js';
import { createRunTask, type ActivityDeps } from './run-task.js';

export type { ActivityDeps } from './run-task.js';
export { createAttemptLog, type AttemptLog, type AttemptLogOptions, type AttemptLogTarget } from './attempt-log.js';

/** Builds every activity Maestro registers. */
export function createActivities(deps: ActivityDeps) {
  return { runTask: createRunTask(deps), writeReceipt: deps.writeReceipt, verifyApproval: createVerifyApproval(deps), probeRuns };
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

/** The activities' types, for `proxyActivities<Activities>()` in the interpreter. */
export type Activities = ReturnType<typeof createActivities>;
