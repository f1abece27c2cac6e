import { MaestroError } from '../errors/index.js';
import type { RunsOn } from '../ir/index.js';
import type { ExecutableTaskDefinition, TaskContext } from '../sdk/index.js';

/** What the policy obliges one attempt to do, beyond the task's own input. */
export interface RunOptions {
  /**
   * Start the work only from a container image with a trusted signature (a policy obligation).
   * The container runner verifies it before the start; the policy asks it only of
   * `runsOn: container` tasks (a Kubernetes cluster pulls its own images: enforce signatures there
   * with an admission controller).
   * @default false
   */
  requireSignedImage?: boolean;
}

/**
 * Executes one attempt of a task. The runner streams what the work prints into `ctx.logger`,
 * heartbeats through `ctx.heartbeat`, stops the work when `ctx.signal` aborts (and then throws
 * `ctx.signal.reason`), and maps the work's end to outputs or a `MaestroError`.
 */
export interface Runner {
  run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext, options?: RunOptions): Promise<unknown>;
}

/**
 * Any executable task: the catalog erases input and output types, and `runTask` checks the input
 * against the task's JSON Schema before a runner sees it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RunnableTask = ExecutableTaskDefinition<any, any>;

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
