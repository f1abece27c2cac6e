/**
 * The start inputs (IR, params, principal …) of runs this process read or started lately: a run's
 * input never changes, so it is read from its history once, or not at all when this process
 * started the run. And the executions of the runs it started lately, as they started.
 */
import type { Client } from '@temporalio/client';
import type { InterpreterInput } from '../ir/index.js';
import { runInput, type RunExecution } from './temporal.js';

/** How many start inputs each of the two maps below keeps (an IR can be large). */
const INPUTS_KEPT = 64;
/** Inputs read lately, by run id, least lately used first. */
const read = new Map<string, Promise<InterpreterInput>>();
/**
 * Inputs of the runs this process started lately, oldest first, until one is read (it moves to
 * `read`): apart, so that a burst of starts does not push out the inputs of runs being read.
 */
const started = new Map<string, InterpreterInput>();
/** How many executions {@link startedExecutions} keeps: a few hundred bytes each. */
const EXECUTIONS_KEPT = 1024;
/** The executions of the runs this process started lately, as they started, oldest first. */
const startedExecutions = new Map<string, RunExecution>();

function keep<T>(map: Map<string, T>, runId: string, value: T, limit = INPUTS_KEPT): T {
  map.delete(runId);
  map.set(runId, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
  return value;
}

/** The run's start input, read from its history unless kept. */
export function cachedRunInput(client: Client, runId: string): Promise<InterpreterInput> {
  const kept = read.get(runId);
  if (kept !== undefined) return keep(read, runId, kept);
  const ours = started.get(runId);
  if (ours !== undefined) {
    started.delete(runId);
    return keep(read, runId, Promise.resolve(ours));
  }
  const input = runInput(client, runId);
  // A failed read is not kept: the next one tries again.
  input.catch(() => read.get(runId) === input && read.delete(runId));
  return keep(read, runId, input);
}

/**
 * Keeps the input of a run this process has just started, as Temporal took it, and its execution:
 * the client that waits for the run (`POST /runs?wait`, `GET /runs/{runId}?wait`) or reads it next
 * does not read its history for the input, nor describe the run to wait for it. Call it only once
 * the start succeeded: a start refused because the run id was taken must not shadow that run's own.
 * @param priority the start's, which Temporal alone holds otherwise
 */
export function rememberStartedRun(runId: string, input: InterpreterInput, priority?: number): void {
  keep(started, runId, input);
  const execution: RunExecution = {
    runId,
    workflow: input.ir.name,
    version: input.ir.version,
    digest: input.digest,
    namespace: input.namespace ?? 'default',
    status: 'RUNNING',
    closed: false,
    startedAt: new Date().toISOString(),
    ...(priority === undefined ? {} : { priority }),
  };
  keep(startedExecutions, runId, execution, EXECUTIONS_KEPT);
}

/**
 * The execution of a run this process started lately, as it started (`RUNNING`, whatever it is
 * now: for a caller that learns the run's end itself, as a wait does), else undefined.
 */
export function startedExecution(runId: string): RunExecution | undefined {
  return startedExecutions.get(runId);
}
