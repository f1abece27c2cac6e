/**
 * Hand-written Temporal workflows, the way people write them without Maestro: the same shapes as the
 * benchmark manifests, calling the same `runTask` activity with the same inputs (see ./shapes.ts).
 *
 * - `sequential` / `fanOutIn`: regular activities through `proxyActivities` (variant b);
 * - `sequentialLocal` / `fanOutInLocal`: local activities through `proxyLocalActivities` (variant c),
 *   like for like with Maestro, which runs `tasks/transform.map` as a local activity;
 * - `children` / `childrenLocal`: a parent starting `n` child workflows at once (`executeChild`),
 *   each running one task (`childTask` / `childTaskLocal`) and returning its outputs.
 *
 * Workflow code: imports values only from `@temporalio/workflow` and the type-free ./shapes.ts.
 */
import { ApplicationFailure, executeChild, proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../src/activities/index.js';
import type { RunTaskResult } from '../src/ir/index.js';
import {
  BRANCH_EXPRESSION,
  CHILD_TASK_ID,
  COMPENSATE_EXPRESSION,
  SAGA_FAIL_EXPRESSION,
  compensationId,
  JOIN_EXPRESSION,
  JOIN_ID,
  LOAD_MAP_ID,
  SEQ_EXPRESSION,
  SEQ_FIRST_ROWS,
  benchTaskInput,
  branchId,
  childId,
  stepId,
  type BaselineArgs,
} from './shapes.js';

const TIMEOUTS = { startToCloseTimeout: '1 minute' } as const;
const remote = proxyActivities<Activities>(TIMEOUTS);
const local = proxyLocalActivities<Activities>(TIMEOUTS);

type RunTask = Activities['runTask'];

async function chain(runTask: RunTask, args: BaselineArgs): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  let rows: unknown[] = SEQ_FIRST_ROWS;
  for (let i = 0; i < args.n; i += 1) {
    const { outputs } = await runTask(benchTaskInput(runId, stepId(i), args, { rows, expression: SEQ_EXPRESSION }));
    rows = (outputs as { rows: unknown[] }).rows;
  }
  return { rows };
}

async function fan(runTask: RunTask, args: BaselineArgs): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  const branches: RunTaskResult[] = await Promise.all(
    Array.from({ length: args.n }, (_, i) => runTask(benchTaskInput(runId, branchId(i), args, { rows: [i], expression: BRANCH_EXPRESSION }))),
  );
  const gathered = branches.map(({ outputs }) => (outputs as { rows: unknown[] }).rows[0]);
  const { outputs } = await runTask(benchTaskInput(runId, JOIN_ID, args, { rows: gathered, expression: JOIN_EXPRESSION }));
  return outputs;
}

/**
 * A saga the way Temporal's samples write one: `n` steps one after the other, each pushing its
 * compensation once it succeeded; the last step fails, and the compensations run latest first,
 * each whatever the one before did; then the workflow fails with the step's error.
 */
async function saga(runTask: RunTask, args: BaselineArgs): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  const compensations: (() => Promise<unknown>)[] = [];
  let rows: unknown[] = SEQ_FIRST_ROWS;
  try {
    for (let i = 0; i < args.n; i += 1) {
      const expression = i === args.n - 1 ? SAGA_FAIL_EXPRESSION : SEQ_EXPRESSION;
      const { outputs } = await runTask(benchTaskInput(runId, stepId(i), args, { rows, expression }));
      rows = (outputs as { rows: unknown[] }).rows;
      const done = rows;
      compensations.unshift(() => runTask(benchTaskInput(runId, compensationId(i), args, { rows: done, expression: COMPENSATE_EXPRESSION })));
    }
    return { rows };
  } catch (error) {
    for (const compensate of compensations) {
      try {
        await compensate();
      } catch {
        // Best effort: a failed compensation does not stop the others (the saga samples' choice).
      }
    }
    throw ApplicationFailure.nonRetryable(error instanceof Error ? error.message : String(error), 'RUN_FAILED');
  }
}

/** `n` tasks one after the other, each fed the previous one's rows; regular activities. */
export function sequential(args: BaselineArgs): Promise<unknown> {
  return chain(remote.runTask, args);
}

/** `n` tasks at once, then a join over their first rows; regular activities. */
export function fanOutIn(args: BaselineArgs): Promise<unknown> {
  return fan(remote.runTask, args);
}

/** {@link saga} with regular activities. */
export function sagaRemote(args: BaselineArgs): Promise<unknown> {
  return saga(remote.runTask, args);
}

/** {@link saga} with local activities. */
export function sagaLocal(args: BaselineArgs): Promise<unknown> {
  return saga(local.runTask, args);
}

/** {@link sequential} with local activities. */
export function sequentialLocal(args: BaselineArgs): Promise<unknown> {
  return chain(local.runTask, args);
}

/** {@link fanOutIn} with local activities. */
export function fanOutInLocal(args: BaselineArgs): Promise<unknown> {
  return fan(local.runTask, args);
}

/** A child of {@link children}: one task mapping the row `[i]`; regular activity. */
export async function childTask(args: BaselineArgs & { i: number }): Promise<unknown> {
  const { outputs } = await remote.runTask(benchTaskInput(workflowInfo().workflowId, CHILD_TASK_ID, args, { rows: [args.i], expression: BRANCH_EXPRESSION }));
  return outputs;
}

/** {@link childTask} with a local activity. */
export async function childTaskLocal(args: BaselineArgs & { i: number }): Promise<unknown> {
  const { outputs } = await local.runTask(benchTaskInput(workflowInfo().workflowId, CHILD_TASK_ID, args, { rows: [args.i], expression: BRANCH_EXPRESSION }));
  return outputs;
}

async function parent(child: typeof childTask, args: BaselineArgs): Promise<unknown[]> {
  const runId = workflowInfo().workflowId;
  return Promise.all(Array.from({ length: args.n }, (_, i) => executeChild(child, { workflowId: `${runId}-${childId(i)}`, args: [{ ...args, i }] })));
}

/** `n` child workflows at once, each running one task; regular activities. */
export function children(args: BaselineArgs): Promise<unknown[]> {
  return parent(childTask, args);
}

/** {@link children} with local activities. */
export function childrenLocal(args: BaselineArgs): Promise<unknown[]> {
  return parent(childTaskLocal, args);
}

/**
 * The API load benchmark's workflow (bench/api-load.ts `LOAD_MANIFEST`) by hand: a 1 ms durable
 * timer, one map as a local activity (as Maestro runs `tasks/transform.map`), a 1 ms timer.
 */
export async function apiLoad(args: BaselineArgs): Promise<unknown> {
  await sleep(1);
  const { outputs } = await local.runTask(benchTaskInput(workflowInfo().workflowId, LOAD_MAP_ID, args, { rows: SEQ_FIRST_ROWS, expression: BRANCH_EXPRESSION }));
  await sleep(1);
  return outputs;
}
