/**
 * Threads for work that must not hold the event loop: a generic pool (JSONata rows of
 * `tasks/transform.map`) and CEL templates evaluated off the API's event loop. Imports only
 * `src/ir`, `src/errors` and Node (and tsx, to load a TypeScript thread module).
 */
export { ThreadPool, type ThreadJob, type ThreadPoolOptions, type ThreadStop } from './pool.js';
export { resolveTemplatesOffThread, type ResolvedTemplate, type OffThreadOptions } from './cel.js';
