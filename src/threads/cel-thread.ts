/**
 * The thread side of {@link resolveTemplatesOffThread} (see cel.ts): resolves each template of a
 * job and answers every result at once. CEL evaluation is synchronous and cannot be interrupted;
 * here, the pool can stop it by terminating this thread.
 */
import { parentPort } from 'node:worker_threads';
import { ExpressionError, resolveTemplates } from '../ir/index.js';
import type { CelJob, CelAnswer } from './cel.js';

const port = parentPort;
if (!port) throw new Error('cel-thread.ts runs only as a thread of the CEL pool');

port.on('message', ({ templates, bindings, integers }: CelJob) => {
  const integerParams = new Set(integers);
  const results: CelAnswer['results'] = {};
  for (const [name, template] of Object.entries(templates)) {
    try {
      results[name] = { value: resolveTemplates(template, bindings, integerParams) };
    } catch (error) {
      if (!(error instanceof ExpressionError)) {
        port.postMessage({ results, internal: error instanceof Error ? error.message : String(error) } satisfies CelAnswer);
        return;
      }
      results[name] = { error: { message: error.message, expression: error.expression, code: error.code, ...(error.at ? { at: error.at } : {}) } };
    }
  }
  port.postMessage({ results } satisfies CelAnswer);
});

// Ready: the pool times jobs only from here, not the thread's start.
port.postMessage({ ready: true });
