import jsonata from 'jsonata';
import { defineTask, TaskError } from '../sdk/index.js';
import { jsonataPool, type JsonataFailure, type JsonataLimits } from './jsonata-pool.js';

/** Input of `tasks/transform.map`. */
export interface TransformMapInput {
  rows: unknown[];
  expression: string;
}

/** Output of `tasks/transform.map`. */
export interface TransformMapOutput {
  rows: unknown[];
}

/**
 * Longest one row's evaluation may run before the task fails: JSONata's own guard, and the pool
 * terminates the thread of a row that overruns it (a backtracking regular expression never
 * reaches JSONata's check).
 */
const ROW_TIMEOUT_MS = 1_000;
/** Deepest JSONata evaluation stack, which stops runaway recursion long before Node's stack would. */
const MAX_DEPTH = 500;
/** Functions whose results vary between calls: refused, because the task declares itself deterministic. */
const NON_DETERMINISTIC_FUNCTIONS = ['now', 'millis', 'random'] as const;
/** Most the results may take (as JSON) together; larger data belongs in the artifact store. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const LIMITS: JsonataLimits = { timeoutMs: ROW_TIMEOUT_MS, maxDepth: MAX_DEPTH, forbidden: NON_DETERMINISTIC_FUNCTIONS, maxOutputBytes: MAX_OUTPUT_BYTES };

/** The shape of the errors JSONata throws (plain objects, not `Error`s). */
interface JsonataError {
  code: string;
  message: string;
  position?: number;
  token?: string;
}

/**
 * `tasks/transform.map`: applies a JSONata expression to each row. The row is the expression's input
 * and `$index` its 0-based index; rows for which the expression yields nothing are left out, as
 * JSONata's own `$map` does. JSONata is a query language: nothing in the expression can run
 * JavaScript. The rows are evaluated on a thread of a pool, never on the worker's event loop; each
 * row's evaluation is bounded in time (the thread is terminated past it) and depth, and the
 * results must be JSON and at most 16 MiB.
 *
 * @example
 * - id: names
 *   uses: tasks/transform.map@0.1.0
 *   with: { rows: "${fetch.outputs.body.items}", expression: '{ "id": id, "name": $uppercase(name) }' }
 */
export const transformMap = defineTask<TransformMapInput, TransformMapOutput>({
  name: 'tasks/transform.map',
  version: '0.1.0',
  description: 'Applies a JSONata expression to each row of a list (no JavaScript is ever evaluated).',
  execution: 'local-activity',
  deterministic: true,
  input: {
    type: 'object',
    properties: {
      rows: { type: 'array', description: 'The rows to transform: any JSON values.' },
      expression: {
        type: 'string',
        minLength: 1,
        description: 'JSONata expression evaluated with each row as its input and `$index` bound to the row index.',
      },
    },
    required: ['rows', 'expression'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      rows: { type: 'array', description: 'One result per row, in order; rows that yield nothing are left out.' },
    },
    required: ['rows'],
    additionalProperties: false,
  },
  validate({ expression }) {
    compileExpression(expression);
  },
  async execute({ rows, expression }, ctx) {
    // Compiled here first, so a syntax error is reported without a thread.
    compileExpression(expression);
    const outcome = await jsonataPool().map(expression, rows, LIMITS, ctx.signal);
    if ('rows' in outcome) return { rows: outcome.rows };
    throw rowError(outcome.failure, outcome.index);
  },
});

/** How many compiled expressions the process keeps (a manifest's expressions are few and reused by every run). */
const COMPILED_CACHE_SIZE = 256;

/**
 * Compiled expressions by their text, for the syntax check of `validate` and `execute` (each
 * thread of the pool keeps its own for evaluating).
 */
const compiledExpressions = new Map<string, jsonata.Expression>();

/**
 * The expression compiled, once per text: `validate` and `execute` of every attempt ask for it
 * (compiling `$ + 1` allocated ~22 KB each time). A syntax error is not kept: it is thrown again.
 */
function compileExpression(expression: string): jsonata.Expression {
  let compiled = compiledExpressions.get(expression);
  if (compiled === undefined) {
    if (compiledExpressions.size >= COMPILED_CACHE_SIZE) compiledExpressions.clear();
    compiled = compileNew(expression);
    compiledExpressions.set(expression, compiled);
  }
  return compiled;
}

/** Parses the expression; a syntax error is the caller's input error, located by position. */
function compileNew(expression: string): jsonata.Expression {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expression, { timeout: ROW_TIMEOUT_MS, stack: MAX_DEPTH });
  } catch (error) {
    if (!isJsonataError(error)) throw error;
    throw new TaskError(`expression: ${describe(error)}`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
      details: { path: 'expression', ...located(error) },
    });
  }
  return compiled;
}

/** The task error for a row that failed on its thread. */
function rowError(failure: JsonataFailure, index: number): TaskError {
  switch (failure.kind) {
    case 'jsonata': {
      const timedOut = failure.code === 'D1012';
      return new TaskError(timedOut ? timeoutMessage(index) : `row ${index}: ${describe(failure)}`, {
        code: timedOut ? 'TASK_TIMEOUT' : 'TASK_FAILED',
        retryable: false,
        details: { row: index, ...located(failure) },
      });
    }
    case 'timeout':
      return new TaskError(timeoutMessage(index), { code: 'TASK_TIMEOUT', retryable: false, details: { row: index } });
    case 'forbidden':
      return new TaskError(`$${failure.name}() is not allowed: tasks/transform.map is deterministic`, { code: 'TASK_INPUT_INVALID', retryable: false });
    case 'not-json':
      return new TaskError(`row ${index}: the expression returned a function, which is not JSON`, { code: 'TASK_FAILED', retryable: false, details: { row: index } });
    case 'too-large':
      return new TaskError(`row ${index}: the results take more than ${MAX_OUTPUT_BYTES} bytes`, { code: 'TASK_FAILED', retryable: false, details: { row: index } });
    case 'crashed':
      return new TaskError(`row ${index}: the evaluation's thread died: ${failure.message}`, { code: 'TASK_FAILED', retryable: false, details: { row: index } });
  }
}

function timeoutMessage(index: number): string {
  return `row ${index}: evaluation ran longer than ${ROW_TIMEOUT_MS} ms`;
}

function isJsonataError(error: unknown): error is JsonataError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as Partial<JsonataError>).code === 'string' &&
    typeof (error as Partial<JsonataError>).message === 'string'
  );
}

function describe(error: JsonataError): string {
  const at = error.position === undefined ? '' : ` at position ${error.position}`;
  return `${error.message} (JSONata ${error.code}${at})`;
}

function located(error: JsonataError): Record<string, unknown> {
  return { jsonataCode: error.code, position: error.position, token: error.token };
}
