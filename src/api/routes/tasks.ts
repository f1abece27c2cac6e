/**
 * `/tasks`: the task catalog the API compiles manifests against — the built-in tasks, those of
 * `MAESTRO_TASK_MODULES`, and the tasks external (e.g. Python) workers registered in a namespace
 * with `POST /tasks` (see `docs/python-tasks.md`) — every version with its description, how it
 * runs, its input and output JSON Schemas, and which workflow versions of the caller's namespaces
 * use it.
 */
import semver from 'semver';
import type { Catalog } from '../../catalog/index.js';
import { MaestroError } from '../../errors/index.js';
import { allTaskNodes } from '../../ir/index.js';
import { compileJsonSchema, type JsonSchema } from '../../sdk/index.js';
import type { RegisteredTask, WorkflowRecord } from '../../store/index.js';
import { caller, type RouteContext, type RouteHandler } from '../context.js';
import { requestNamespace, visibleNamespaces } from './access.js';

/** How many workflow versions one request reads for `usedBy` (each is one registry read). */
const MAX_WORKFLOWS = 500;
/** How many workflow versions are read at once. */
const READ_PARALLELISM = 16;
/** Largest registration body (JSON bytes): two JSON Schemas and a few names. */
const MAX_TASK_REGISTRATION_BYTES = 256 * 1024;
/** A registration's attempt timeout when it names none: 10 minutes. */
const DEFAULT_REMOTE_TIMEOUT_MS = 600_000;

/** The `usedBy` key of a registered task: it is its namespace's, unlike a built-in one. */
const registeredKey = (namespace: string, uses: string): string => `${namespace}/${uses}`;

/** The workflow versions of `records` using each task version, by `name@version` (a registered one by `namespace/name@version`). */
async function usage(context: RouteContext, catalog: Catalog, records: readonly WorkflowRecord[]): Promise<Map<string, { namespace: string; workflowRef: string }[]>> {
  const users = new Map<string, { namespace: string; workflowRef: string }[]>();
  for (let start = 0; start < records.length; start += READ_PARALLELISM) {
    const entries = await Promise.all(records.slice(start, start + READ_PARALLELISM).map((record) => context.deps.store.getWorkflow(record.namespace, record.name, record.version)));
    for (const entry of entries) {
      if (!entry) continue;
      const used = new Set<string>();
      // Every node: compensations and `finally` tasks use tasks too, not only the top level.
      for (const task of allTaskNodes(entry.ir)) {
        if (task.remote !== undefined) {
          used.add(registeredKey(task.remote.namespace, task.uses));
          continue;
        }
        const resolved = catalog.resolve(task.uses);
        if (resolved.ok) used.add(`${resolved.definition.name}@${resolved.definition.version}`);
      }
      for (const key of used) users.set(key, [...(users.get(key) ?? []), { namespace: entry.namespace, workflowRef: `${entry.name}@${entry.version}` }]);
    }
  }
  return users;
}

/** `GET /tasks[?namespace=]`: every task version, newest first within a name; registered ones and `usedBy` from the caller's namespaces (or the one named). */
export const listTasks: RouteHandler = async (context) => {
  const { catalog, store } = context.deps;
  const namespaces = visibleNamespaces(caller(context), (context.query as { namespace?: string }).namespace);
  const none = namespaces?.length === 0;
  const [records, registered] = none ? [[], []] : await Promise.all([store.listWorkflows(namespaces), store.listRegisteredTasks(namespaces)]);
  const users = await usage(context, catalog, records.slice(0, MAX_WORKFLOWS));
  const builtin = catalog.list().map((task) => ({
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
  const remote = registered.map((task) => ({
    name: task.name,
    version: task.version,
    description: task.description,
    // An activity, on its worker's task queue: the value clients of earlier releases know (N-2).
    execution: 'activity',
    deterministic: task.deterministic,
    builtin: false,
    input: task.inputSchema,
    output: task.outputSchema,
    namespace: task.namespace,
    language: task.language,
    taskQueue: task.taskQueue,
    codeDigest: task.codeDigest,
    timeoutMs: task.timeoutMs,
    usedBy: users.get(registeredKey(task.namespace, `${task.name}@${task.version}`)) ?? [],
  }));
  return { status: 200, body: { items: [...builtin, ...remote], ...(records.length > MAX_WORKFLOWS ? { usedByTruncated: true } : {}) } };
};

/** The body of `POST /tasks`, as the document's `TaskRegistration` schema checked it. */
type TaskRegistration = Omit<RegisteredTask, 'namespace' | 'description' | 'timeoutMs' | 'registeredAt' | 'registeredBy'> & { namespace?: string; description?: string; timeoutMs?: number };

/**
 * `POST /tasks`: registers a task an external worker serves, in the namespace the body names
 * (default `default`), which the caller (an operator) must have access to. 201 when new, 200 with
 * the stored record when the same content is there, 409 `TASK_VERSION_CONFLICT` when other content is.
 */
export const registerTask: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as TaskRegistration;
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > MAX_TASK_REGISTRATION_BYTES) throw new MaestroError('PAYLOAD_TOO_LARGE', `the registration takes ${bytes} bytes, more than the limit of ${MAX_TASK_REGISTRATION_BYTES}`);
  const namespace = requestNamespace(principal, body.namespace);
  // A registered task must never stand in for a built-in one (or a task module): manifests naming
  // it would run someone else's code where they expect Maestro's.
  if (context.deps.catalog.list().some((task) => task.name === body.name)) {
    throw new MaestroError('BAD_REQUEST', `task name ${body.name} is a built-in task's; choose another group, e.g. py/${body.name.split('/')[1] ?? 'task'}`, {
      details: { errors: [{ path: 'name', message: 'is a built-in task name' }] },
    });
  }
  // The pattern admits leading zeros (`0.0.00`), which semver does not: such a version would
  // break every compile of the namespace, which sorts its tasks' versions.
  if (semver.valid(body.version) !== body.version) {
    throw new MaestroError('BAD_REQUEST', `version ${body.version} is not a semantic version (no leading zeros)`, { details: { errors: [{ path: 'version', message: 'is not a semantic version' }] } });
  }
  const errors = (['inputSchema', 'outputSchema'] as const).flatMap((field) => {
    const compiled = compileJsonSchema(body[field] as JsonSchema, { strict: false });
    return compiled.ok ? [] : [{ path: field, message: `does not compile: ${compiled.message}` }];
  });
  if (errors.length > 0) throw new MaestroError('BAD_REQUEST', `the task's schemas do not compile: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { details: { errors } });
  const record: RegisteredTask = {
    namespace,
    name: body.name,
    version: body.version,
    description: body.description ?? '',
    language: body.language,
    inputSchema: body.inputSchema,
    outputSchema: body.outputSchema,
    deterministic: body.deterministic,
    codeDigest: body.codeDigest,
    taskQueue: body.taskQueue,
    timeoutMs: body.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS,
    registeredAt: context.deps.clock().toISOString(),
    registeredBy: principal.subject,
  };
  const outcome = await context.deps.store.putRegisteredTask(record);
  if (outcome === 'created') return { status: 201, body: record };
  return { status: 200, body: (await context.deps.store.getRegisteredTask(namespace, record.name, record.version)) ?? record };
};
