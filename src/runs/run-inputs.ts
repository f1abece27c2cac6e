/**
 * The start inputs (IR, params, principal …) of runs this process read or started lately: a run's
 * input never changes, so it is read from its history once, or not at all when this process
 * started the run.
 */
import type { Client } from '@temporalio/client';
import type { InterpreterInput } from '../ir/index.js';
import { runInput } from './temporal.js';

/** How many start inputs each of the two maps below keeps (an IR can be large). */
const INPUTS_KEPT = 64;
/** Inputs read lately, by run id, least lately used first. */
const read = new Map<string, Promise<InterpreterInput>>();
/**
 * Inputs of the runs this process started lately, oldest first, until one is read (it moves to
 * `read`): apart, so that a burst of starts does not push out the inputs of runs being read.
 */
const started = new Map<string, InterpreterInput>();

function keep<T>(map: Map<string, T>, runId: string, value: T): T {
  map.delete(runId);
  map.set(runId, value);
  if (map.size > INPUTS_KEPT) map.delete(map.keys().next().value as string);
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
 * Keeps the input of a run this process has just started, as Temporal took it: the client that
 * waits for the run (`POST /runs?wait`) or reads it next (`GET /runs/{runId}`) does not read its
 * history for it. Call it only once the start succeeded: a start refused because the run id was
 * taken must not shadow that run's own input.
 */
export function rememberRunInput(runId: string, input: InterpreterInput): void {
  keep(started, runId, input);
}
