import semver from 'semver';
import { MaestroError, type MaestroErrorOptions } from '../errors/index.js';
import { isRecord } from '../ir/values.js';
import { compiledChecks } from './compiled-checks.js';
import type { BuiltinTaskDefinition, ExecutableTaskDefinition, TaskDefinition } from './types.js';

/** A catalog task name, `group/name`: lower case, e.g. `tasks/http.request`, `connectors/s3.put`. */
export const TASK_NAME_PATTERN = /^[a-z][a-z0-9-]*\/[a-z][a-z0-9.-]*$/;

/**
 * Marks what {@link defineTask} returned. A registered symbol, so a definition made through another
 * copy of the SDK (a task package with its own install) is still recognised.
 */
const DEFINED_TASK = Symbol.for('@summit/maestro/sdk.task-definition');

const BUILTIN_EXECUTIONS: ReadonlySet<string> = new Set(['timer', 'approval', 'signal']);

/** Whether the interpreter carries a task out itself (a timer, an approval gate, a signal wait): it has no code to run. */
export function isBuiltinTask(definition: TaskDefinition): definition is BuiltinTaskDefinition {
  return BUILTIN_EXECUTIONS.has(definition.execution ?? 'activity');
}
const EXECUTABLE_EXECUTIONS: ReadonlySet<string> = new Set(['activity', 'local-activity']);

/**
 * A task definition that cannot be used: bad name or version, a schema Ajv cannot compile, or an
 * `execution` that does not fit the definition. Raised when the module defining the task loads, so
 * the worker refuses to start (code `CONFIG_INVALID`).
 */
export class TaskDefinitionError extends MaestroError {
  constructor(
    readonly task: string,
    readonly problems: string[],
    options: MaestroErrorOptions = {},
  ) {
    super('CONFIG_INVALID', `task definition "${task}" is invalid: ${problems.join('; ')}`, options);
  }
}

/**
 * Checks a task definition and returns it, frozen. `In` and `Out` type `execute`'s input and result;
 * the JSON Schemas `input` and `output` are what the worker checks at run time, so keep them in step.
 *
 * @throws {@link TaskDefinitionError} when the name is not `group/name`, the version is not an exact
 * semver version, `input` is not an object schema, a schema does not compile, or `execution` does
 * not match the presence of `execute`.
 *
 * @example
 * export default defineTask<{ name: string }, { greeting: string }>({
 *   name: 'examples/hello',
 *   version: '0.1.0',
 *   description: 'Greets someone.',
 *   input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
 *   output: { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] },
 *   async execute({ name }) {
 *     return { greeting: `Hello, ${name}!` };
 *   },
 * });
 */
export function defineTask<In = Record<string, unknown>, Out = unknown>(
  definition: ExecutableTaskDefinition<In, Out>,
): ExecutableTaskDefinition<In, Out>;
export function defineTask(definition: BuiltinTaskDefinition): BuiltinTaskDefinition;
export function defineTask(definition: TaskDefinition): TaskDefinition {
  const label = `${String(definition.name)}@${String(definition.version)}`;
  const problems = definitionProblems(definition);
  if (problems.length > 0) throw new TaskDefinitionError(label, problems);
  deepFreeze(definition.input);
  deepFreeze(definition.output);
  Object.defineProperty(definition, DEFINED_TASK, { value: true });
  return Object.freeze(definition);
}

/**
 * Whether `value` is a task definition returned by {@link defineTask} (checked and frozen), as
 * opposed to any object of the same shape.
 *
 * @example
 * const tasks = Object.values(await import(file)).filter(isTaskDefinition);
 */
export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'object' && value !== null && (value as { [DEFINED_TASK]?: unknown })[DEFINED_TASK] === true;
}

function definitionProblems(definition: TaskDefinition): string[] {
  const problems: string[] = [];
  if (typeof definition.name !== 'string' || !TASK_NAME_PATTERN.test(definition.name)) {
    problems.push('name must be group/name in lower case, e.g. tasks/http.request');
  }
  if (typeof definition.version !== 'string' || semver.valid(definition.version) !== definition.version) {
    problems.push('version must be an exact semver version such as 1.2.0');
  }
  if (typeof definition.description !== 'string' || definition.description.trim() === '') {
    problems.push('description must not be empty');
  }
  problems.push(...executionProblems(definition));
  if (isRecord(definition.input) && definition.input['type'] !== 'object') {
    problems.push('input must be a schema of type "object" (a task receives its `with` map)');
  }
  for (const role of ['input', 'output'] as const) {
    const schema: unknown = definition[role];
    if (!isRecord(schema)) {
      problems.push(`${role} must be a JSON Schema object`);
      continue;
    }
    const compiled = compiledChecks(schema);
    if (!compiled.ok) problems.push(`${role} schema does not compile: ${compiled.message}`);
  }
  return problems;
}

function executionProblems(definition: TaskDefinition): string[] {
  const execution: unknown = definition.execution ?? 'activity';
  const hasExecute = 'execute' in definition && typeof definition.execute === 'function';
  if (typeof execution === 'string' && BUILTIN_EXECUTIONS.has(execution)) {
    return hasExecute ? [`execution "${execution}" is carried out by the interpreter: remove execute`] : [];
  }
  if (typeof execution === 'string' && EXECUTABLE_EXECUTIONS.has(execution)) {
    return hasExecute ? [] : [`execution "${execution}" needs an execute function`];
  }
  return [`execution must be one of activity, local-activity, timer, approval, signal (got ${JSON.stringify(execution)})`];
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
