// The thread side of `tasks/transform.map`'s JSONata pool (see jsonata-pool.ts): evaluates rows
// off the worker's and the API's event loop, so that the pool can stop a runaway evaluation (a
// regular expression that backtracks for minutes never yields) by terminating this thread.
// Plain JavaScript: a thread starts without the TypeScript loader of its parent.
import { parentPort } from 'node:worker_threads';
import jsonata from 'jsonata';

/** Compiled expressions by text, per thread (a manifest's expressions are few and reused by every run). */
const compiled = new Map();
const COMPILED_CACHE_SIZE = 256;
/** A batch's results are sent once they have taken this long, so the pool sees progress row by row. */
const FLUSH_INTERVAL_MS = 10;

/** Thrown by a function the task refuses; becomes TASK_INPUT_INVALID in the pool. */
class Forbidden {
  constructor(name) {
    this.forbidden = name;
  }
}

function compile(expression, { timeoutMs, maxDepth, forbidden }) {
  let expr = compiled.get(expression);
  if (expr === undefined) {
    if (compiled.size >= COMPILED_CACHE_SIZE) compiled.clear();
    expr = jsonata(expression, { timeout: timeoutMs, stack: maxDepth });
    for (const name of forbidden) {
      expr.registerFunction(name, () => {
        throw new Forbidden(name);
      });
    }
    compiled.set(expression, expr);
  }
  return expr;
}

/** A JavaScript function, or one of JSONata's function values (lambdas and built-ins). */
function isFunction(value) {
  if (typeof value === 'function') return true;
  return typeof value === 'object' && value !== null && ('_jsonata_lambda' in value || '_jsonata_function' in value);
}

/** Copies a result into plain JSON; `undefined` when it holds a function, which is not JSON. */
function toJson(value) {
  if (value === undefined) return null;
  if (isFunction(value)) return undefined;
  if (Array.isArray(value)) {
    const out = [];
    for (const item of value) {
      const copy = toJson(item);
      if (copy === undefined) return undefined;
      out.push(copy);
    }
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const copy = toJson(item);
    if (copy === undefined) return undefined;
    out[key] = copy;
  }
  return out;
}

/** What JSONata threw, as data the pool can read (JSONata throws plain objects, not Errors). */
function failure(error) {
  if (error instanceof Forbidden) return { forbidden: error.forbidden };
  if (typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string') {
    return { jsonata: { code: error.code, message: error.message, position: error.position, token: error.token } };
  }
  return { internal: error instanceof Error ? error.message : String(error) };
}

parentPort.on('message', async ({ expression, rows, firstIndex, limits }) => {
  let results = [];
  let bytes = 0;
  let lastFlush = performance.now();
  let index = firstIndex;
  try {
    const expr = compile(expression, limits);
    for (const row of rows) {
      const value = await expr.evaluate(row, { index });
      if (value !== undefined) {
        const json = toJson(value);
        if (json === undefined) {
          parentPort.postMessage({ results, index, error: { notJson: true } });
          return;
        }
        bytes += JSON.stringify(json)?.length ?? 4;
        if (bytes > limits.maxOutputBytes) {
          parentPort.postMessage({ results, index, error: { tooLarge: bytes } });
          return;
        }
        results.push(json);
      }
      index += 1;
      if (performance.now() - lastFlush >= FLUSH_INTERVAL_MS) {
        parentPort.postMessage({ results, index });
        results = [];
        lastFlush = performance.now();
      }
    }
    parentPort.postMessage({ results, index, done: true });
  } catch (error) {
    parentPort.postMessage({ results, index, error: failure(error) });
  }
});

// Ready: the pool times rows only from here, not the thread's start.
parentPort.postMessage({ ready: true });
