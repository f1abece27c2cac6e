import { describe, expect, it } from 'vitest';
import { createTestContext, validateTaskInput } from '../sdk/index.js';
import { schemaValidate } from './schema-validate.js';
import { taskFailure } from '../../test/tasks/helpers.js';

const run = (schema: Record<string, unknown>, data: unknown) => schemaValidate.execute({ schema, data }, createTestContext());

const person = {
  type: 'object',
  properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' }, age: { type: 'integer', minimum: 0 } },
  required: ['name'],
};

describe('tasks/schema.validate', () => {
  it('outputs valid: true for matching data', async () => {
    await expect(run(person, { name: 'Ada', email: 'ada@example.com' })).resolves.toEqual({ valid: true });
  });

  it('fails, not retryable, listing every problem as path: message', async () => {
    const error = await taskFailure(run(person, { email: 'nope', age: -1 }));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'data does not match the schema: name: is required; email: must match format "email"; age: must be >= 0',
    );
    expect(error.details?.['errors']).toEqual([
      { path: 'name', message: 'is required' },
      { path: 'email', message: 'must match format "email"' },
      { path: 'age', message: 'must be >= 0' },
    ]);
  });

  it('validates draft-07 schemas, as the seed runbooks write them', async () => {
    const seed = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' };
    await expect(run(seed, { source: 'demo' })).resolves.toEqual({ valid: true });
    const tuple = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }] };
    expect((await taskFailure(run(tuple, [1]))).message).toContain('[0]: must be string');
  });

  it('validates 2020-12 schemas, the default', async () => {
    const tuple = { type: 'array', prefixItems: [{ type: 'string' }], items: false };
    await expect(run(tuple, ['a'])).resolves.toEqual({ valid: true });
    expect((await taskFailure(run(tuple, ['a', 'b']))).message).toContain('(root): must NOT have more than 1 items');
  });

  it('ignores unknown keywords and formats, as JSON Schema specifies', async () => {
    await expect(run({ type: 'string', format: 'colour', 'x-owner': 'data' }, 'red')).resolves.toEqual({ valid: true });
  });

  it.each([
    ['a schema that does not compile', { type: 'object', properties: { a: { type: 'nope' } } }],
    ['an unsupported $schema', { $schema: 'http://json-schema.org/draft-04/schema#' }],
  ])('refuses %s as TASK_INPUT_INVALID', async (_, schema) => {
    const error = await taskFailure(run(schema, {}));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toMatch(/^schema: /);
    expect(() => schemaValidate.validate?.({ schema, data: {} })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
  });

  it('requires both schema and data', () => {
    expect(() => validateTaskInput(schemaValidate, { schema: { type: 'object' } })).toThrow('data: is required');
  });
});
