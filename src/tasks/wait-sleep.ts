import { defineTask } from '../sdk/index.js';
import { durationSchema } from './schemas.js';

/**
 * `tasks/wait.sleep`: waits for a duration as a durable Temporal timer, so the wait survives worker
 * restarts and costs no worker while it runs. The interpreter carries it out; there is no code here.
 *
 * @example
 * - id: settle
 *   uses: tasks/wait.sleep@0.1.0
 *   with: { duration: 30s }
 */
export const waitSleep = defineTask({
  name: 'tasks/wait.sleep',
  version: '0.1.0',
  description: 'Waits for a duration, as a durable timer that survives worker restarts.',
  execution: 'timer',
  deterministic: true,
  input: {
    type: 'object',
    description: 'Exactly one of `ms` or `duration`.',
    properties: {
      ms: { type: 'integer', minimum: 0, description: 'How long to wait, in milliseconds.' },
      duration: durationSchema('How long to wait, e.g. `500ms`, `5s`, `1.5m`, `1h`, `2d`.'),
    },
    oneOf: [{ required: ['ms'] }, { required: ['duration'] }],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      slept: { type: 'number', minimum: 0, description: 'How long the task waited, in milliseconds.' },
    },
    required: ['slept'],
    additionalProperties: false,
  },
});
