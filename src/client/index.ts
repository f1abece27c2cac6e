/**
 * Runs as Temporal executions: start, observe, approve, cancel. The CLI, the API and the tests all
 * go through these functions; Temporal is the system of record.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TypedSearchAttributes, type Payload } from '@temporalio/common';
import { MaestroError, NotFoundError, isErrorCode } from '../errors/index.js';
import {
  INTERPRETER_WORKFLOW,
  MAESTRO_DIGEST,
  MAESTRO_NAMESPACE,
  MAESTRO_STATUS,
  MAESTRO_VERSION,
  MAESTRO_WORKFLOW,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  signalUpdate,
  stateQuery,
  type ApprovalRequest,
  type RunStatus,
  type SignalDelivery,
  type SignalRequest,
  type CompiledWorkflow,
  type CacheMode,
  type InterpreterInput,
  type Principal,
  type RunState,
  type TaskState,
} from '../ir/index.js';

/** Options of {@link startRun}. */
export interface StartRunOptions {
  compiled: CompiledWorkflow;
  /** Checked parameters (see `checkParams`). */
  params: Record<string, unknown>;
  /** @default 'maestro' */
  taskQueue?: string;
  /** Run id, used as the Temporal workflow id. @default `run-<uuid>` */
  runId?: string;
  /** Maestro namespace. @default 'default' */
  namespace?: string;
  startedBy?: string;
  /** The principal the run acts for; the policy decides each task for it. */
  principal?: Principal;
  /** Trace id correlating the run with its caller. */
  traceId?: string;
  /** See {@link InterpreterInput.traceParent}. @default undefined — the run's span is a root */
  traceParent?: string;
  /** See {@link InterpreterInput.taskDecisions}. @default undefined — every attempt is decided again */
  taskDecisions?: InterpreterInput['taskDecisions'];
  /** `bypass` runs every task afresh and leaves the cache alone (replay). @default 'use' */
  cache?: CacheMode;
  /** See {@link InterpreterInput.historyEventLimit}. */
  historyEventLimit?: number;
  /**
   * Temporal task-queue priority, 1 (highest) to 5 (lowest).
   * @default undefined — Temporal's default, 3
   */
  priority?: number;
  /**
   * Finished tasks carried into the run, with their outputs (retry from the failed step); see
   * {@link InterpreterInput.carried}.
   * @default undefined — every task runs
   */
  carried?: TaskState[];
  /**
   * The concurrency key the run-start path acquired (see {@link InterpreterInput.concurrency}).
   * @default undefined — the workflow has no `spec.concurrency`
   */
  concurrency?: InterpreterInput['concurrency'];
  /** See {@link InterpreterInput.schedule}. @default undefined — not started by a schedule */
  schedule?: InterpreterInput['schedule'];
}

/** Starts the interpreter on a compiled workflow; returns the run id. */
export async function startRun(client: Client, options: StartRunOptions): Promise<string> {
  const runId = options.runId ?? `run-${randomUUID()}`;
  await startInterpreter(client, runId, interpreterInput(options), options);
  return runId;
}

/** What the interpreter of a run started with `options` takes: the start event's input. */
export function interpreterInput(options: StartRunOptions): InterpreterInput {
  const { compiled, params, namespace = 'default' } = options;
  return {
    ir: compiled.ir,
    digest: compiled.digest,
    params,
    namespace,
    // The first status is set by startInterpreter, with the other search attributes.
    historyFormat: 3,
    ...(options.startedBy === undefined ? {} : { startedBy: options.startedBy }),
    ...(options.principal === undefined ? {} : { principal: options.principal }),
    ...(options.traceId === undefined ? {} : { traceId: options.traceId }),
    ...(options.traceParent === undefined ? {} : { traceParent: options.traceParent }),
    ...(options.taskDecisions === undefined ? {} : { taskDecisions: options.taskDecisions }),
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...(options.historyEventLimit === undefined ? {} : { historyEventLimit: options.historyEventLimit }),
    ...(options.carried === undefined ? {} : { carried: options.carried }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
  };
}

/** Starts the interpreter on `input` (see {@link interpreterInput}) as run `runId`. */
export async function startInterpreter(client: Client, runId: string, input: InterpreterInput, { taskQueue = 'maestro', priority }: Pick<StartRunOptions, 'taskQueue' | 'priority'>): Promise<void> {
  await client.workflow.start(INTERPRETER_WORKFLOW, {
    workflowId: runId,
    // A run id names one run: starting it again fails with WorkflowExecutionAlreadyStartedError,
    // even once it has finished, which is what makes API starts idempotent.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    ...(priority === undefined ? {} : { priority: { priorityKey: priority } }),
    taskQueue,
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: MAESTRO_WORKFLOW, value: input.ir.name },
      { key: MAESTRO_VERSION, value: input.ir.version },
      { key: MAESTRO_DIGEST, value: input.digest },
      { key: MAESTRO_NAMESPACE, value: input.namespace ?? 'default' },
      { key: MAESTRO_STATUS, value: input.concurrency?.granted === false ? 'QUEUED' : 'RUNNING' },
    ]),
  });
}

