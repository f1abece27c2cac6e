import { setImmediate as nextMacrotask } from 'node:timers/promises';
import jsonata from 'jsonata';
import { isMaestroError } from '../../errors/index.js';
import { defineTask, TaskError } from '../../sdk/index.js';

/** Input of `tasks/transform.map`. */
export interface TransformMapInput {
  rows: unknown[];
  expression: string;
}

/** Output of `tasks/transform.map`. */
export interface TransformMapOutput {
  rows: unknown[];
}

/** Longest one row's evaluation may run before the task fails (JSONata's own guard). */
const ROW_TIMEOUT_MS = 1_000;
/** Deepest JSONata evaluation stack, which stops runaway recursion long before Node's stack would. */
const MAX_DEPTH = 500;
/**
 * JSONata evaluates in microtasks only, so nothing else on the worker runs until it yields: give the
 * event loop a turn this often, so cancellation and timeouts can abort `ctx.signal` mid-way.
 */
const YIELD_INTERVAL_MS = 20;
/** Functions whose results vary between calls: refused, because the task declares itself deterministic. */
const NON_DETERMINISTIC_FUNCTIONS = ['now', 'millis', 'random'] as const;

/** The shape of the errors JSONata throws (plain objects, not `Error`s). */
interface JsonataFailure {
  code: string;
  message: string;
  position?: number;
  token?: string;
}

/**
 * `tasks/transform.map`: applies a JSONata expression to each row. The row is the expression's input
 * and `$index` its 0-based index; rows for which the expression yields nothing are left out, as
 * JSONata's own `$map` does. JSONata is a query language: nothing in the expression can run
 * JavaScript. Each row's evaluation is bounded in time and depth, and the results must be JSON.
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
    const compiled = compileExpression(expression);
    const results: unknown[] = [];
    let lastYield = performance.now();
    for (const [index, row] of rows.entries()) {
      if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
        await nextMacrotask();
        lastYield = performance.now();
      }
      ctx.signal.throwIfAborted();
      const result = await evaluateRow(compiled, row, index);
      if (result !== undefined) results.push(toJson(result, index));
    }
    return { rows: results };
  },
});

/** How many compiled expressions the process keeps (a manifest's expressions are few and reused by every run). */
const COMPILED_CACHE_SIZE = 256;

/**
 * Compiled expressions by their text. Sharing one between attempts and concurrent evaluations is
 * safe: JSONata keeps an evaluation's state, its time and depth guards included, in a frame of its
 * own per `evaluate`, and the functions registered on the expression are the same for every text.
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
    if (!isJsonataFailure(error)) throw error;
    throw new TaskError(`expression: ${describe(error)}`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
      details: { path: 'expression', ...located(error) },
    });
  }
  for (const name of NON_DETERMINISTIC_FUNCTIONS) {
    compiled.registerFunction(name, () => {
      throw new TaskError(`$${name}() is not allowed: tasks/transform.map is deterministic`, {
        code: 'TASK_INPUT_INVALID',
        retryable: false,
      });
    });
  }
  return compiled;
}

async function evaluateRow(compiled: jsonata.Expression, row: unknown, index: number): Promise<unknown> {
  try {
    return await compiled.evaluate(row, { index });
  } catch (error) {
    if (isMaestroError(error) || !isJsonataFailure(error)) throw error;
    const timedOut = error.code === 'D1012';
    throw new TaskError(
      timedOut ? `row ${index}: evaluation ran longer than ${ROW_TIMEOUT_MS} ms` : `row ${index}: ${describe(error)}`,
      { code: timedOut ? 'TASK_TIMEOUT' : 'TASK_FAILED', retryable: false, details: { row: index, ...located(error) } },
    );
  }
}

/** Copies a JSONata result into plain JSON; a function in it cannot become a task output. */
function toJson(value: unknown, index: number): unknown {
  if (value === undefined) return null;
  if (isFunction(value)) {
    throw new TaskError(`row ${index}: the expression returned a function, which is not JSON`, {
      code: 'TASK_FAILED',
      retryable: false,
      details: { row: index },
    });
  }
  if (Array.isArray(value)) return value.map((item) => toJson(item, index));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = toJson(item, index);
  return copy;
}

/** A JavaScript function, or one of JSONata's function values (lambdas and built-ins). */
function isFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  return typeof value === 'object' && value !== null && ('_jsonata_lambda' in value || '_jsonata_function' in value);
}

function isJsonataFailure(error: unknown): error is JsonataFailure {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as Partial<JsonataFailure>).code === 'string' &&
    typeof (error as Partial<JsonataFailure>).message === 'string'
  );
}

function describe(error: JsonataFailure): string {
  const at = error.position === undefined ? '' : ` at position ${error.position}`;
  return `${error.message} (JSONata ${error.code}${at})`;
}

function located(error: JsonataFailure): Record<string, unknown> {
  return { jsonataCode: error.code, position: error.position, token: error.token };
}
