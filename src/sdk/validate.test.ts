import { describe, expect, it } from 'vitest';
import { defineTask, TaskError, validateTaskInput, validateTaskOutput } from './index.js';

const task = defineTask<{ rows: { id: number }[]; label?: string }, { count: number }>({
  name: 'tests/count',
  version: '1.0.0',
  description: 'Counts rows.',
  input: {
    type: 'object',
    properties: {
      rows: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } },
      label: { type: 'string' },
    },
    required: ['rows'],
    additionalProperties: false,
  },
  output: { type: 'object', properties: { count: { type: 'integer' } }, required: ['count'] },
  execute: async ({ rows }) => ({ count: rows.length }),
});

function thrown(action: () => void): TaskError {
  try {
    action();
  } catch (error) {
    if (error instanceof TaskError) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
}

describe('validateTaskInput', () => {
  it('accepts input matching the schema', () => {
    expect(() => validateTaskInput(task, { rows: [{ id: 1 }] })).not.toThrow();
  });

  it('lists every problem as path: message, not retryable', () => {
    const error = thrown(() => validateTaskInput(task, { rows: [{ id: 'x' }, {}], extra: true }));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'invalid input for tests/count@1.0.0: extra: is not an allowed property; rows[0].id: must be integer; rows[1].id: is required',
    );
    expect(error.details?.['problems']).toHaveLength(3);
  });

  it('reports a missing input as the root', () => {
    expect(thrown(() => validateTaskInput(task, undefined)).message).toContain('(root): must be object');
  });
});

describe('validateTaskOutput', () => {
  it('accepts output matching the schema', () => {
    expect(() => validateTaskOutput(task, { count: 2 })).not.toThrow();
  });

  it('fails the task, not retryable, when the output breaks the schema', () => {
    const error = thrown(() => validateTaskOutput(task, { count: 1.5 }));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('count: must be integer');
  });
});