/**
 * The first of `payloads` read from raw history (`fetchHistory`, `getWorkflowExecutionHistory`)
 * as the client's data converter reads it: decrypted by its codecs, then converted. Raw history
 * is not decoded by the client, so every reader of it goes through here.
 */
export async function firstHistoryValue<T>(client: Client, payloads: readonly Payload[]): Promise<T> {
  const { payloadConverter, payloadCodecs } = client.options.loadedDataConverter;
  let decoded = [...payloads];
  for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  const [first] = decoded;
  if (!first) throw new MaestroError('INTERNAL', 'no payload to read');
  return payloadConverter.fromPayload<T>(first);
}

function handle(client: Client, runId: string): WorkflowHandle {
  return client.workflow.getHandle(runId);
}

/**
 * Live state of a run (status per task, attempts, outputs), from the interpreter's query; works on
 * finished runs too.
 *
 * @throws NotFoundError when no run has this id.
 */
export async function getRunState(client: Client, runId: string): Promise<RunState> {
  try {
    return await handle(client, runId).query(stateQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`run "${runId}" not found`, { cause: error });
    throw error;
  }
}

/**
 * Waits for a run to end and returns its final state, whatever the outcome (SUCCEEDED, FAILED,
 * CANCELLED).
 */
export async function waitForRun(client: Client, runId: string): Promise<RunState> {
  try {
    return (await handle(client, runId).result()) as RunState;
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    if (error.cause instanceof ApplicationFailure && error.cause.type === 'RUN_FAILED') {
      return error.cause.details?.[0] as RunState;
    }
    if (error.cause instanceof CancelledFailure) return getRunState(client, runId);
    throw error;
  }
}

/** Runs an update on a run; a refusal by the run (its validator or handler) becomes the MaestroError of its code. */
async function updateRun<Ret>(runId: string, update: () => Promise<Ret>): Promise<Ret> {
  try {
    return await update();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`run "${runId}" not found`, { cause: error });
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) throw new MaestroError(cause.type, cause.message, { cause: error });
    throw error;
  }
}

/** Sends an approval decision; rejected (with the validator's reason) when it does not apply. */
export function approveTask(client: Client, runId: string, request: ApprovalRequest): Promise<TaskState> {
  return updateRun(runId, () => handle(client, runId).executeUpdate(approveUpdate, { args: [request] }));
}

/**
 * Sends a signal (signed by the API, see `signSignal`) to the tasks of a run waiting for its name;
 * returns the tasks that took it. Refused with `SIGNAL_NOT_AWAITED` when none waits,
 * `SIGNAL_PAYLOAD_INVALID` when the payload does not match, `FORBIDDEN` without a valid proof.
 */
export function sendSignal(client: Client, runId: string, request: SignalRequest): Promise<SignalDelivery> {
  return updateRun(runId, () => handle(client, runId).executeUpdate(signalUpdate, { args: [request] }));
}

/** Pauses (`pause: true`) or resumes a run; idempotent. Returns the run's status after it. */
export function pauseOnTemporal(client: Client, runId: string, pause: boolean): Promise<RunStatus> {
  return updateRun(runId, () => handle(client, runId).executeUpdate(pause ? pauseUpdate : resumeUpdate));
}

/**
 * Requests cancellation of a run's Temporal execution: in-flight tasks are cancelled, unfinished
 * tasks end CANCELLED. The API's `cancelRun` also takes a queued run off the admission queue.
 */
export async function cancelOnTemporal(client: Client, runId: string): Promise<void> {
  await handle(client, runId).cancel();
}
