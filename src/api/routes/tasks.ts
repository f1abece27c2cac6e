/**
 * `GET /tasks`: the task catalog the API compiles manifests against (the built-in tasks and those
 * of `MAESTRO_TASK_MODULES`): every version with its description, how it runs, its input and output
 * JSON Schemas, and which workflow versions of the caller's namespaces use it.
 */
import type { Catalog } from '../../catalog/index.js';
import type { WorkflowRecord } from '../../store/index.js';
import { caller, type RouteContext, type RouteHandler } from '../context.js';
import { visibleNamespaces } from './access.js';

/** How many workflow versions one request reads for `usedBy` (each is one registry read). */
const MAX_WORKFLOWS = 500;
/** How many workflow versions are read at once. */
const READ_PARALLELISM = 16;

/** The workflow versions of `records` using each task version, by `name@version`. */
async function usage(context: RouteContext, catalog: Catalog, records: readonly WorkflowRecord[]): Promise<Map<string, { namespace: string; workflowRef: string }[]>> {
  const users = new Map<string, { namespace: string; workflowRef: string }[]>();
  for (let start = 0; start < records.length; start += READ_PARALLELISM) {
    const entries = await Promise.all(records.slice(start, start + READ_PARALLELISM).map((record) => context.deps.store.getWorkflow(record.namespace, record.name, record.version)));
    for (const entry of entries) {
      if (!entry) continue;
      const used = new Set<string>();
      for (const task of entry.ir.tasks) {
        const resolved = catalog.resolve(task.uses);
        if (resolved.ok) used.add(`${resolved.definition.name}@${resolved.definition.version}`);
      }
      for (const key of used) users.set(key, [...(users.get(key) ?? []), { namespace: entry.namespace, workflowRef: `${entry.name}@${entry.version}` }]);
    }
  }
  return users;
}

/** `GET /tasks[?namespace=]`: every task version, newest first within a name; `usedBy` from the caller's namespaces (or the one named). */
export const listTasks: RouteHandler = async (context) => {
  const { catalog } = context.deps;
  const namespaces = visibleNamespaces(caller(context), (context.query as { namespace?: string }).namespace);
  const records = namespaces?.length === 0 ? [] : await context.deps.store.listWorkflows(namespaces);
  const users = await usage(context, catalog, records.slice(0, MAX_WORKFLOWS));
  const items = catalog.list().map((task) => ({
    name: task.name,
    version: task.version,
    description: task.description,
    execution: task.execution ?? 'activity',
    deterministic: task.deterministic ?? false,
    builtin: !Object.hasOwn(catalog.modules, task.name),
    input: task.input,
    output: task.output,
    usedBy: users.get(`${task.name}@${task.version}`) ?? [],
  }));
  return { status: 200, body: { items, ...(records.length > MAX_WORKFLOWS ? { usedByTruncated: true } : {}) } };
};
