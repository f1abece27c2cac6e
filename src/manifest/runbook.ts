/**
 * Semantic checks of a Runbook manifest: what its schema cannot say.
 */
import type { Reporter } from './issues.js';
import { checkParameters } from './parameters.js';
import { valueAt } from './path.js';

/** Checks the runbook's inputs like workflow parameters, and that enough approvers are listed. */
export function checkRunbook(data: unknown, reporter: Reporter): void {
  checkParameters(valueAt(data, ['spec', 'inputs']), ['spec', 'inputs'], reporter);
  const approvers = valueAt(data, ['metadata', 'approvals', 'approvers']);
  const minApprovals = valueAt(data, ['metadata', 'approvals', 'minApprovals']);
  if (Array.isArray(approvers) && typeof minApprovals === 'number' && minApprovals > approvers.length) {
    reporter.report(
      ['metadata', 'approvals', 'minApprovals'],
      `${minApprovals} approvals are required but only ${approvers.length} approver${approvers.length === 1 ? ' is' : 's are'} listed`,
    );
  }
}
