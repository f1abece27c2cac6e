/**
 * Namespace access and the launch context, shared by the run and runbook routes.
 */
import { MaestroError } from '../../errors/index.js';
import type { Principal } from '../../ir/index.js';
import { DEFAULT_NAMESPACE } from '../../manifest/index.js';
import type { LaunchContext, LaunchRequest } from '../../runs/index.js';
import { inNamespace, type AuthenticatedPrincipal } from '../auth/index.js';
import { requestTraceId, requestTraceParent, type ResolvedDeps, type RouteContext } from '../context.js';

/** @throws MaestroError `FORBIDDEN` unless the principal may touch runs of `namespace`. */
export function assertNamespace(principal: Principal, namespace: string): void {
  if (!inNamespace(principal, namespace)) {
    throw new MaestroError('FORBIDDEN', `${principal.subject} has no access to namespace "${namespace}" (has: ${principal.namespaces.join(', ') || 'none'})`);
  }
}

/**
 * The namespace a request acts in: the one it names, else {@link DEFAULT_NAMESPACE}.
 * @throws MaestroError `FORBIDDEN` unless the principal may touch it.
 */
export function requestNamespace(principal: Principal, namespace: string | undefined): string {
  const resolved = namespace ?? DEFAULT_NAMESPACE;
  assertNamespace(principal, resolved);
  return resolved;
}

/**
 * The namespaces a listing shows: the one the request names (checked), else every namespace of
 * the caller (`undefined` for a caller of `*`, meaning all).
 */
export function visibleNamespaces(principal: Principal, namespace: string | undefined): readonly string[] | undefined {
  if (namespace !== undefined) return [requestNamespace(principal, namespace)];
  return principal.namespaces.includes('*') ? undefined : principal.namespaces;
}

/** The {@link LaunchContext} of the API's dependencies: with a policy gate, every launch is checked first. */
export function launchContext(deps: Pick<ResolvedDeps, 'client' | 'store' | 'auditLog' | 'payloadCodec' | 'config' | 'metrics' | 'policy'>): LaunchContext {
  return {
    client: deps.client,
    store: deps.store,
    auditLog: deps.auditLog,
    taskQueue: deps.config.taskQueue,
    runLimits: deps.config.namespaceRunLimits ?? {},
    payloadCodec: deps.payloadCodec,
    costModel: deps.config.costModel,
    budgets: deps.config.budgets,
    metrics: deps.metrics.process,
    ...(deps.policy === undefined ? {} : { policy: deps.policy }),
  };
}

/**
 * The API's caller as the run's principal: what the policy decides every task for. Only the
 * {@link Principal} fields go into the run (its history), copied; how the caller authenticated stays here.
 */
export function runPrincipal(principal: AuthenticatedPrincipal): Principal {
  return { subject: principal.subject, roles: [...principal.roles], namespaces: [...principal.namespaces] };
}

/** Who a run this request starts acts for: the caller (name and principal), with the request's trace id and span. */
export function startedByCaller(context: Pick<RouteContext, 'req'>, principal: AuthenticatedPrincipal): Pick<LaunchRequest, 'startedBy' | 'principal' | 'traceId' | 'traceParent'> {
  const traceParent = requestTraceParent(context);
  return { startedBy: principal.subject, principal: runPrincipal(principal), traceId: requestTraceId(context), ...(traceParent === undefined ? {} : { traceParent }) };
}
