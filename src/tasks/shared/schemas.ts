import type { JsonSchema } from '../../sdk/index.js';

/** Schema of a secret's name: the task resolves it with `ctx.secrets(name)` inside the activity. */
export function secretNameSchema(description: string): JsonSchema {
  return { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]*$', maxLength: 128, description };
}

/** Schema of string → string headers (message headers, gRPC metadata). */
export function stringMapSchema(description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: { type: 'string' } };
}
