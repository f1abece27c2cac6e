/**
 * Namespace access and the launch context, shared by the run and runbook routes.
 */
import { MaestroError } from '../../errors/index.js';
import { inNamespace, type Principal } from '../auth/index.js';
import { requestTraceId, type ResolvedDeps, type RouteContext } from '../context.js';
import type { LaunchContext, LaunchRequest } from '../runs/launch.js';
import { runPrincipal, runStartAuthorizer } from '../runs/policy.js';

/** The namespace runs go to when a request names none. */
export const DEFAULT_NAMESPACE = 'default';

/** @throws MaestroError `FORBIDDEN` unless the principal may touch runs of `namespace`. */
export function assertNamespace(principal: Principal, namespace: string): void {
  if (!inNamespace(principal, namespace)) {
    throw new MaestroError('FORBIDDEN', `${principal.name} has no access to namespace "${namespace}" (has: ${principal.namespaces.join(', ') || 'none'})`);
  }
}

/** The {@link LaunchContext} of the API's dependencies: with a policy gate, every launch is checked first. */
export function launchContext(deps: ResolvedDeps): LaunchContext {
  return {
    client: deps.client,
    store: deps.store,
    taskQueue: deps.config.taskQueue,
    runLimits: deps.config.namespaceRunLimits ?? {},
    payloadCodec: deps.payloadCodec,
    onStarted: (request) => deps.metrics.runStarted(request.compiled.ir.name),
    ...(deps.policy === undefined ? {} : { authorize: runStartAuthorizer(deps.policy) }),
  };
}

/** Who a run this request starts acts for: the caller (name and principal), with the request's trace id. */
export function startedByCaller(context: Pick<RouteContext, 'req'>, principal: Principal): Pick<LaunchRequest, 'startedBy' | 'principal' | 'traceId'> {
  return { startedBy: principal.name, principal: runPrincipal(principal), traceId: requestTraceId(context) };
}
