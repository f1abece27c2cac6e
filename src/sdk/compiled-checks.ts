import { compileJsonSchema, type CompileSchemaResult } from './schema.js';
import type { JsonSchema } from './types.js';

/** Task definition schemas are static objects, so each is compiled once and looked up by identity. */
const cache = new WeakMap<JsonSchema, CompileSchemaResult>();

/** The strict compilation of a task definition's schema, compiled on first use and then cached. */
export function compiledChecks(schema: JsonSchema): CompileSchemaResult {
  let compiled = cache.get(schema);
  if (!compiled) {
    compiled = compileJsonSchema(schema, { strict: true });
    cache.set(schema, compiled);
  }
  return compiled;
}
