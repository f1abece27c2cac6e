/**
 * Reading runs from Temporal: a run's execution (describe), its start input (first history
 * event), and its final state. Temporal is the system of record; nothing here is cached.
 */
import { isGrpcCancelledError, isGrpcDeadlineError, isGrpcServiceError, ServiceError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TerminatedFailure, TimeoutFailure, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { firstHistoryValue, getRunState, waitForRun } from '../client/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import {
  INTERPRETER_WORKFLOW,
  MAESTRO_DIGEST,
  MAESTRO_NAMESPACE,
  MAESTRO_STATUS,
  MAESTRO_VERSION,
  MAESTRO_WORKFLOW,
  type InterpreterInput,
  type RunState,
  type RunStatus,
  type TaskErrorInfo,
} from '../ir/index.js';

/** A run's status as the API shows it: QUEUED also for runs the admission queue holds. */
export type ApiRunStatus = RunStatus;

/** What describe tells about a run. */
export interface RunExecution {
  runId: string;
  workflow: string;
  version: string;
  digest: string;
  namespace: string;
  status: RunStatus;
  /** The Temporal execution has closed. */
  closed: boolean;
  startedAt: string;
  endedAt?: string;
  priority?: number;
  /**
   * No workflow task of the run has completed yet and its first is pending (scheduled, or held by
   * a worker): nothing has settled, every task is still to run (what a run's first read sees before
   * its interpreter published anything).
   */
  firstTask?: boolean;
}

/**
 * Temporal's refusal of a start or a list because its namespace does not define a search attribute
 * Maestro uses (a cluster set up without Maestro's: `SEARCH_ATTRIBUTES`), as what the operator must
 * do — `UNAVAILABLE` (503, retryable once they did) rather than an internal error; else undefined.
 */
export function missingSearchAttribute(error: unknown, temporalNamespace: string): MaestroError | undefined {
  const grpc = error instanceof ServiceError ? error.cause : error;
  if (!isGrpcServiceError(grpc) || grpc.code !== grpcStatus.INVALID_ARGUMENT) return undefined;
  // A start: "no mapping defined for search attribute X"; a visibility query: "column name 'X' is not a valid search attribute".
  const name = /no mapping defined for search attribute (\w+)|column name '(\w+)' is not a valid search attribute/.exec(grpc.details);
  const missing = name?.[1] ?? name?.[2];
  if (missing === undefined) return undefined;
  const names = [MAESTRO_WORKFLOW, MAESTRO_VERSION, MAESTRO_DIGEST, MAESTRO_NAMESPACE, MAESTRO_STATUS].map((key) => `--name ${key.name}`).join(' ');
  return new MaestroError(
    'UNAVAILABLE',
    `Temporal namespace ${temporalNamespace} does not define the search attribute ${missing} that Maestro's runs carry; an operator must register Maestro's search attributes once: temporal operator search-attribute create --namespace ${temporalNamespace} --type Keyword ${names}`,
    { cause: error },
  );
}

/** Events of a run whose first workflow task a worker holds: started, task scheduled, task started. */
const FIRST_TASK_EVENTS = 3;

/** Temporal execution status names as describe reports them. */
type ExecutionStatusName = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'CONTINUED_AS_NEW' | 'TIMED_OUT' | 'PAUSED' | 'UNKNOWN' | 'UNSPECIFIED';

/**
 * The run status from the interpreter's `MaestroStatus` search attribute, corrected where the
 * interpreter could not set it (terminated or timed out by Temporal).
 */
export function runStatusOf(execution: ExecutionStatusName, maestroStatus: string | undefined): RunStatus {
  switch (execution) {
    case 'COMPLETED':
      return 'SUCCEEDED';
    case 'FAILED':
    case 'TERMINATED':
    case 'TIMED_OUT':
      return 'FAILED';
    case 'CANCELLED':
      return 'CANCELLED';
    default:
      return maestroStatus === 'WAITING' || maestroStatus === 'PAUSED' || maestroStatus === 'QUEUED' ? maestroStatus : 'RUNNING';
  }
}

/**
 * Describes a run; undefined when Temporal has no run with this id, or only a workflow that is not
 * Maestro's interpreter (another application's workflow on the same Temporal namespace is not a
 * run: its input, queries and search attributes mean nothing here).
 */
