/**
 * The Maestro task SDK (`@summit/maestro/sdk`): define a task, validate its input and output, and
 * test it with a recording context.
 *
 * @example
 * import { defineTask, TaskError } from '@summit/maestro/sdk';
 */
export { defineTask, isBuiltinTask, isTaskDefinition, TaskDefinitionError, TASK_NAME_PATTERN } from './define-task.js';
export { validateTaskInput, validateTaskOutput } from './validate.js';
export {
  compileJsonSchema,
  dialectOf,
  formatSchemaProblems,
  type CompileSchemaOptions,
  type CompileSchemaResult,
  type JsonSchemaDialect,
  type SchemaCheck,
  type SchemaProblem,
} from './schema.js';
export { createTestContext, type TestContextOptions, type TestLogRecord, type TestTaskContext } from './testing.js';
export { TaskError, type ErrorCode, type MaestroErrorOptions } from '../errors/index.js';
export type * from './types.js';
