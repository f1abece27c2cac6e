/**
 * What a runbook trigger runs: the workflow it references, compiled — with, when the runbook
 * requires approvals, an `ops/approval.gate` task that every first task of the workflow needs, so
 * the run waits for the listed approvers before anything else and the IR shows exactly that.
 */
import type { Catalog } from '../../catalog/index.js';
import { compileWorkflow } from '../../compiler/index.js';
import { MaestroError, ParamsError } from '../../errors/index.js';
import { ExpressionError, resolveTemplates, type CompiledWorkflow, type ParameterSpec } from '../../ir/index.js';
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
 * The workflow params of a trigger, from its checked inputs: the inputs as they are (each passes
 * under its own name), or — with `spec.params` — that mapping's `${...}` templates resolved over
 * `inputs`. In the mapping, an input not given (and without a default) is null, and a param that
 * comes out null is left out, so the workflow's own default applies.
 *
 * @throws ParamsError naming each param whose expression fails to evaluate.
 * @throws MaestroError `EXPRESSION_TOO_COSTLY` when a param's expression goes over its cost limit,
 *   with the param and the line and column in its expression.
 * @example
 * // spec.params: { bucket: "${inputs.source_bucket}", key: "backfill/${inputs.key}" }
 * runbookParams(runbook, { source_bucket: 'raw', key: 'a.json' }) // { bucket: 'raw', key: 'backfill/a.json' }
 */
export function runbookParams(runbook: RunbookManifest, inputs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const mapping = runbook.spec.params;
  if (mapping === undefined) return { ...inputs };
  const bound = Object.fromEntries(runbook.spec.inputs.map((input) => [input.name, inputs[input.name] ?? null]));
  const integers = new Set(runbook.spec.inputs.filter((input) => input.type === 'integer').map((input) => input.name));
  const params: Record<string, unknown> = {};
  const problems: { name: string; message: string }[] = [];
  for (const [name, template] of Object.entries(mapping)) {
    try {
      const value = resolveTemplates(template, { params: {}, tasks: {}, inputs: bound }, integers);
      if (value !== null) params[name] = value;
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      if (error.code === 'EXPRESSION_TOO_COSTLY') {
        throw new MaestroError('EXPRESSION_TOO_COSTLY', `runbook ${runbook.metadata.name}@${runbook.metadata.version}, param "${name}": ${error.message}`, {
          details: { errors: [{ path: `spec.params.${name}`, ...error.at, message: error.message }] },
        });
      }
      problems.push({ name, message: `runbook ${runbook.metadata.name}@${runbook.metadata.version} cannot compute it: ${error.message}` });
    }
  }
  if (problems.length > 0) throw new ParamsError(problems);
  return params;
}

/**
 * The compiled workflow a runbook runs: the registered IR as is, or — with `approvals.required` —
 * the workflow's manifest recompiled with the approval gate in front.
 */
export function runbookWorkflow(runbook: RunbookManifest, workflow: WorkflowEntry, catalog: Catalog): CompiledWorkflow {
  const approvals = runbook.metadata.approvals;
  if (!approvals?.required) return { ir: workflow.ir, digest: workflow.digest };
  const manifest = parseManifest(workflow.manifest, `${workflow.name}@${workflow.version}`, { catalog });
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
  return compileWorkflow({ ...manifest, spec: { ...manifest.spec, tasks: [gate, ...tasks] } }, { catalog });
}
