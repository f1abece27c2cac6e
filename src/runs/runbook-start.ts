/**
 * Starting a runbook: what `POST /runbooks/trigger` checks, below the API so that schedules and
 * triggers (which act for a principal recorded earlier, not for a caller) check exactly the same —
 * the runbook found in the namespace (newest version unless `name@version`), its allow-list roles
 * as registered now, the inputs, the params its `spec.params` computes from them, the workflow it
 * references (in the same namespace), the approval gate. The start itself is `launchRun`'s.
 */
import type { Catalog } from '../catalog/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import type { CompiledWorkflow, Principal } from '../ir/index.js';
import { checkParams } from '../manifest/index.js';
import type { RunbookEntry, Store } from '../store/index.js';
import { inputSpecs, runbookParams, runbookWorkflow } from './runbook-plan.js';

/** A runbook start, checked: the runbook as registered, what it runs and with which params. */
export interface RunbookPlan {
  entry: RunbookEntry;
  compiled: CompiledWorkflow;
  params: Record<string, unknown>;
}

/** What {@link planRunbook} checks. */
export interface RunbookTarget {
  namespace: string;
  /** `name` (newest version) or `name@version`. */
  runbook: string;
  inputs: Record<string, unknown>;
  /** Who starts it: must hold one of the runbook's allow-listed roles. */
  principal: Principal;
}

/**
 * Checks a runbook start without starting it.
 * @throws NotFoundError when the runbook, or the workflow it references, is not registered in the namespace.
 * @throws MaestroError `RUNBOOK_NOT_ALLOWED` unless the principal holds an allow-listed role.
 * @throws ParamsError when the inputs, or the params computed from them, do not check.
 */
export async function planRunbook({ store, catalog }: { store: Store; catalog: Catalog }, target: RunbookTarget): Promise<RunbookPlan> {
  const { namespace, principal } = target;
  const [name = '', version] = target.runbook.split('@');
  const entry = await store.getRunbook(namespace, name, version);
  if (!entry) throw new NotFoundError(`runbook ${target.runbook} is not registered in namespace ${namespace}`);
  const runbook = entry.document;
  const allowed = runbook.metadata.allowList?.roles ?? [];
  if (!principal.roles.some((role) => allowed.includes(role))) {
    throw new MaestroError('RUNBOOK_NOT_ALLOWED', `runbook ${entry.name}@${entry.version} may be triggered by the roles ${allowed.join(', ') || '(none)'}; ${principal.subject} holds ${principal.roles.join(', ') || 'none'}`);
  }
  const inputs = checkParams(inputSpecs(runbook.spec.inputs), target.inputs);
  const [workflowName = '', workflowVersion = ''] = runbook.spec.workflowRef.split('@');
  const workflow = await store.getWorkflow(namespace, workflowName, workflowVersion);
  if (!workflow) throw new NotFoundError(`workflow ${runbook.spec.workflowRef}, which runbook ${entry.name}@${entry.version} runs, is not registered in namespace ${namespace}`);
  const params = checkParams(workflow.ir.parameters, await runbookParams(runbook, inputs));
  return { entry, compiled: runbookWorkflow(runbook, workflow, catalog), params };
}
