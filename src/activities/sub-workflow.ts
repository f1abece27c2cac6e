/**
 * The `authorizeSubWorkflow` activity: a sub-workflow's run is decided like any run start before
 * the interpreter starts it as a Temporal child workflow — in the parent's namespace only, no
 * deeper than the configured depth, its params checked as `POST /runs` checks them (size too), and
 * the policy's run-start decision for the parent's principal (`authorizeRunStart`, the one
 * launchRun asks). The interpreter runs it as a local activity: the child's IR it carries stays out
 * of the history, and only the checked params are recorded.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError, isMaestroError } from '../errors/index.js';
import type { SubWorkflowStartInput, SubWorkflowStartResult, TaskFailureDetails } from '../ir/index.js';
import { checkParams } from '../manifest/index.js';
import type { PolicyGate } from '../policy/index.js';
import { authorizeRunStart } from '../runs/index.js';

/** What {@link createAuthorizeSubWorkflow} needs. */
export interface SubWorkflowDeps {
  /** The run-start decision; without it, sub-workflows start unchecked, as runs do without a policy. */
  policy?: PolicyGate;
  /** Deepest nesting allowed (`MAESTRO_SUBWORKFLOW_MAX_DEPTH`). @default 5 */
  subWorkflowMaxDepth?: number;
  /** Largest params (JSON bytes) a sub-workflow may be given; a run's start body is bounded alike. @default 1048576 */
  subWorkflowMaxParamsBytes?: number;
}

/** Builds the `authorizeSubWorkflow` activity; a refusal is a failure typed by its error code. */
export function createAuthorizeSubWorkflow({ policy, subWorkflowMaxDepth = 5, subWorkflowMaxParamsBytes = 1024 * 1024 }: SubWorkflowDeps) {
  return async function authorizeSubWorkflow(input: SubWorkflowStartInput): Promise<SubWorkflowStartResult> {
    try {
      const { workflow, namespace, principal, parent } = input;
      if (workflow.namespace !== namespace) {
        throw new MaestroError('SUBWORKFLOW_FORBIDDEN', `workflow/${workflow.name}@${workflow.version} was resolved in namespace ${workflow.namespace}, not in this run's namespace ${namespace}`);
      }
      if (principal !== undefined && !principal.namespaces.includes('*') && !principal.namespaces.includes(namespace)) {
        throw new MaestroError('SUBWORKFLOW_FORBIDDEN', `${principal.subject} may not start runs in namespace ${namespace}`);
      }
      if (parent.depth > subWorkflowMaxDepth) {
        throw new MaestroError('SUBWORKFLOW_DEPTH_EXCEEDED', `workflow/${workflow.name}@${workflow.version} would run at depth ${parent.depth}, deeper than the limit of ${subWorkflowMaxDepth} (MAESTRO_SUBWORKFLOW_MAX_DEPTH)`);
      }
      const bytes = Buffer.byteLength(JSON.stringify(input.params));
      if (bytes > subWorkflowMaxParamsBytes) {
        throw new MaestroError('PAYLOAD_TOO_LARGE', `the params of workflow/${workflow.name}@${workflow.version} take ${bytes} bytes, more than the limit of ${subWorkflowMaxParamsBytes}`);
      }
      const params = checkParams(input.ir.parameters, input.params);
      if (policy !== undefined) {
        await authorizeRunStart(policy, {
          runId: input.runId,
          compiled: { ir: input.ir, digest: workflow.digest },
          namespace,
          // A run without a principal is decided for nobody: the policy denies what it must.
          principal: principal ?? { subject: 'anonymous', roles: [], namespaces: [] },
          ...(input.traceId === undefined ? {} : { traceId: input.traceId }),
        });
      }
      return { params };
    } catch (error) {
      if (!isMaestroError(error)) throw error;
      const details: TaskFailureDetails = { retryable: error.retryable };
      throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true, details: [details] });
    }
  };
}
