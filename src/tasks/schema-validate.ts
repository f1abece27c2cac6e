import canonicalize from 'canonicalize';
import { compileJsonSchema, defineTask, formatSchemaProblems, TaskError, type JsonSchema, type SchemaCheck } from '../sdk/index.js';

/** Input of `tasks/schema.validate`. */
export interface SchemaValidateInput {
  schema: JsonSchema;
  data: unknown;
}

/** Output of `tasks/schema.validate`. */
export interface SchemaValidateOutput {
  valid: true;
}

/** Compiled user schemas kept per worker, so a workflow validating many items compiles once. */
const CACHE_SIZE = 64;
const cache = new Map<string, SchemaCheck>();

/**
 * `tasks/schema.validate`: checks `data` against a JSON Schema (draft-07, 2019-09 or 2020-12, chosen
 * by the schema's `$schema`; 2020-12 when it has none). Data that does not match fails the task,
 * not retryable, listing every problem; unknown keywords and formats are ignored, as JSON Schema
 * specifies for keywords it does not define.
 *
 * @example
 * - id: validate
 *   uses: tasks/schema.validate@0.1.0
 *   with: { schema: { type: object, required: [id] }, data: "${fetch.outputs.body}" }
 */
export const schemaValidate = defineTask<SchemaValidateInput, SchemaValidateOutput>({
  name: 'tasks/schema.validate',
  version: '0.1.0',
  description: 'Checks data against a JSON Schema (draft-07, 2019-09 or 2020-12); fails listing every problem.',
  execution: 'local-activity',
  deterministic: true,
  input: {
    type: 'object',
    properties: {
      schema: { type: 'object', description: 'The JSON Schema; its `$schema` selects the dialect (default 2020-12).' },
      data: { description: 'The JSON value to check.' },
    },
    required: ['schema', 'data'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: { valid: { const: true, description: 'Always true: data that does not match fails the task.' } },
    required: ['valid'],
    additionalProperties: false,
  },
  validate({ schema }) {
    checkFor(schema);
  },
  async execute({ schema, data }) {
    const problems = checkFor(schema)(data);
    if (problems.length > 0) {
      throw new TaskError(`data does not match the schema: ${formatSchemaProblems(problems)}`, {
        code: 'TASK_FAILED',
        retryable: false,
        details: { errors: problems },
      });
    }
    return { valid: true };
  },
});

/** The compiled check for a schema, from the cache when the same schema was seen recently. */
function checkFor(schema: JsonSchema): SchemaCheck {
  const compiled = cachedSchemaCheck(schema);
  if (!compiled.ok) {
    throw new TaskError(`schema: ${compiled.message}`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
      details: { path: 'schema' },
    });
  }
  return compiled.check;
}

/**
 * A user schema compiled (non-strict: unknown keywords and formats are ignored), from a small
 * per-process cache when the same schema was seen recently; a schema Ajv cannot compile is
 * `{ ok: false, message }`. Shared by `schema.validate` and the checks of signal payloads.
 */
export function cachedSchemaCheck(schema: JsonSchema): { ok: true; check: SchemaCheck } | { ok: false; message: string } {
  // canonicalize returns undefined only for undefined; the schema is an object.
  const key = canonicalize(schema) as string;
  const cached = cache.get(key);
  if (cached) {
    // Re-insert so the Map's insertion order stays least-recently-used first.
    cache.delete(key);
    cache.set(key, cached);
    return { ok: true, check: cached };
  }
  const compiled = compileJsonSchema(schema, { strict: false });
  if (!compiled.ok) return compiled;
  cache.set(key, compiled.check);
  const oldest = cache.keys().next();
  if (cache.size > CACHE_SIZE && !oldest.done) cache.delete(oldest.value);
  return { ok: true, check: compiled.check };
}
