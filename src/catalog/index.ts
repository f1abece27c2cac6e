/**
 * The task registry: the {@link Catalog} that resolves a manifest's `uses: group/name@semver` to a
 * task definition. Only the type and its lookup live here, so the manifest, the compiler and
 * provenance can name it without loading any task; the built-in tasks are in `src/tasks`.
 */
export { Catalog, USES_PATTERN, type ResolveResult } from './catalog.js';
export type { TaskDefinition } from '../sdk/index.js';
