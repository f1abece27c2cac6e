/**
 * Runners: where a task's code executes. `local` runs it in the worker process; container,
 * Kubernetes and serverless runners arrive with their issue and plug in here.
 */
import type { RunsOn } from '../ir/index.js';
import { MaestroError } from '../errors/index.js';
import type { ExecutableTaskDefinition, TaskContext } from '../sdk/types.js';

/** Executes one attempt of a task. */
export interface Runner {
  run(definition: ExecutableTaskDefinition, input: Record<string, unknown>, ctx: TaskContext): Promise<unknown>;
}

/** Runs the task's `execute` in the worker process. */
export const localRunner: Runner = {
  run: (definition, input, ctx) => definition.execute(input, ctx),
};

/** The runners a worker offers, by `runsOn`. */
export type Runners = Partial<Record<RunsOn, Runner>>;

/** Picks the runner for `runsOn`, or fails with a clear, non-retryable error. */
export function selectRunner(runners: Runners, runsOn: RunsOn): Runner {
  const runner = runners[runsOn];
  if (!runner) {
    throw new MaestroError('RUNNER_FAILED', `runsOn "${runsOn}" is not available on this worker (available: ${Object.keys(runners).join(', ')})`, {
      retryable: false,
    });
  }
  return runner;
}
