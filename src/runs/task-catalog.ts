/**
 * The task catalog a namespace's manifests compile against: the built-in tasks (and those of
 * `MAESTRO_TASK_MODULES`) plus the tasks external workers registered in that namespace with
 * `POST /tasks` (see `docs/python-tasks.md`). Used wherever a manifest is compiled for a namespace:
 * `POST /workflows`, a runbook's start, validation through the API.
 */
import type { Catalog } from '../catalog/index.js';
import type { RemoteTaskDefinition } from '../sdk/index.js';
import type { RegisteredTask, Store } from '../store/index.js';

/** The catalog entry of a registered task: a `remote` task pinned to its registration (who registered it and when aside). */
export function remoteDefinition(task: Omit<RegisteredTask, 'registeredAt' | 'registeredBy'>): RemoteTaskDefinition {
  return {
    name: task.name,
    version: task.version,
    description: task.description,
    input: task.inputSchema,
    output: task.outputSchema,
    deterministic: task.deterministic,
    execution: 'remote',
    remote: { namespace: task.namespace, language: task.language, taskQueue: task.taskQueue, codeDigest: task.codeDigest, timeoutMs: task.timeoutMs },
  };
}

/** `catalog` with the tasks registered in `namespace` (itself when there are none). */
export async function namespaceCatalog(store: Pick<Store, 'listRegisteredTasks'>, catalog: Catalog, namespace: string): Promise<Catalog> {
  const registered = await store.listRegisteredTasks([namespace]);
  return registered.length === 0 ? catalog : catalog.with(registered.map(remoteDefinition));
}
