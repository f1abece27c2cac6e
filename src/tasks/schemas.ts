import { DURATION_PATTERN } from '../ir/index.js';
import type { JsonSchema } from '../sdk/index.js';

/** Schema of a manifest duration string (`500ms`, `1.5s`, `5m`, `1h`, `2d`), with a description. */
export function durationSchema(description: string): JsonSchema {
  return { type: 'string', pattern: DURATION_PATTERN.source, description };
}
