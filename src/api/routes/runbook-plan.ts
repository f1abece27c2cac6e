/**
 * What a runbook trigger runs: the workflow it references, compiled — with, when the runbook
 * requires approvals, an `ops/approval.gate` task that every first task of the workflow needs, so
 * the run waits for the listed approvers before anything else and the IR shows exactly that.
 */
import { builtinCatalog } from '../../catalog/index.js';
import { compileWorkflow } from '../../compiler/index.js';
import { MaestroError } from '../../errors/index.js';
import type { CompiledWorkflow, ParameterSpec } from '../../ir/index.js';
import { parseManifest, type ParameterManifest, type RunbookManifest, type TaskManifest } from '../../manifest/index.js';
import type { WorkflowEntry } from '../../store/index.js';

/** Id of the approval task added to a runbook's run. */
export const RUNBOOK_APPROVAL_TASK = 'runbook-approval';
const APPROVAL_GATE = 'ops/approval.gate@0.1.0';

/** A runbook's inputs as parameter specs, for `checkParams`. */
export function inputSpecs(inputs: readonly ParameterManifest[]): ParameterSpec[] {
  return inputs.map((input) => ({
    name: input.name,
    type: input.type,
    required: input.required ?? false,
    secret: input.secret ?? false,
    ...(input.default === undefined ? {} : { default: input.default }),
    ...(input.enum === undefined ? {} : { enum: input.enum }),
  }));
}

/**
 * The compiled workflow a runbook runs: the registered IR as is, or — with `approvals.required` —
 * the workflow's manifest recompiled with the approval gate in front.
 */
export function runbookWorkflow(runbook: RunbookManifest, workflow: WorkflowEntry): CompiledWorkflow {
  const approvals = runbook.metadata.approvals;
  if (!approvals?.required) return { ir: workflow.ir, digest: workflow.digest };
  const manifest = parseManifest(workflow.manifest, `${workflow.name}@${workflow.version}`, { catalog: builtinCatalog });
  if (manifest.kind !== 'Workflow') throw new MaestroError('INTERNAL', `registered workflow ${workflow.name}@${workflow.version} is a ${manifest.kind}`);
  if (manifest.spec.tasks.some((task) => task.id === RUNBOOK_APPROVAL_TASK)) {
    throw new MaestroError('CONFLICT', `workflow ${workflow.name}@${workflow.version} has a task "${RUNBOOK_APPROVAL_TASK}" already; rename it to use it from an approval-gated runbook`);
  }
  const gate: TaskManifest = {
    id: RUNBOOK_APPROVAL_TASK,
    uses: APPROVAL_GATE,
    with: {
      approvers: approvals.approvers,
      minApprovals: approvals.minApprovals ?? 1,
      message: `Run runbook ${runbook.metadata.name}@${runbook.metadata.version}?`,
    },
  };
  const tasks = manifest.spec.tasks.map((task) => ((task.needs ?? []).length === 0 ? { ...task, needs: [RUNBOOK_APPROVAL_TASK] } : task));
  return compileWorkflow({ ...manifest, spec: { ...manifest.spec, tasks: [gate, ...tasks] } }, { catalog: builtinCatalog });
}
