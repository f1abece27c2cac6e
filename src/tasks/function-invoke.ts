import { TaskError } from '../sdk/index.js';
import { defineRemoteTask, type FunctionInvocation, type FunctionResult } from '../runners/index.js';

/** Input of `tasks/function.invoke`. */
export type FunctionInvokeInput = FunctionInvocation;
/** Output of `tasks/function.invoke`. */
export type FunctionInvokeOutput = FunctionResult;

/**
 * `tasks/function.invoke` (alpha): invokes a serverless function from the worker's function
 * table (`MAESTRO_FUNCTIONS`: an HTTP function, Knative or OpenFaaS style, or an AWS Lambda) with
 * `runsOn: serverless`. Every invocation carries an idempotency key derived from the run and the
 * task, so a retried invocation never doubles the function's effect (see the serverless runner).
 *
 * @example
 * - id: thumbnail
 *   uses: tasks/function.invoke@0.1.0
 *   runsOn: serverless
 *   with: { function: resize, payload: { key: "${params.image}", width: 256 } }
 */
export const functionInvoke = defineRemoteTask<FunctionInvokeInput, FunctionInvokeOutput>({
  name: 'tasks/function.invoke',
  version: '0.1.0',
  description: 'Invokes a serverless function (runsOn: serverless) with an idempotency key; returns its status and JSON result.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      function: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]*$', description: "A function's name in the worker's function table." },
      payload: { description: 'The request body (any JSON).' },
    },
    required: ['function'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      status: { type: 'integer', description: 'HTTP status (200 for Lambda).' },
      result: { description: "The function's response: parsed JSON, or text." },
    },
    required: ['status', 'result'],
    additionalProperties: false,
  },
  invocation: (input) => ({ function: input.function, payload: input.payload ?? null }),
  async execute() {
    throw new TaskError('tasks/function.invoke runs only with runsOn: serverless', { code: 'TASK_INPUT_INVALID', retryable: false });
  },
});
