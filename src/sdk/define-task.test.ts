import { describe, expect, it } from 'vitest';
import { defineTask, TaskDefinitionError } from './index.js';

const objectSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };

function hello(overrides: Record<string, unknown> = {}) {
  return {
    name: 'examples/hello',
    version: '0.1.0',
    description: 'Greets someone.',
    input: objectSchema,
    output: { type: 'object' },
    execute: async ({ name }: { name: string }) => ({ greeting: `Hello, ${name}!` }),
    ...overrides,
  };
}

function problemsOf(definition: Record<string, unknown>): string[] {
  try {
    defineTask(definition as never);
  } catch (error) {
    if (error instanceof TaskDefinitionError) return error.problems;
    throw error;
  }
  throw new Error('defineTask accepted the definition');
}

describe('defineTask', () => {
  it('returns the definition, frozen, with execute typed by its type parameters', async () => {
    const task = defineTask<{ name: string }, { greeting: string }>({
      ...hello(),
      async execute({ name }) {
        return { greeting: `Hello, ${name}!` };
      },
    });
    expect(Object.isFrozen(task)).toBe(true);
    expect(Object.isFrozen(task.input)).toBe(true);
    const out: { greeting: string } = await task.execute({ name: 'Ada' }, undefined as never);
    expect(out).toEqual({ greeting: 'Hello, Ada!' });
  });

  it('accepts a builtin task without execute', () => {
    const gate = defineTask({ ...hello(), execute: undefined, execution: 'approval' } as never);
    expect(gate.execution).toBe('approval');
  });

  it('is a CONFIG_INVALID error naming the task', () => {
    expect(() => defineTask(hello({ name: 'Bad Name' }) as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', task: 'Bad Name@0.1.0' }),
    );
  });

  it.each([
    ['a name without a group', { name: 'hello' }, 'name must be group/name'],
    ['an upper-case name', { name: 'Tasks/Hello' }, 'name must be group/name'],
    ['a version range', { version: '^0.1.0' }, 'exact semver version'],
    ['a v-prefixed version', { version: 'v0.1.0' }, 'exact semver version'],
    ['an empty description', { description: ' ' }, 'description must not be empty'],
    ['a non-object input schema', { input: { type: 'string' } }, 'input must be a schema of type "object"'],
    ['an input schema that does not compile', { input: { type: 'object', properties: { a: { type: 'nope' } } } }, 'input schema does not compile'],
    ['an output schema with an unknown keyword', { output: { type: 'object', requird: ['a'] } }, 'output schema does not compile'],
    ['an unknown execution', { execution: 'thread' }, 'execution must be one of'],
    ['a timer with execute', { execution: 'timer' }, 'remove execute'],
    ['an activity without execute', { execute: undefined }, 'needs an execute function'],
  ])('refuses %s', (_, overrides, problem) => {
    expect(problemsOf(hello(overrides)).join('\n')).toContain(problem);
  });

  it('lists every problem at once', () => {
    expect(problemsOf(hello({ name: 'x', version: '1', description: '' }))).toHaveLength(3);
  });
});
