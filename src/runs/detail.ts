/**
 * `GET /runs/{runId}`: one run as the user sees it — status, params (secrets redacted), timings,
 * and every task — from Temporal, or from the admission queue while the run waits there.
 */
import type { Client } from '@temporalio/client';
import { NotFoundError } from '../errors/index.js';
import { allTaskNodes, redactParams, type InterpreterInput, type ParentRun, type RunState, type TaskErrorInfo, type TaskState, type WorkflowIR } from '../ir/index.js';
import type { Store } from '../store/index.js';
import { concurrencyView, type ConcurrencyView } from './concurrency.js';
import type { LaunchRequest } from './launch.js';
import { runPolicyView, type RunPolicyView } from './policy.js';
import { describeRun, runInput, runState, type ApiRunStatus, type RunExecution } from './temporal.js';

/** The detail of a run. */
export interface RunDetail {
  runId: string;
  workflowRef: string;
  digest: string;
  namespace: string;
  status: ApiRunStatus;
  params: Record<string, unknown>;
  priority?: number;
  startedBy?: string;
  startedAt?: string;
  endedAt?: string;
  error?: TaskErrorInfo;
  /** Purpose, authority and license, the principal the run acts for, per-task overrides and labels. */
  policy: RunPolicyView;
  /** The run's concurrency key; while it is QUEUED, the runs holding the key and its place in the queue. */
  concurrency?: ConcurrencyView;
  tasks: TaskState[];
  /** The values of the workflow's `spec.outputs`, once the run succeeded. */
  outputs?: Record<string, unknown>;
  /** A sub-workflow's run: the run and task that started it. */
  parent?: ParentRun;
  /** A run a schedule started: the schedule's id. */
  scheduleId?: string;
  /** A run a schedule started: the time it was scheduled for (RFC 3339), not when it fired. */
  scheduledTime?: string;
  /** The run's trace id (W3C, 32 hex digits): its spans, its policy decisions and audit records. */
  traceId?: string;
  /** The run's trace in the configured trace UI (`MAESTRO_TRACE_UI_URL`). */
  traceUrl?: string;
}

/** Options of {@link runDetail}. */
export interface RunDetailOptions {
  /** The trace UI's URL of a trace, `{traceId}` standing for its id. @default undefined — no `traceUrl` */
  traceUiUrl?: string;
}

/** The run's trace id, and its link when a trace UI is configured. */
function traceView(traceId: string | undefined, { traceUiUrl }: RunDetailOptions): Pick<RunDetail, 'traceId' | 'traceUrl'> {
  if (traceId === undefined) return {};
  return { traceId, ...(traceUiUrl === undefined ? {} : { traceUrl: traceUiUrl.replaceAll('{traceId}', encodeURIComponent(traceId)) }) };
}

function pending(ir: WorkflowIR): TaskState[] {
  return allTaskNodes(ir).map((task) => ({ id: task.id, status: 'PENDING', attempts: 0 }));
}

/** Where a run is: on Temporal (with its execution), or waiting in the admission queue. */
export type RunLocation = { kind: 'temporal'; execution: RunExecution } | { kind: 'queued'; request: LaunchRequest };

/**
 * Finds a run on Temporal or in the admission queue.
 * @throws NotFoundError when it is in neither.
 */
export async function locateRun(client: Client, store: Store, runId: string): Promise<RunLocation> {
  const execution = await describeRun(client, runId);
  if (execution) return { kind: 'temporal', execution };
  const queued = await store.getAdmission(runId);
  if (queued) return { kind: 'queued', request: queued.request as LaunchRequest };
  throw new NotFoundError(`run "${runId}" not found`);
}

/** The namespace a located run belongs to. */
export function namespaceOf(location: RunLocation): string {
  return location.kind === 'temporal' ? location.execution.namespace : location.request.namespace;
}

/** The detail of a located run. */
export async function runDetail(client: Client, location: RunLocation, options: RunDetailOptions = {}): Promise<RunDetail> {
  if (location.kind === 'queued') {
    const { request } = location;
    const { ir, digest } = request.compiled;
    return {
      runId: request.runId,
      workflowRef: `${ir.name}@${ir.version}`,
      digest,
      namespace: request.namespace,
      status: 'QUEUED',
      params: redactParams(ir.parameters, request.params),
      ...(request.priority === undefined ? {} : { priority: request.priority }),
      startedBy: request.startedBy,
      policy: runPolicyView(ir, request.principal),
      tasks: pending(ir),
      ...(request.schedule === undefined ? {} : { scheduleId: request.schedule.scheduleId, scheduledTime: request.schedule.scheduledTime }),
      ...traceView(request.traceId, options),
    };
  }
  const { execution } = location;
  const [input, state] = await Promise.all([runInput(client, execution.runId), runState(client, execution)]);
  const detail = { ...detailOf(execution, input, state), ...traceView(input.traceId, options) };
  if (state.concurrency === undefined) return detail;
  const concurrency = detail.status === 'QUEUED' ? await concurrencyView(client, execution.runId, state.concurrency) : { key: state.concurrency.key };
  return { ...detail, concurrency };
}

function detailOf(execution: RunExecution, { ir, params, startedBy, principal, parent, schedule }: InterpreterInput, state: RunState): RunDetail {
  return {
    runId: execution.runId,
    workflowRef: `${ir.name}@${ir.version}`,
    digest: execution.digest,
    namespace: execution.namespace,
    // The execution's status wins over the state's when Temporal ended the run itself (terminated).
    status: execution.closed ? execution.status : state.status,
    params: redactParams(ir.parameters, params),
    ...(execution.priority === undefined ? {} : { priority: execution.priority }),
    ...(startedBy === undefined ? {} : { startedBy }),
    startedAt: state.startedAt,
    ...(state.endedAt ?? execution.endedAt ? { endedAt: state.endedAt ?? execution.endedAt } : {}),
    ...(state.error ? { error: state.error } : {}),
    policy: runPolicyView(ir, principal),
    tasks: state.tasks,
    ...(state.outputs === undefined ? {} : { outputs: state.outputs }),
    ...(parent === undefined ? {} : { parent }),
    ...(schedule === undefined ? {} : { scheduleId: schedule.scheduleId, scheduledTime: schedule.scheduledTime }),
  };
}
