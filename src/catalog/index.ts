/**
 * The task catalog: the built-in reference tasks and the {@link Catalog} that resolves a manifest's
 * `uses: group/name@semver` to a definition.
 */
import type { TaskDefinition } from '../sdk/index.js';
import { Catalog } from './catalog.js';
import { approvalGate } from './tasks/approval-gate.js';
import { httpRequest } from './tasks/http-request.js';
import { schemaValidate } from './tasks/schema-validate.js';
import { transformMap } from './tasks/transform-map.js';
import { waitSleep } from './tasks/wait-sleep.js';

export { Catalog, USES_PATTERN, type ResolveResult } from './catalog.js';
export type { TaskDefinition } from '../sdk/index.js';
export { approvalGate, httpRequest, schemaValidate, transformMap, waitSleep };
export type { HttpRequestInput, HttpRequestOutput } from './tasks/http-request.js';
export type { SchemaValidateInput, SchemaValidateOutput } from './tasks/schema-validate.js';
export type { TransformMapInput, TransformMapOutput } from './tasks/transform-map.js';

/** Every task Maestro ships, each at its current version. */
export const builtinTasks: TaskDefinition[] = [waitSleep, approvalGate, transformMap, schemaValidate, httpRequest];

/** A catalog of {@link builtinTasks}: what a worker serves when it adds no tasks of its own. */
export const builtinCatalog: Catalog = new Catalog(builtinTasks);
