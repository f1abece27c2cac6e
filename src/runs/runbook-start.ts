/**
 * Starting a runbook, below every caller that does it: `POST /runbooks/trigger`, webhook and
 * message triggers, schedules. A runbook start is the runbook found in the namespace the start
 * acts in (newest version unless `name@version`), the principal checked against its allow-list
 * roles as registered now, its inputs checked, its params computed (`spec.params`), the workflow
 * it references compiled (with the approval gate when the runbook requires approvals), then the
 * one run-start path, {@link launchRun}, which asks the policy.
 */
import { namespaceCatalog } from './task-catalog.js';
import type { Catalog } from '../catalog/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import type { CompiledWorkflow, Principal } from '../ir/index.js';
import { checkParams } from '../manifest/index.js';
import semver from 'semver';
import type { AuditEntry, RunbookEntry, Store } from '../store/index.js';
import { launchRun, type LaunchContext, type LaunchRequest, type LaunchResult } from './launch.js';
import { inputSpecs, runbookParams, runbookWorkflow } from './runbook-plan.js';

/** What a runbook start needs besides the {@link LaunchContext}: the registry's catalog of tasks. */
export type RunbookStartContext = LaunchContext & { catalog: Catalog };

/** A runbook to start, for whom. */
export interface RunbookStartRequest {
  /** The namespace the runbook (and its workflow) is looked up in, and the run goes to. */
  namespace: string;
  /** `name` (newest version), `name@version`, or `name@range` (newest version in the range). */
  runbook: string;
  /** The runbook's inputs, unchecked. */
  inputs: Record<string, unknown>;
  /** Who the run acts for: must hold one of the runbook's allow-list roles. */
  principal: Principal;
  /** What started it: a subject, `trigger:<ns>/<name>`, `schedule:<ns>/<id>`. */
  startedBy: string;
  /** @default undefined — no idempotency key */
  idempotencyKey?: string;
  /** @default a fresh `run-<uuid>` */
  runId?: string;
  traceId?: string;
  /** See {@link LaunchRequest.traceParent}. */
  traceParent?: string;
  /** 1 (highest) to 5. @default undefined — Temporal's default */
  priority?: number;
}

/** The checked plan of a runbook start: what {@link startRunbook} launches, and a dry run shows. */
export interface RunbookPlan {
  entry: RunbookEntry;
  compiled: CompiledWorkflow;
  /** The workflow's params, checked. */
  params: Record<string, unknown>;
}

/**
 * The version a runbook reference names: exact as given, or — for a semver range (`^1.2`, `1.x`)
 * — the newest version registered in the namespace that satisfies it.
 */
async function exactVersion(store: Store, namespace: string, name: string, version: string | undefined): Promise<string | undefined> {
  if (version === undefined || semver.valid(version) !== null || semver.validRange(version) === null) return version;
  const versions = (await store.listRunbooks([namespace])).filter((record) => record.name === name).map((record) => record.version);
  return semver.maxSatisfying(versions, version) ?? version;
}

/**
 * Finds, authorises and plans a runbook start without starting anything.
 *
 * @throws NotFoundError when the runbook, or the workflow it references, is not registered in the namespace.
 * @throws MaestroError `RUNBOOK_NOT_ALLOWED` unless the principal holds one of the allow-list roles.
 * @throws ParamsError for inputs or params that do not check.
 */
export async function planRunbook(context: Pick<RunbookStartContext, 'store' | 'catalog'>, request: Pick<RunbookStartRequest, 'namespace' | 'runbook' | 'inputs' | 'principal'>): Promise<RunbookPlan> {
  const { namespace, principal } = request;
  const [name = '', version] = request.runbook.split('@');
  const entry = await context.store.getRunbook(namespace, name, await exactVersion(context.store, namespace, name, version));
  if (!entry) throw new NotFoundError(`runbook ${request.runbook} is not registered in namespace ${namespace}`);
  const runbook = entry.document;
  const allowed = runbook.metadata.allowList?.roles ?? [];
  if (!principal.roles.some((role) => allowed.includes(role))) {
    throw new MaestroError('RUNBOOK_NOT_ALLOWED', `runbook ${entry.name}@${entry.version} may be triggered by the roles ${allowed.join(', ') || '(none)'}; ${principal.subject} holds ${principal.roles.join(', ') || 'none'}`);
  }
  const inputs = checkParams(inputSpecs(runbook.spec.inputs), request.inputs);
  const [workflowName = '', workflowVersion = ''] = runbook.spec.workflowRef.split('@');
  const workflow = await context.store.getWorkflow(namespace, workflowName, workflowVersion);
  if (!workflow) throw new NotFoundError(`workflow ${runbook.spec.workflowRef}, which runbook ${entry.name}@${entry.version} runs, is not registered in namespace ${namespace}`);
  const params = checkParams(workflow.ir.parameters, await runbookParams(runbook, inputs));
  // Only an approval gate recompiles the workflow, against the namespace's tasks: the registered
  // ones are read for that alone, not on every start.
  const catalog = runbook.metadata.approvals?.required ? await namespaceCatalog(context.store, context.catalog, namespace) : context.catalog;
  return { entry, compiled: runbookWorkflow(runbook, workflow, catalog), params };
}

/**
 * Starts a runbook: {@link planRunbook}, then {@link launchRun} (policy decision, idempotency,
 * admission, the run-start metric) for `request.principal`.
 *
 * @throws what {@link planRunbook} and {@link launchRun} throw; nothing has started then.
 * @example
 * await startRunbook(context, { namespace: 'ops', runbook: 'rollback', inputs: { service: 'api' }, principal, startedBy: 'trigger:ops/alerts' });
 */
export async function startRunbook(context: RunbookStartContext, request: RunbookStartRequest): Promise<LaunchResult & { plan: RunbookPlan }> {
  return launchRunbook(context, await planRunbook(context, request), request);
}

/**
 * Launches a {@link planRunbook} plan: the second half of {@link startRunbook}, for a caller that
 * plans while it does something else first (a trigger claims its key meanwhile).
 *
 * @param preceding audit records of what led to the start (a trigger's fire): see {@link launchRun}.
 * @throws what {@link launchRun} throws; nothing has started then.
 */
export async function launchRunbook(context: RunbookStartContext, plan: RunbookPlan, request: RunbookStartRequest, preceding: readonly AuditEntry[] = []): Promise<LaunchResult & { plan: RunbookPlan }> {
  const launch: Omit<LaunchRequest, 'runId'> & { runId?: string } = {
    compiled: plan.compiled,
    params: plan.params,
    namespace: request.namespace,
    startedBy: request.startedBy,
    principal: request.principal,
    ...(request.runId === undefined ? {} : { runId: request.runId }),
    ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
    ...(request.traceParent === undefined ? {} : { traceParent: request.traceParent }),
    ...(request.priority === undefined ? {} : { priority: request.priority }),
  };
  return { ...(await launchRun(context, launch, request.idempotencyKey, preceding)), plan };
}
