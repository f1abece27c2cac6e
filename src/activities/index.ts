/**
 * Activities: plain async functions over one typed dependency object. The worker registers what
 * {@link createActivities} returns; the interpreter calls them by name.
 */
import { createRunTask, type ActivityDeps } from './run-task.js';

export type { ActivityDeps } from './run-task.js';
export { createAttemptLog, type AttemptLog, type AttemptLogOptions, type AttemptLogTarget } from './attempt-log.js';

/** Builds every activity Maestro registers. */
export function createActivities(deps: ActivityDeps) {
  return { runTask: createRunTask(deps), writeReceipt: deps.writeReceipt };
}

/** The activities' types, for `proxyActivities<Activities>()` in the interpreter. */
export type Activities = ReturnType<typeof createActivities>;
