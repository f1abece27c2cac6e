/**
 * Semantic checks of a Runbook manifest: what its schema cannot say.
 */
import { isRecord } from '../ir/index.js';
import type { CelEnvironment } from './cel-check.js';
import type { CelType } from './cel-types.js';
import { checkTemplates } from './expressions.js';
import type { Reporter } from './issues.js';
import { checkParameters } from './parameter-declarations.js';
import { valueAt } from './path.js';

/**
 * Checks the runbook's inputs like workflow parameters, that enough approvers are listed, and
 * the expressions of its `params` mapping against the declared inputs.
 */
export function checkRunbook(data: unknown, reporter: Reporter): void {
  const inputs = checkParameters(valueAt(data, ['spec', 'inputs']), ['spec', 'inputs'], reporter);
  const approvers = valueAt(data, ['metadata', 'approvals', 'approvers']);
  const minApprovals = valueAt(data, ['metadata', 'approvals', 'minApprovals']);
  if (Array.isArray(approvers) && typeof minApprovals === 'number' && minApprovals > approvers.length) {
    reporter.report(
      ['metadata', 'approvals', 'minApprovals'],
      `${minApprovals} approvals are required but only ${approvers.length} approver${approvers.length === 1 ? ' is' : 's are'} listed`,
    );
  }
  const params = valueAt(data, ['spec', 'params']);
  if (isRecord(params)) checkTemplates(params, ['spec', 'params'], mappingEnvironment(inputs), reporter);
}

const ONLY_INPUTS = "a runbook's params are computed from its inputs alone";

/** What the expressions of a runbook's `params` may read: `inputs.<name>`, nothing else. */
function mappingEnvironment(inputs: ReadonlyMap<string, CelType>): CelEnvironment {
  return {
    params: inputs,
    valuesName: 'inputs',
    taskProblem: () => ONLY_INPUTS,
    loopProblem: (name) => `"${name}" is not defined: ${ONLY_INPUTS}`,
  };
}
