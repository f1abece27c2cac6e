/**
 * A hello task: the smallest task you can write. It greets someone, in the language asked for.
 *
 * Serve it from a worker with `MAESTRO_TASK_MODULES=examples/tasks/hello.ts`, or pass it in the
 * worker's catalog (`examples/hello-task/run.ts`), then use it in a manifest:
 *
 * ```yaml
 * - id: greet
 *   uses: examples/hello@0.1.0
 *   with: { name: Ada, language: fr }
 * ```
 */
import { defineTask, TaskError } from '@summit/maestro/sdk';

/** What `with:` gives the task; the JSON Schema below checks it before `execute` runs. */
export interface HelloInput {
  name: string;
  /** @default 'en' */
  language?: 'en' | 'fr' | 'de';
}

/** What the task returns: later tasks read it as `${tasks.<id>.outputs.greeting}`. */
export interface HelloOutput {
  greeting: string;
}

const GREETINGS = { en: 'Hello', fr: 'Bonjour', de: 'Hallo' } as const;

/** `examples/hello@0.1.0`: greets `name` in `language`. */
export default defineTask<HelloInput, HelloOutput>({
  name: 'examples/hello',
  version: '0.1.0',
  description: 'Greets someone by name, in English, French or German.',
  // Same input, same greeting: the task cache may reuse it and replay expects it unchanged.
  deterministic: true,
  input: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      language: { enum: ['en', 'fr', 'de'], default: 'en' },
    },
    required: ['name'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: { greeting: { type: 'string' } },
    required: ['greeting'],
  },
  // Checks beyond the schema; nothing has run yet, so the error is not retryable.
  validate({ name }) {
    if (name.trim() === '') throw new TaskError('name must not be blank', { code: 'TASK_INPUT_INVALID', retryable: false });
  },
  async execute({ name, language = 'en' }, ctx) {
    ctx.logger.info('greeting', { language });
    return { greeting: `${GREETINGS[language]}, ${name.trim()}!` };
  },
});
