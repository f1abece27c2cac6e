/**
 * Policy views of runs: the decisions a dry run reports, and the policy context a run detail
 * shows. (The run-start check itself is part of `launchRun`.)
 */
import type { PolicyContext, Principal as RunPrincipal, WorkflowIR } from '../ir/index.js';
import type { PolicyDecision, RunStartDecision } from '../policy/index.js';

/** A decision as the API shows it. */
export interface DecisionView {
  allow: boolean;
  reasons: string[];
  decisionId: string;
  bundleRevision: string;
  /** Set when the PDP could not answer and the namespace's fallback decided. */
  fallback?: 'open' | 'closed';
}

/** The parts of a decision the API shows (the input digest stays in the audit log). */
export function decisionView(decision: PolicyDecision): DecisionView {
  const { allow, reasons, decisionId, bundleRevision, fallback } = decision;
  return { allow, reasons, decisionId, bundleRevision, ...(fallback === undefined ? {} : { fallback }) };
}

/** The decisions of a run start as a dry-run plan shows them: overall, the run's own, and by task id. */
export function planDecisions(result: RunStartDecision): { allow: boolean; run: DecisionView; tasks: Map<string, DecisionView> } {
  return { allow: result.allow, run: decisionView(result.run), tasks: new Map(result.tasks.map(({ taskId, decision }) => [taskId, decisionView(decision)])) };
}

/** The policy context of a run as its detail shows it. */
export interface RunPolicyView extends PolicyContext {
  /** Who the run acts for (absent for runs started without one, whose tasks the policy denies). */
  principal?: RunPrincipal;
  /** Tasks with policy overrides or labels (a data classification), in the IR's order. */
  tasks: { id: string; overrides?: Partial<PolicyContext>; labels?: Record<string, string> }[];
}

/** The workflow's purpose, authority and license, the run's principal, and each task's overrides and labels. */
export function runPolicyView(ir: WorkflowIR, principal: RunPrincipal | undefined): RunPolicyView {
  const tasks = ir.tasks
    .filter((task) => task.policy !== undefined || task.labels !== undefined)
    .map((task) => ({ id: task.id, ...(task.policy === undefined ? {} : { overrides: task.policy }), ...(task.labels === undefined ? {} : { labels: task.labels }) }));
  return { ...ir.policy, ...(principal === undefined ? {} : { principal }), tasks };
}
