/**
 * The run-start decision: before a run starts, the caller is checked once for the workflow
 * (`stage: "run"`) and once for every task whose code the worker's gate will ask about
 * (`stage: "task"`, the same input the gate builds), so a run that would be stopped by its policy
 * is refused up front, with every reason, before anything of it runs.
 */
import { MaestroError, PolicyDeniedError } from '../errors/index.js';
import { allTaskNodes, type CompiledWorkflow, type TaskExecution, type TaskNode } from '../ir/index.js';
import type { AuditEntry } from '../store/index.js';
import type { PolicyGate } from './gate.js';
import { buildPolicyInput, type PolicyInputSource } from './input.js';
import type { PolicyDecision, PolicyInput } from './types.js';

/**
 * Executions whose attempts go through `runTask`, where the gate decides before any effect. Timers
 * and approval gates run inside the interpreter and do nothing the policy governs.
 */
const GATED: ReadonlySet<TaskExecution> = new Set(['activity', 'local-activity']);

/** What a run start is decided on. */
export interface RunStartSource {
  /** The caller, who the run will act for. */
  principal: PolicyInputSource['principal'];
  compiled: CompiledWorkflow;
  run: PolicyInputSource['run'];
  /**
   * Ids of tasks that will not execute (carried from an earlier run by a retry).
   * @default [] — every task is checked
   */
  skip?: readonly string[];
  /**
   * Audit records of what led to the start (a trigger's fire), appended in the decisions' write,
   * before them (see `PolicyGate.checkAll`).
   * @default none
   */
  preceding?: readonly AuditEntry[];
}

/** The inputs of a run start: the run's, then one per gated task, in the IR's order. */
export function runStartInputs({ principal, compiled, run, skip = [] }: RunStartSource): { run: PolicyInput; tasks: PolicyInput[] } {
  const workflow = { ...compiled.ir, digest: compiled.digest };
  const gated = (task: TaskNode): boolean => GATED.has(task.execution) && !skip.includes(task.id);
  return {
    run: buildPolicyInput({ principal, workflow, run }),
    tasks: allTaskNodes(compiled.ir).filter(gated).map((task) => buildPolicyInput({ principal, workflow, task, run })),
  };
}

/** One task's decision at run start. */
export interface TaskStartDecision {
  taskId: string;
  decision: PolicyDecision;
}

/** The decisions of a run start. */
export interface RunStartDecision {
  /** True when the run and every checked task are allowed. */
  allow: boolean;
  /** The workflow-level decision. */
  run: PolicyDecision;
  /** Per gated task; missing tasks were not asked because the PDP could not answer. */
  tasks: TaskStartDecision[];
}

/**
 * Asks the gate about the run and each of its gated tasks (the decisions are recorded in the audit
 * log in one write). Stops asking once the PDP could not answer (its fallback decided): every
 * further question would wait out the same timeout.
 *
 * @example
 * const decision = await checkRunStart(gate, { principal, compiled, run: { runId, namespace } });
 * if (!decision.allow) throw runStartDenial(decision);
 */
export async function checkRunStart(gate: PolicyGate, source: RunStartSource): Promise<RunStartDecision> {
  const inputs = runStartInputs(source);
  const [run, ...decided] = await gate.checkAll([inputs.run, ...inputs.tasks], source.preceding);
  if (!run) throw new MaestroError('INTERNAL', 'the policy gate decided nothing for the run start');
  const tasks: TaskStartDecision[] = decided.map((decision, index) => ({ taskId: inputs.tasks[index]?.task?.id ?? '', decision }));
  const allow = run.allow && tasks.every((task) => task.decision.allow);
  return { allow, run, tasks };
}

/**
 * The id of each task's allowing run-start decision, by task id: what the run carries to its
 * tasks' first attempts (`InterpreterInput.taskDecisions`), which may act on them again.
 */
export function taskDecisionIds(result: RunStartDecision): Record<string, string> {
  return Object.fromEntries(result.tasks.filter(({ decision }) => decision.allow && decision.fallback === undefined).map(({ taskId, decision }) => [taskId, decision.decisionId]));
}

/**
 * The error a denied run start ends with: `POLICY_UNAVAILABLE` when the PDP could not answer and
 * the namespace fails closed, else `POLICY_DENIED`; the reasons of every denial (each once), the
 * first denial's id, and every denial in `details.decisions` (`taskId` absent for the run's own).
 */
export function runStartDenial(result: RunStartDecision): PolicyDeniedError {
  const denials = [{ decision: result.run }, ...result.tasks].filter(({ decision }) => !decision.allow);
  const reasons = [...new Set(denials.flatMap(({ decision }) => decision.reasons))];
  const first = denials[0]?.decision ?? result.run;
  return new PolicyDeniedError(reasons, first.decisionId, {
    code: denials.some(({ decision }) => decision.fallback === 'closed') ? 'POLICY_UNAVAILABLE' : 'POLICY_DENIED',
    bundleRevision: first.bundleRevision,
    details: {
      decisions: denials.map((denial) => ({
        ...('taskId' in denial ? { taskId: denial.taskId } : {}),
        decisionId: denial.decision.decisionId,
        reasons: denial.decision.reasons,
      })),
    },
  });
}
