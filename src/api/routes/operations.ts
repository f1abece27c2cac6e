/**
 * `/healthz`, `/readyz`, `/metrics`.
 */
import proto from '@temporalio/proto';
import { policyReady } from '../../policy/index.js';
import { CHECK_TIMEOUT_MS, passes, readinessReport, sharedReadiness, type ReadinessChecks } from '../../telemetry/index.js';
import type { ResolvedDeps, RouteHandler } from '../context.js';

/** A readiness check of a Temporal call, bounded by a gRPC deadline too (so that a late answer is not waited for). */
function temporalPasses(deps: ResolvedDeps, call: () => Promise<unknown>): Promise<boolean> {
  return passes(() => deps.client.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, call));
}

/** Whether a worker polls the task queue for workflow tasks and for activity tasks. */
async function workerPolling(deps: ResolvedDeps): Promise<void> {
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
  if (!pollers.every((count) => count > 0)) throw new Error('no worker polls the task queue');
}

/** `GET /healthz`: the process is up. */
export const health: RouteHandler = () => Promise.resolve({ status: 200, body: { status: 'ok' } });

/** The dependency checks of an API, shared by the probes of the same second (see `sharedReadiness`). */
const dependencyChecks = new WeakMap<ResolvedDeps, () => Promise<ReadinessChecks>>();

/** Temporal answers, the namespace exists, the store answers, a worker polls, the policy is loaded. */
async function checkDependencies(deps: ResolvedDeps): Promise<ReadinessChecks> {
  const namespace = deps.client.options.namespace;
  const [temporal, namespaceExists, store, worker, policy] = await Promise.all([
    temporalPasses(deps, () => deps.client.workflowService.getSystemInfo({})),
    temporalPasses(deps, () => deps.client.workflowService.describeNamespace({ namespace })),
    passes(() => deps.store.ping()),
    temporalPasses(deps, () => workerPolling(deps)),
    deps.policy === undefined ? true : policyReady(deps.config),
  ]);
  return { temporal, namespace: namespaceExists, store, worker, ...(deps.policy === undefined ? {} : { policy }) };
}

/**
 * `GET /readyz`: 200 when every check passes, else 503 naming what is missing (and nothing more:
 * it is open to anyone who reaches the port, and its checks run at most once a second however
 * often it is asked). 503 at once while the API drains.
 */
export const readiness: RouteHandler = async ({ deps }) => {
  if (deps.draining.aborted) return readinessReport({ accepting: false });
  let checks = dependencyChecks.get(deps);
  if (checks === undefined) dependencyChecks.set(deps, (checks = sharedReadiness(() => checkDependencies(deps))));
  return readinessReport({ ...(await checks()), accepting: !deps.draining.aborted });
};

/** `GET /metrics`: the Prometheus text exposition. */
export const metrics: RouteHandler = ({ deps, req, res }) => {
  deps.metrics.serve(req, res);
  return Promise.resolve(undefined);
};
