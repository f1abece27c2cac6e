/**
 * `GET /runs/{runId}`: one run as the user sees it — status, params (secrets redacted), timings,
 * and every task — from Temporal, or from the admission queue while the run waits there.
 *
 * Where a live run's state comes from, so that a read never waits on the run's workflow task
 * (Temporal holds a query until the task, local activities included, is done): the latest state its
 * interpreter published to the store (`run_progress`, after every activation that changed it); the
 * run's IR with every task pending while its first workflow task is the only one and nothing has
 * been published; the interpreter's query only for a run that never published (one an older worker
 * ran). A closed run's state is its close event.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { allTaskNodes, redactParams, type InterpreterInput, type ParentRun, type RunState, type TaskErrorInfo, type TaskState, type WorkflowIR } from '../ir/index.js';
import type { Store } from '../store/index.js';
import { concurrencyView, type ConcurrencyView } from './concurrency.js';
import type { LaunchRequest } from './launch.js';
import { runPolicyView, type RunPolicyView } from './policy.js';
import { waitForRun } from '../client/index.js';
import { openValue, type AesGcmPayloadCodec } from '../codec/index.js';
import { withChildReceipts, type ReceiptStore } from '../provenance/index.js';
import { cachedRunInput } from './run-inputs.js';
import { describeRun, runState, type ApiRunStatus, type RunExecution } from './temporal.js';

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

/** What reading a run needs: Temporal, and the store (the admission queue, the published progress). */
export interface RunReader {
  client: Client;
  store: Pick<Store, 'getAdmission' | 'getRunProgress'>;
  /** Opens the published states the worker sealed. @default undefined — only JSON states are read */
  payloadCodec?: AesGcmPayloadCodec;
  /**
   * Where the receipt digests of a run's children are read (see `withChildReceipts`).
   * @default undefined — only the digests the run's state carries
   */
  receipts?: Pick<ReceiptStore, 'digestOf'>;
}

/**
 * A published state: JSON from a worker without a payload codec, else sealed.
 * @throws MaestroError `PAYLOAD_UNDECRYPTABLE` for a sealed state this process has no key for.
 */
export function openState(state: string, codec: AesGcmPayloadCodec | undefined): RunState {
  if (state.startsWith('{')) return JSON.parse(state) as RunState;
  if (codec === undefined) throw new MaestroError('PAYLOAD_UNDECRYPTABLE', 'the run\'s published state is encrypted and this process has no payload key');
  return openValue(codec, state) as RunState;
}

/** A run's state before anything of it settled: every task pending. */
function firstState(execution: RunExecution, { ir, concurrency }: InterpreterInput): RunState {
  return {
    runId: execution.runId,
    workflow: ir.name,
    version: ir.version,
    digest: execution.digest,
    status: execution.status,
    startedAt: execution.startedAt,
    tasks: pending(ir),
    // As the interpreter's first activation records it: a run waiting for its key shows the key.
    ...(ir.concurrency === undefined || concurrency === undefined ? {} : { concurrency: { key: concurrency.key, lockId: concurrency.lockId } }),
  };
}

/** A live run's latest known state (see the file's header); a closed run's final state. */
async function latestState({ client, store, payloadCodec }: RunReader, execution: RunExecution, input: Promise<InterpreterInput>): Promise<RunState> {
  if (execution.closed) return runState(client, execution);
  const progress = await store.getRunProgress(execution.runId);
  if (progress !== undefined) return openState(progress.state, payloadCodec);
  if (execution.firstTask === true) {
    try {
      return firstState(execution, await input);
    } catch (error) {
      // An IR whose tasks cannot even be listed fails the interpreter too: the query says how.
      if (!(error instanceof TypeError)) throw error;
    }
  }
  return runState(client, execution);
}

/**
 * Waits until the run ends, at most until `until` (ms since the epoch) or until `signal` aborts:
 * a long-poll on the run's history (its close event), no polling. Meanwhile the run's start input
 * is read, so that the detail answered at the end does not wait for it.
 * @returns the run's final state, or undefined when the wait ended first (or Temporal ended the run
 *   itself: terminated, timed out — a read then tells).
 */
export async function awaitRunEnd(client: Client, runId: string, until: number, signal: AbortSignal): Promise<RunState | undefined> {
  // A failed read is not kept (see cachedRunInput): the detail reads it again and reports it.
  cachedRunInput(client, runId).catch(() => undefined);
  try {
    return await client.connection.withAbortSignal(signal, () => client.connection.withDeadline(until, () => waitForRun(client, runId)));
  } catch (error) {
    if (error instanceof WorkflowFailedError || signal.aborted || Date.now() >= until) return undefined;
    throw error;
  }
}

/**
 * The detail of a located run.
 * @param ended the run's final state when the caller has it already (a wait that saw the run end).
 */
export async function runDetail(reader: RunReader, location: RunLocation, options: RunDetailOptions = {}, ended?: RunState): Promise<RunDetail> {
  const { client } = reader;
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
  const execution = ended === undefined ? location.execution : { ...location.execution, closed: true, status: ended.status, ...(ended.endedAt === undefined ? {} : { endedAt: ended.endedAt }) };
  const reading = cachedRunInput(client, execution.runId);
  const [input, state] = await Promise.all([reading, withChildDigests(reader, ended ?? latestState(reader, execution, reading))]);
  const detail = { ...detailOf(execution, input, state), ...traceView(input.traceId, options) };
  if (state.concurrency === undefined) return detail;
  const concurrency = detail.status === 'QUEUED' ? await concurrencyView(client, execution.runId, state.concurrency) : { key: state.concurrency.key };
  return { ...detail, concurrency };
}

/**
 * The state with its children's receipt digests, which runs of history format 3 do not record; a
 * store that cannot be read leaves them out rather than failing the read.
 */
async function withChildDigests({ receipts }: RunReader, reading: RunState | Promise<RunState>): Promise<RunState> {
  const state = await reading;
  return receipts === undefined ? state : withChildReceipts(state, receipts).catch(() => state);
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
