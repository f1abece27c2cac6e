/**
 * The DAG view's input: one task of a workflow's compiled DAG, with its state in a run when there
 * is one.
 */
import type { TaskStatus } from '../../../src/ir/index.js';

export type { TaskStatus };

/**
 * A task as the DAG view draws it: its place in the DAG (`id`, `needs`) from the compiled IR, and
 * its state from the run (`GET /runs/{runId}` → `tasks[]`) when the view shows a run.
 */
export interface DagTask {
  /** The task id, unique in the workflow. */
  id: string;
  /** The catalog task it runs (`name@semver`), shown under the id. */
  uses?: string;
  /** Ids of the tasks it waits for; ids not in the DAG are ignored. */
  needs: string[];
  /** Its run condition when not the default: it runs on a need's failure, or always; shown on the node. */
  runIf?: 'failure' | 'always';
  /** The signal a `wait.signal` task waits (or waited) for; shown in the node's title. */
  signal?: string;
  /** Its status in the run; absent for a DAG without a run, drawn as `PENDING`. */
  status?: TaskStatus;
  /** Its outputs came from the task cache (the API's `cached`); drawn as "Cached". */
  cached?: boolean;
  /** When it started (ISO 8601); absent for a task that never ran (pending, skipped). */
  startedAt?: string;
  /** When it ended (ISO 8601); absent while it runs. */
  endedAt?: string;
}
