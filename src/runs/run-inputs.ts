/**
 * The start inputs (IR, params, principal …) of the runs this process read or started lately: a
 * run's input never changes, so it is read from its history once, or not at all when this
 * process started the run, and then kept among the last {@link INPUTS_KEPT}.
 */
import type { Client } from '@temporalio/client';
import type { InterpreterInput } from '../ir/index.js';
import { runInput } from './temporal.js';

/** Start inputs by run id, least lately used first. */
const inputs = new Map<string, Promise<InterpreterInput>>();
/** How many start inputs are kept (an IR can be large). */
const INPUTS_KEPT = 64;

function keep(runId: string, input: Promise<InterpreterInput>): Promise<InterpreterInput> {
  inputs.delete(runId);
  inputs.set(runId, input);
  if (inputs.size > INPUTS_KEPT) inputs.delete(inputs.keys().next().value as string);
  return input;
}

/** The run's start input, read from its history unless kept. */
export function cachedRunInput(client: Client, runId: string): Promise<InterpreterInput> {
  const kept = inputs.get(runId);
  if (kept !== undefined) return keep(runId, kept);
  const input = runInput(client, runId);
  // A failed read is not kept: the next one tries again.
  input.catch(() => inputs.get(runId) === input && inputs.delete(runId));
  return keep(runId, input);
}

/**
 * Keeps the input of a run this process has just started, as Temporal took it: the client that
 * waits for the run (`POST /runs?wait`) or reads it next (`GET /runs/{runId}`) does not read its
 * history for it. Call it only once the start succeeded: a start refused because the run id was
 * taken must not shadow that run's own input.
 */
export function rememberRunInput(runId: string, input: InterpreterInput): void {
  keep(runId, Promise.resolve(input));
}