export async function describeRun(client: Client, runId: string): Promise<RunExecution | undefined> {
  let description;
  try {
    description = await client.workflow.getHandle(runId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  if (description.type !== INTERPRETER_WORKFLOW) return undefined;
  const attributes = description.typedSearchAttributes;
  const name = description.status.name as ExecutionStatusName;
  return {
    runId,
    workflow: attributes.get(MAESTRO_WORKFLOW) ?? '',
    version: attributes.get(MAESTRO_VERSION) ?? '',
    digest: attributes.get(MAESTRO_DIGEST) ?? '',
    namespace: attributes.get(MAESTRO_NAMESPACE) ?? 'default',
    status: runStatusOf(name, attributes.get(MAESTRO_STATUS)),
    closed: name !== 'RUNNING' && name !== 'PAUSED',
    startedAt: description.startTime.toISOString(),
    ...(description.closeTime ? { endedAt: description.closeTime.toISOString() } : {}),
    ...(description.priority?.priorityKey ? { priority: description.priority.priorityKey } : {}),
    // Scheduled or started: either way no task has settled, and a query would be held until a
    // worker completes that task (until one takes it, when none has yet).
    ...(description.historyLength <= FIRST_TASK_EVENTS && description.raw.pendingWorkflowTask ? { firstTask: true } : {}),
  };
}

/**
 * The interpreter's input of the run's current execution (after continue-as-new, the newest one;
 * the IR and params never change), read from its first history event.
 */
export async function runInput(client: Client, runId: string): Promise<InterpreterInput> {
  let response;
  try {
    response = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: runId },
      maximumPageSize: 1,
    });
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === grpcStatus.NOT_FOUND) throw new NotFoundError(`run "${runId}" not found`, { cause: error });
    throw error;
  }
  const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payloads = started?.input?.payloads;
  if (!payloads?.[0]) throw new MaestroError('INTERNAL', `run ${runId} has no start input in its history`);
  return firstHistoryValue<InterpreterInput>(client, payloads as Payload[]);
}

/** How long the live-state query may wait for a worker to answer. */
const QUERY_DEADLINE_MS = 5_000;

/**
 * The run's task states: live (the interpreter's query, answered by a worker) while it runs, from
 * its close event once it has finished (by the query again when Temporal ended it: terminated,
 * timed out).
 *
 * @throws MaestroError `UNAVAILABLE` when no worker answers the query in time (none is running),
 * or while the run's workflow task is failing and Temporal refuses queries.
 */
export async function runState(client: Client, execution: RunExecution): Promise<RunState> {
  let endedByTemporal: TaskErrorInfo | undefined;
  if (execution.closed) {
    try {
      return await waitForRun(client, execution.runId);
    } catch (error) {
      // Terminated or timed out by Temporal: no result carries the state; the query (replayed by a worker) still does.
      if (!(error instanceof WorkflowFailedError)) throw error;
      endedByTemporal = temporalEnding(error);
    }
  }
  const deadline = Date.now() + QUERY_DEADLINE_MS;
  try {
    const state = await client.connection.withDeadline(deadline, () => getRunState(client, execution.runId));
    // The state as the interpreter last had it, which never saw the end: say how the run ended.
    return endedByTemporal === undefined ? state : { ...state, status: 'FAILED', error: state.error ?? endedByTemporal };
  } catch (error) {
    // The run may have finished between describe and query: its close event has the state.
    if (!execution.closed && (await describeRun(client, execution.runId))?.closed) return runState(client, { ...execution, closed: true });
    // The call ends as DEADLINE_EXCEEDED or CANCELLED depending on where the deadline struck; either
    // way, no worker answered in time.
    if (Date.now() >= deadline && (error instanceof ServiceError || isGrpcDeadlineError(error) || isGrpcCancelledError(error))) {
      throw new MaestroError('UNAVAILABLE', `no worker answered for run ${execution.runId} within ${QUERY_DEADLINE_MS} ms; is a worker polling the run's task queue?`, { cause: error });
    }
    // Temporal refuses queries while the run's workflow task is failing: a worker lost it (timed
    // out, e.g. the worker was restarted) or failed it, and Temporal is handing it out again.
    if (error instanceof ServiceError && isGrpcServiceError(error.cause) && error.cause.code === grpcStatus.FAILED_PRECONDITION) {
      throw new MaestroError('UNAVAILABLE', `run ${execution.runId} cannot be read right now: its workflow task failed or timed out and is being retried (${error.cause.details}); try again shortly`, { cause: error });
    }
    throw error;
  }
}

/** How Temporal itself ended a run (terminated, timed out), as the run's error; undefined otherwise. */
function temporalEnding({ cause }: WorkflowFailedError): TaskErrorInfo | undefined {
  if (cause instanceof TerminatedFailure) return { code: 'RUN_TERMINATED', message: `terminated on Temporal: ${cause.message}` };
  if (cause instanceof TimeoutFailure) return { code: 'RUN_TIMEOUT', message: 'timed out on Temporal (the workflow execution timeout)' };
  return undefined;
}

/** Temporal's numeric execution status (visibility rows) → the name describe uses. */
export function executionStatusName(status: proto.temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined): ExecutionStatusName {
  const { WorkflowExecutionStatus: S } = proto.temporal.api.enums.v1;
  switch (status) {
    case S.WORKFLOW_EXECUTION_STATUS_RUNNING:
      return 'RUNNING';
    case S.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return 'COMPLETED';
    case S.WORKFLOW_EXECUTION_STATUS_FAILED:
      return 'FAILED';
    case S.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return 'CANCELLED';
    case S.WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return 'TERMINATED';
    case S.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
      return 'CONTINUED_AS_NEW';
    case S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return 'TIMED_OUT';
    default:
      return 'UNKNOWN';
  }
}
