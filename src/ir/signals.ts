/**
 * Bounds of a signal's payload, checked alike by the API (400 before anything is signed), by the
 * interpreter's `signal` validator (a forged update straight to Temporal is refused before it
 * reaches history) and by the worker's `verifySignal` activity. Workflow-safe: no Node imports.
 */
import { jsonTooDeep } from './json-depth.js';

/** Largest signal payload, as JSON text: it is recorded in the run's history and becomes a task's output. */
export const SIGNAL_PAYLOAD_MAX_BYTES = 64 * 1024;
/** Deepest nesting of arrays and objects in a signal payload. */
export const SIGNAL_PAYLOAD_MAX_DEPTH = 32;
/** Longest signal name. */
export const SIGNAL_NAME_MAX_LENGTH = 200;

/**
 * What is wrong with a signal payload's size or depth, or `undefined`: JSON text of at most
 * {@link SIGNAL_PAYLOAD_MAX_BYTES} characters, nested at most {@link SIGNAL_PAYLOAD_MAX_DEPTH} deep.
 * A value too deep to serialise at all (only a raw Temporal client can send one) is refused too.
 *
 * @example
 * signalPayloadProblem({ version: '1.2.3' }) // undefined
 */
export function signalPayloadProblem(payload: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch {
    return 'payload is not serialisable JSON';
  }
  if (text === undefined) return 'payload must be a JSON value';
  // Characters, not bytes: a bound the sandbox can count without an encoder (at most 3 bytes each).
  if (text.length > SIGNAL_PAYLOAD_MAX_BYTES) return `payload is ${text.length} characters of JSON; at most ${SIGNAL_PAYLOAD_MAX_BYTES} are allowed`;
  if (jsonTooDeep(text, SIGNAL_PAYLOAD_MAX_DEPTH)) return `payload nests deeper than ${SIGNAL_PAYLOAD_MAX_DEPTH} levels`;
  return undefined;
}
