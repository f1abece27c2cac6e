import { SIGNAL_NAME_MAX_LENGTH, signalPayloadProblem } from '../ir/index.js';
import { defineTask, formatSchemaProblems, type JsonSchema } from '../sdk/index.js';
import { cachedSchemaCheck } from './schema-validate.js';
import { durationSchema } from './schemas.js';

/**
 * `ops/wait.signal`: waits until `POST /runs/{runId}/signals {name, payload}` delivers a payload
 * for `name` that matches `schema`; the payload becomes the task's output. Fails with `TIMEOUT`
 * when `timeout` passes first. The interpreter carries it out (the run shows `WAITING`); the API
 * checks the payload for its 400 and signs it, and the worker checks the signature and the payload
 * again before the task takes it.
 *
 * @example
 * - id: release
 *   uses: ops/wait.signal@0.1.0
 *   with: { name: release-approved, timeout: 2h, schema: { type: object, required: [version] } }
 */
export const waitSignal = defineTask({
  name: 'ops/wait.signal',
  version: '0.1.0',
  description: 'Waits for a named signal (POST /runs/{runId}/signals) whose payload matches a JSON Schema; the payload is the output.',
  execution: 'signal',
  input: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: SIGNAL_NAME_MAX_LENGTH, description: 'The signal to wait for; every task waiting for it when it arrives takes it.' },
      schema: { type: 'object', description: 'A JSON Schema (draft-07, 2019-09 or 2020-12 by its `$schema`) the payload must match; any JSON value when absent. Written out in the manifest.' },
      timeout: durationSchema('How long to wait before the task fails with TIMEOUT.'),
    },
    required: ['name', 'timeout'],
    additionalProperties: false,
  },
  output: { description: 'The payload of the signal, as sent.' },
});

/**
 * What is wrong with a signal payload for a wait with `schema`, or `undefined`: too large or too
 * deep (see `signalPayloadProblem`), a schema that does not compile, or the schema's problems as
 * `path: message; ...`. Deterministic; runs in the API (for its 400) and in the worker's
 * `verifySignal` activity, never in the workflow sandbox.
 */
export function signalPayloadProblems(payload: unknown, schema: Record<string, unknown> | undefined): string | undefined {
  const bounds = signalPayloadProblem(payload);
  if (bounds !== undefined || schema === undefined) return bounds;
  const compiled = cachedSchemaCheck(schema as JsonSchema);
  if (!compiled.ok) return `the waiting task's schema does not compile: ${compiled.message}`;
  const problems = compiled.check(payload);
  return problems.length === 0 ? undefined : `payload does not match the schema: ${formatSchemaProblems(problems)}`;
}
