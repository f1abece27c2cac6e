/**
 * The `probeRuns` activity: how the runs holding a concurrency key look on Temporal, for the key's
 * lock workflow, which cannot see another execution's end by itself (a run terminated from the
 * Temporal UI never sends its release).
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CONCURRENCY_LIMIT_MAX } from '../ir/index.js';

/** A run's execution as the lock sees it. */
export interface RunProbe {
  runId: string;
  /** `missing`: Temporal has no execution with this id (yet). */
  state: 'running' | 'closed' | 'missing';
}

/** Describes each run (at most `CONCURRENCY_LIMIT_MAX`) through the worker's own Temporal client. */
export async function probeRuns({ runIds }: { runIds: string[] }): Promise<RunProbe[]> {
  const { client } = Context.current();
  return Promise.all(
    runIds.slice(0, CONCURRENCY_LIMIT_MAX).map(async (runId): Promise<RunProbe> => {
      try {
        const { status } = await client.workflow.getHandle(runId).describe();
        return { runId, state: status.name === 'RUNNING' || status.name === 'PAUSED' ? 'running' : 'closed' };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { runId, state: 'missing' };
        throw error;
      }
    }),
  );
}
