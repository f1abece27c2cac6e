import { TaskError } from '../errors/index.js';
import { compiledChecks } from './compiled-checks.js';
import { TaskDefinitionError } from './define-task.js';
import { formatSchemaProblems, type SchemaProblem } from './schema.js';
import type { BuiltinTaskDefinition, ExecutableTaskDefinition, JsonSchema, TaskDefinition } from './types.js';

/**
 * Checks a task's input against its `input` schema. The definition's own `validate` hook, if any,
 * is the caller's next step. Compiled validators are cached per schema, so calling this for every
 * attempt is cheap.
 *
 * @throws TaskError with code `TASK_INPUT_INVALID` (never retried) whose message lists every problem
 * as `path: message`; `details.problems` holds them as {@link SchemaProblem}s.
 * @throws {@link TaskDefinitionError} when the definition's schema does not compile.
 */
export function validateTaskInput<In = unknown>(
  definition: ExecutableTaskDefinition<In, unknown> | BuiltinTaskDefinition,
  input: unknown,
): asserts input is In {
  const problems = check(definition, 'input', input);
  if (problems.length > 0) {
    throw new TaskError(`invalid input for ${labelOf(definition)}: ${formatSchemaProblems(problems)}`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
      details: { task: labelOf(definition), problems },
    });
  }
}

/**
 * Checks what a task returned against its `output` schema. An output that breaks the task's own
 * contract is a defect of the task, so retrying cannot help.
 *
 * @throws TaskError with code `TASK_FAILED`, not retryable, listing every problem as `path: message`;
 * `details.problems` holds them as {@link SchemaProblem}s.
 * @throws {@link TaskDefinitionError} when the definition's schema does not compile.
 */
export function validateTaskOutput<Out = unknown>(
  definition: ExecutableTaskDefinition<unknown, Out> | BuiltinTaskDefinition,
  output: unknown,
): asserts output is Out {
  const problems = check(definition, 'output', output);
  if (problems.length > 0) {
    throw new TaskError(`${labelOf(definition)} returned output that breaks its schema: ${formatSchemaProblems(problems)}`, {
      code: 'TASK_FAILED',
      retryable: false,
      details: { task: labelOf(definition), problems },
    });
  }
}

function check(definition: TaskDefinition, role: 'input' | 'output', value: unknown): SchemaProblem[] {
  const schema: JsonSchema = definition[role];
  const compiled = compiledChecks(schema);
  if (!compiled.ok) {
    throw new TaskDefinitionError(labelOf(definition), [`${role} schema does not compile: ${compiled.message}`]);
  }
  return compiled.check(value);
}

function labelOf(definition: TaskDefinition): string {
  return `${definition.name}@${definition.version}`;
}
