/**
 * `/healthz`, `/readyz`, `/metrics`.
 */
import proto from '@temporalio/proto';
import type { ResolvedDeps } from '../context.js';
import type { RouteHandler } from '../context.js';

/** How long one readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;

/** One readiness check's outcome. */
interface Check {
  ok: boolean;
  detail?: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function check(deps: ResolvedDeps, probe: () => Promise<Check>): Promise<Check> {
  try {
    return await deps.client.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, probe);
  } catch (error) {
    return { ok: false, detail: describe(error) };
  }
}

/** Whether a worker polls the task queue for workflow tasks and for activity tasks. */
async function workerPolling(deps: ResolvedDeps): Promise<Check> {
  const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;
  const namespace = deps.client.options.namespace;
  const name = deps.config.taskQueue;
  const types = [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];
  const pollers = await Promise.all(
    types.map(async (taskQueueType) => {
      const response = await deps.client.workflowService.describeTaskQueue({ namespace, taskQueue: { name, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL }, taskQueueType });
      return response.pollers?.length ?? 0;
    }),
  );
  return pollers.every((count) => count > 0)
    ? { ok: true, detail: `task queue ${name}: ${pollers[0]} workflow and ${pollers[1]} activity pollers` }
    : { ok: false, detail: `no worker polls task queue ${name} (workflow pollers: ${pollers[0]}, activity pollers: ${pollers[1]})` };
}

/** `GET /healthz`: the process is up. */
export const health: RouteHandler = () => Promise.resolve({ status: 200, body: { status: 'ok' } });

/** `GET /readyz`: 200 when every check passes, else 503 naming what is missing. */
export const readiness: RouteHandler = async ({ deps }) => {
  const namespace = deps.client.options.namespace;
  const [temporalCheck, namespaceCheck, store, worker] = await Promise.all([
    check(deps, async () => {
      await deps.client.workflowService.getSystemInfo({});
      return { ok: true, detail: `reachable at ${deps.config.temporalAddress ?? 'the default address'}` };
    }),
    check(deps, async () => {
      await deps.client.workflowService.describeNamespace({ namespace });
      return { ok: true, detail: `namespace ${namespace} exists` };
    }),
    deps.store.ping().then(
      (): Check => ({ ok: true, detail: `${deps.store.backend} store open` }),
      (error: unknown): Check => ({ ok: false, detail: describe(error) }),
    ),
    check(deps, () => workerPolling(deps)),
  ]);
  const checks = { temporal: temporalCheck, namespace: namespaceCheck, store, worker };
  const missing = Object.entries(checks).filter(([, result]) => !result.ok).map(([name]) => name);
  return { status: missing.length === 0 ? 200 : 503, body: { status: missing.length === 0 ? 'ready' : 'not-ready', missing, checks } };
};

/** `GET /metrics`: the Prometheus text exposition. */
export const metrics: RouteHandler = ({ deps, req, res }) => {
  deps.metrics.serve(req, res);
  return Promise.resolve(undefined);
};
