/**
 * What a runbook trigger runs: the workflow it references, compiled — with, when the runbook
 * requires approvals, an `ops/approval.gate` task that every first task of the workflow needs, so
 * the run waits for the listed approvers before anything else and the IR shows exactly that.
 */
import type { Catalog } from '../catalog/index.js';
import { compileWorkflow } from '../compiler/index.js';
import { MaestroError, ParamsError } from '../errors/index.js';
import { type CompiledWorkflow, type ParameterSpec } from '../ir/index.js';
import { parseManifest, type ParameterManifest, type RunbookManifest, type TaskManifest } from '../manifest/index.js';
import type { WorkflowEntry } from '../store/index.js';
import { resolveTemplatesOffThread } from '../threads/index.js';

/**
 * Longest a trigger's `spec.params` may take to evaluate, all expressions together: each is
 * bounded by the CEL cost limit (tens of milliseconds), so only a runbook of very many costly
 * params comes near it.
 */
export const RUNBOOK_PARAMS_TIMEOUT_MS = 2_000;

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
 * The expressions are evaluated on a thread (`resolveTemplatesOffThread`), never on the API's
 * event loop: each is bounded by its cost limit, and all of them together by
 * {@link RUNBOOK_PARAMS_TIMEOUT_MS}.
 *
 * @throws ParamsError naming each param whose expression fails to evaluate.
 * @throws MaestroError `EXPRESSION_TOO_COSTLY` when a param's expression goes over its cost limit,
 *   with the param and the line and column in its expression, or when the params take longer
 *   than {@link RUNBOOK_PARAMS_TIMEOUT_MS} together.
 * @example
 * // spec.params: { bucket: "${inputs.source_bucket}", key: "backfill/${inputs.key}" }
 * await runbookParams(runbook, { source_bucket: 'raw', key: 'a.json' }) // { bucket: 'raw', key: 'backfill/a.json' }
 */
export async function runbookParams(runbook: RunbookManifest, inputs: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const mapping = runbook.spec.params;
  if (mapping === undefined) return { ...inputs };
  const bound = Object.fromEntries(runbook.spec.inputs.map((input) => [input.name, inputs[input.name] ?? null]));
  const integers = new Set(runbook.spec.inputs.filter((input) => input.type === 'integer').map((input) => input.name));
  const runbookRef = `runbook ${runbook.metadata.name}@${runbook.metadata.version}`;
  const resolved = await resolveTemplatesOffThread(mapping, { params: {}, tasks: {}, inputs: bound }, integers, {
    timeoutMs: RUNBOOK_PARAMS_TIMEOUT_MS,
    owner: runbookRef,
    path: 'spec.params',
  });
  const params: Record<string, unknown> = {};
  const problems: { name: string; message: string }[] = [];
  for (const [name, result] of Object.entries(resolved)) {
    if ('value' in result) {
      if (result.value !== null) params[name] = result.value;
      continue;
    }
    const { error } = result;
    if (error.code === 'EXPRESSION_TOO_COSTLY') {
      throw new MaestroError('EXPRESSION_TOO_COSTLY', `${runbookRef}, param "${name}": ${error.message}`, {
        details: { errors: [{ path: `spec.params.${name}`, ...error.at, message: error.message }] },
      });
    }
    problems.push({ name, message: `${runbookRef} cannot compute it: ${error.message}` });
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
