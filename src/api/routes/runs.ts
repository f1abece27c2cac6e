/**
 * `/runs`: start, list, read, cancel, retry, approve, signal, pause and resume.
 */
import { approveTask, cancelOnTemporal, pauseOnTemporal, sendSignal } from '../../client/index.js';
import { MaestroError, NotFoundError } from '../../errors/index.js';
import { COMPENSATE_SUFFIX, type ApiProof, type ApprovalRequest, type SignalRequest, type TaskState, type WorkflowIR } from '../../ir/index.js';
import { checkParams, DEFAULT_NAMESPACE } from '../../manifest/index.js';
import type { AuditEvent } from '../../policy/index.js';
import { signApproval, signSignal } from '../../provenance/index.js';
import type { AdmissionEntry } from '../../store/index.js';
import { signalPayloadProblems } from '../../tasks/index.js';
import { caller, stringParam, type RouteContext, type RouteHandler } from '../context.js';
import {
  awaitRunEnd,
  instantOf,
  launchRun,
  listFromTemporal,
  recordBeforeActing,
  locateRun,
  namespaceOf,
  runDetail,
  runInput,
  runState,
  scheduledRunIdPrefix,
  startedExecution,
  type ApiRunStatus,
  type LaunchRequest,
  type RunExecution,
  type RunDetail,
  type RunFilter,
  type RunLocation,
  type RunSummary,
} from '../../runs/index.js';
import { assertNamespace, launchContext, startedByCaller } from './access.js';

interface StartRunBody {
  workflowRef: string;
  params: Record<string, unknown>;
  namespace?: string;
  priority?: number;
  idempotencyKey?: string;
}

/**
 * The idempotency key of a start: the `Idempotency-Key` header or the body's `idempotencyKey`.
 * @throws MaestroError `BAD_REQUEST` when both are given and differ.
 */
function idempotencyKeyOf(header: string | undefined, field: string | undefined): string | undefined {
  if (header !== undefined && field !== undefined && header !== field) throw new MaestroError('BAD_REQUEST', 'the Idempotency-Key header and the body\'s idempotencyKey differ; give one, or the same');
  return field ?? header;
}

/**
 * `POST /runs`: 201 with the new run, 200 with the run an idempotency key (header or body) already
 * started. With `wait`, the answer also waits for the run to end, as `GET /runs/{runId}?wait=`
 * does, and carries its detail (`run`): one call for a caller that wants the outcome. The wait's
 * stream slot is taken before anything starts, so a refused wait (429) starts nothing; a wait that
 * fails once the run started answers the start alone (its status not final, no `run`).
 */
export const startRun: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as StartRunBody;
  const namespace = body.namespace ?? DEFAULT_NAMESPACE;
  assertNamespace(principal, namespace);
  const idempotencyKey = idempotencyKeyOf(context.req.get('idempotency-key'), body.idempotencyKey);
  const wait = waitMs(context.query.wait);
  const [name = '', version = ''] = body.workflowRef.split('@');
  const entry = await context.deps.store.getWorkflow(namespace, name, version);
  if (!entry) throw new NotFoundError(`workflow ${body.workflowRef} is not registered in namespace ${namespace}`);
  const params = checkParams(entry.ir.parameters, body.params);
  const release = wait === 0 ? undefined : context.deps.streams.acquire(principal.subject);
  try {
    const result = await launchRun(
      launchContext(context.deps),
      {
        compiled: { ir: entry.ir, digest: entry.digest },
        params,
        namespace,
        ...startedByCaller(context, principal),
        ...(body.priority === undefined ? {} : { priority: body.priority }),
      },
      idempotencyKey,
    );
    const created = { runId: result.runId, status: result.status, workflowRef: body.workflowRef, namespace };
    const status = result.created ? 201 : 200;
    if (wait === 0 || result.status === 'QUEUED') return { status, body: created };
    try {
      // A run this request started is known without asking Temporal (the detail at its end takes
      // its status and times from the run's final state); one an idempotency key named is read
      // while it goes on, so the detail at its end does not wait for it.
      const started = result.created ? startedExecution(result.runId) : undefined;
      const located: Promise<RunLocation> = started === undefined ? locateRun(context.deps.client, context.deps.store, result.runId) : Promise.resolve({ kind: 'temporal', execution: started });
      const run = await waitedDetail(context, result.runId, wait, located);
      return { status, body: { ...created, status: run.status, run } };
    } catch (error) {
      // The run started: an error here would read as a failed start, and a retry without an
      // idempotency key would start a second run. The start's own answer says it is not over.
      console.error(`maestro api: POST /runs waiting for ${result.runId} failed; answered the start alone:`, error);
      return { status, body: created };
    }
  } finally {
    release?.();
  }
};

function queuedSummary(entry: AdmissionEntry): RunSummary {
  const request = entry.request as LaunchRequest;
  return {
    runId: entry.runId,
    workflowRef: `${request.compiled.ir.name}@${request.compiled.ir.version}`,
    digest: request.compiled.digest,
    namespace: entry.namespace,
    status: 'QUEUED',
    startedAt: entry.enqueuedAt,
  };
}

/** Queued runs matching the filter (the admission queue is short: filtered here); `since`/`until` are ISO instants. */
async function queuedRuns(context: RouteContext, filter: RunFilter): Promise<RunSummary[]> {
  const entries = await context.deps.store.listAdmissions({ state: 'queued' });
  return entries
    .map(queuedSummary)
    .filter((run) => filter.namespaces === undefined || filter.namespaces.includes(run.namespace))
    .filter((run) => filter.workflowRef === undefined || run.workflowRef === filter.workflowRef || run.workflowRef.startsWith(`${filter.workflowRef}@`))
    .filter((run) => filter.since === undefined || run.startedAt >= filter.since)
    .filter((run) => filter.until === undefined || run.startedAt < filter.until)
    .filter((run) => filter.runIdPrefix === undefined || run.runId.startsWith(filter.runIdPrefix))
    .reverse();
}

/**
 * `GET /runs`: one page from Temporal visibility, newest first; runs of the admission queue (not on
 * Temporal yet) come first on the first page, also with `status=QUEUED`, which adds the runs
 * Temporal shows QUEUED for their concurrency key.
 */
export const listRuns: RouteHandler = async (context) => {
  const principal = caller(context);
  const query = context.query as { status?: ApiRunStatus; workflowRef?: string; namespace?: string; scheduleId?: string; since?: string; until?: string; limit: number; pageToken?: string };
  if (query.namespace !== undefined) assertNamespace(principal, query.namespace);
  const namespaces = query.namespace !== undefined ? [query.namespace] : principal.namespaces.includes('*') ? undefined : principal.namespaces;
  // A principal of no namespace (a JWT without a namespaces claim) sees no run.
  if (namespaces?.length === 0) return { status: 200, body: { items: [] } };
  const filter: RunFilter = {
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.workflowRef === undefined ? {} : { workflowRef: query.workflowRef }),
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(query.since === undefined ? {} : { since: instantOf('since', query.since) }),
    ...(query.until === undefined ? {} : { until: instantOf('until', query.until) }),
    // A schedule's runs are named after it (and its namespace, the default one unless named).
    ...(query.scheduleId === undefined ? {} : { runIdPrefix: scheduledRunIdPrefix(query.namespace ?? DEFAULT_NAMESPACE, query.scheduleId) }),
  };
  const queued = query.pageToken === undefined && (query.status === undefined || query.status === 'QUEUED') ? await queuedRuns(context, filter) : [];
  const page = await listFromTemporal(context.deps.client, filter, { limit: query.limit, ...(query.pageToken === undefined ? {} : { pageToken: query.pageToken }) });
  return { status: 200, body: { ...page, items: [...queued, ...page.items] } };
};

/** Finds the run of the request's `runId` and checks the caller may touch its namespace. */
export async function ownRun(context: RouteContext): Promise<RunLocation> {
  const location = await locateRun(context.deps.client, context.deps.store, stringParam(context.path, 'runId'));
  assertNamespace(caller(context), namespaceOf(location));
  return location;
}

/** The longest `wait` of `GET /runs/{runId}`: a long-poll past it goes through proxies' idle timeouts badly. */
const MAX_WAIT_MS = 60_000;

/**
 * The `wait` of `GET /runs/{runId}` (`250ms`, `30s`) in milliseconds; 0 when absent.
 * @throws MaestroError `BAD_REQUEST` past {@link MAX_WAIT_MS}.
 */
function waitMs(value: unknown): number {
  if (typeof value !== 'string') return 0;
  const [, amount = '0', unit] = /^([0-9]+)(ms|s)$/.exec(value) ?? [];
  const ms = Number(amount) * (unit === 's' ? 1000 : 1);
  if (ms > MAX_WAIT_MS) throw new MaestroError('BAD_REQUEST', `wait may be at most ${MAX_WAIT_MS / 1000}s`, { details: { errors: [{ path: 'query.wait', message: `is longer than ${MAX_WAIT_MS / 1000}s` }] } });
  return ms;
}

/**
 * `GET /runs/{runId}`; with `wait`, a long-poll: answers once the run has ended or the wait is
 * over, whichever comes first. A wait holds one of the caller's stream slots (as an event stream
 * does) and ends when the client goes away.
 */
export const getRun: RouteHandler = async (context) => {
  const { deps } = context;
  const wait = waitMs(context.query.wait);
  // A wait for a run this process started begins without describing the run on Temporal first (a
  // round trip before the wait): the start says where it is and in which namespace; the wait learns
  // its end, and a wait that is over without it reads the run afresh (see waitedDetail).
  const started = wait === 0 ? undefined : startedExecution(stringParam(context.path, 'runId'));
  if (started !== undefined) assertNamespace(caller(context), started.namespace);
  const location: RunLocation = started === undefined ? await ownRun(context) : { kind: 'temporal', execution: started };
  if (wait === 0 || location.kind !== 'temporal' || location.execution.closed) return { status: 200, body: await runDetail(deps, location, deps.config) };
  const release = deps.streams.acquire(caller(context).subject);
  try {
    return { status: 200, body: await waitedDetail(context, location.execution.runId, wait, Promise.resolve(location)) };
  } finally {
    release();
  }
};

/**
 * The detail of a run on Temporal once it has ended, or as it is when `wait` ms are over, the
 * client went away or the API shuts down, whichever comes first. The caller holds a stream slot.
 * @param located the run as located before or during the wait.
 */
async function waitedDetail(context: RouteContext, runId: string, wait: number, located: Promise<RunLocation>): Promise<RunDetail> {
  const { deps, res } = context;
  // Awaited below either way; a rejection before then is not unhandled.
  located.catch(() => undefined);
  const gone = new AbortController();
  const abort = (): void => gone.abort();
  res.once('close', abort);
  let ended;
  try {
    ended = await awaitRunEnd(deps.client, runId, Date.now() + wait, AbortSignal.any([gone.signal, deps.shutdown]));
  } finally {
    res.off('close', abort);
  }
  // Still running (or ended by Temporal itself): read it as it is now.
  const now = ended === undefined ? await locateRun(deps.client, deps.store, runId) : await located;
  return runDetail(deps, now, deps.config, ended);
}

/**
 * Appends what the caller is about to do to a run to the audit log, before it is done: an action
 * that cannot be recorded is not taken.
 *
 * @throws MaestroError `AUDIT_UNAVAILABLE` (503) when the audit log refuses the record.
 */
async function audit(context: RouteContext, event: Omit<AuditEvent, 'actor' | 'time'>): Promise<void> {
  await recordBeforeActing(context.deps.auditLog, { ...event, actor: caller(context).subject, time: context.deps.clock() });
}

/** The caller's optional reason, from a body the OpenAPI document allows to be absent. */
function reasonOf(body: unknown): string | undefined {
  return (body as { reason?: string } | undefined)?.reason;
}

/** `POST /runs/{runId}/cancel {reason?}`: 202; a finished run is a 409. A queued run leaves the queue. */
export const cancelRun: RouteHandler = async (context) => {
  const location = await ownRun(context);
  const reason = reasonOf(context.body);
  const cancelled = (runId: string, queued: boolean) =>
    audit(context, { kind: 'cancellation', runId, namespace: namespaceOf(location), action: 'cancel', ...(reason === undefined ? {} : { reason }), details: { queued } });
  if (location.kind === 'queued') {
    await cancelled(location.request.runId, true);
    await context.deps.store.releaseRun(location.request.runId);
    // It never started: its price is not charged (its usage ledger row goes).
    await context.deps.store.releaseRunCharge(location.request.runId);
    return { status: 202, body: { runId: location.request.runId } };
  }
  const { execution } = location;
  if (execution.closed) throw new MaestroError('CONFLICT', `run ${execution.runId} has already finished (${execution.status})`);
  await cancelled(execution.runId, false);
  await cancelOnTemporal(context.deps.client, execution.runId);
  return { status: 202, body: { runId: execution.runId } };
};

/**
 * What a retry from `failed` keeps: the tasks that succeeded and were not undone. Compensations and
 * finally tasks run again in the new run; a task whose compensation started (the run undid it, or
 * tried to) runs again too.
 */
function retriedTasks(ir: WorkflowIR, states: readonly TaskState[]): TaskState[] {
  const byId = new Map(states.map((task) => [task.id, task]));
  return ir.tasks.flatMap((node) => {
    const task = byId.get(node.id);
    const undo = byId.get(`${node.id}${COMPENSATE_SUFFIX}`);
    return task?.status === 'SUCCEEDED' && (undo === undefined || undo.status === 'SKIPPED' || undo.status === 'PENDING') ? [task] : [];
  });
}

/** `POST /runs/{runId}/retry {from, reason?}`: 201 with the new run, which the policy checks like any start. */
export const retryRun: RouteHandler = async (context) => {
  const principal = caller(context);
  const { from, reason } = context.body as { from: 'start' | 'failed'; reason?: string };
  const location = await ownRun(context);
  if (location.kind === 'queued' || !location.execution.closed) {
    throw new MaestroError('CONFLICT', `run ${stringParam(context.path, 'runId')} has not finished; cancel it or wait before retrying`);
  }
  const { execution } = location;
  const [input, state] = await Promise.all([runInput(context.deps.client, execution.runId), runState(context.deps.client, execution)]);
  if (from === 'failed' && state.status === 'SUCCEEDED') {
    throw new MaestroError('CONFLICT', `run ${execution.runId} succeeded: nothing failed to retry (use from: start to run it again)`);
  }
  const carried = from === 'failed' ? retriedTasks(input.ir, state.tasks) : undefined;
  const result = await launchRun(launchContext(context.deps), {
      compiled: { ir: input.ir, digest: input.digest },
      params: input.params,
      namespace: execution.namespace,
      ...startedByCaller(context, principal),
      ...(execution.priority === undefined ? {} : { priority: execution.priority }),
      ...(carried === undefined ? {} : { carried }),
      origin: { kind: 'retry', runId: execution.runId, from, ...(reason === undefined ? {} : { reason }) },
    },
  );
  return {
    status: 201,
    body: { runId: result.runId, status: result.status, workflowRef: `${input.ir.name}@${input.ir.version}`, namespace: execution.namespace, retryOf: execution.runId },
  };
};

/**
 * How long after its expiry a decision's outcome may still reach the API: Temporal's default
 * workflow task timeout. A run takes a decision only in a workflow task that started before the
 * expiry, and such a task is finished (or timed out, and its work discarded) within this long.
 */
const APPROVAL_SETTLE_MS = 10_000;

/**
 * `POST /runs/{runId}/approvals`: the decision of the authenticated principal. It is signed to
 * expire after `approvalWaitMs`; if the run has not answered once it could no longer take it
 * (expiry + {@link APPROVAL_SETTLE_MS}), the caller gets 503 and the audit log records it as
 * refused — and the run refuses it if it is delivered later (a worker coming back), so the record
 * and the outcome cannot disagree.
 */
export const approveRunTask: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as { taskId: string; decision: 'approve' | 'reject'; comment?: string };
  const location = await ownRun(context);
  if (location.kind === 'queued') throw new MaestroError('CONFLICT', `run ${location.request.runId} is queued; nothing waits for approval yet`);
  if (location.execution.closed) throw new MaestroError('CONFLICT', `run ${location.execution.runId} has finished (${location.execution.status}); nothing waits for approval`);
  const { runId, namespace } = location.execution;
  const request: ApprovalRequest = {
    taskId: body.taskId,
    decision: body.decision,
    approver: principal.subject,
    roles: [...principal.roles],
    ...(body.comment === undefined ? {} : { comment: body.comment }),
  };
  const event = { kind: 'approval', runId, namespace, taskId: body.taskId } as const;
  await audit(context, { ...event, action: body.decision, ...(body.comment === undefined ? {} : { reason: body.comment }) });
  const signed = signApproval(context.deps.approvalKey, runId, request, { validForMs: context.deps.approvalWaitMs });
  const task = await sendBeforeExpiry(context, event, signed.proof, 'decision', () => approveTask(context.deps.client, runId, signed));
  return { status: 200, body: { runId, task } };
};

/**
 * Sends a message the API signed (an approval decision, a signal) and waits for the run to take it
 * until {@link APPROVAL_SETTLE_MS} after its proof expires. If the run refuses it, or no worker
 * answers by then (`503 UNAVAILABLE`), the audit log records it as `refused` with the reason —
 * and the run refuses it if it is delivered later (a worker coming back), so the record and the
 * outcome cannot disagree.
 */
async function sendBeforeExpiry<T>(
  context: RouteContext,
  event: Omit<AuditEvent, 'actor' | 'time' | 'action'>,
  proof: ApiProof | undefined,
  what: string,
  send: () => Promise<T>,
): Promise<T> {
  const deadline = Date.parse(proof?.expiresAt ?? '') + APPROVAL_SETTLE_MS;
  try {
    return await context.deps.client.connection.withDeadline(deadline, send);
  } catch (error) {
    // A run whose worker is gone (or whose workflow task keeps failing) never answers the update.
    const unanswered = !(error instanceof MaestroError) && Date.now() >= deadline;
    const failure = unanswered
      ? new MaestroError(
          'UNAVAILABLE',
          `no worker took the ${what} on run ${event.runId} before it expired at ${proof?.expiresAt} (is a worker polling its task queue?); the run will refuse it if it arrives later: send it again`,
          { cause: error },
        )
      : error;
    // The message was recorded before the run saw it; say that the run did not take it, and why.
    if (failure instanceof MaestroError) await audit(context, { ...event, action: 'refused', reason: failure.message });
    throw failure;
  }
}

/** The run of the request, running on Temporal; a queued or finished run is refused with `queued` or a 409. */
async function liveRun(context: RouteContext, queued: (runId: string) => MaestroError): Promise<RunExecution> {
  const location = await ownRun(context);
  if (location.kind === 'queued') throw queued(location.request.runId);
  if (location.execution.closed) throw new MaestroError('CONFLICT', `run ${location.execution.runId} has finished (${location.execution.status})`);
  return location.execution;
}

/** The states of a run's tasks and forEach items waiting for signal `name`. */
function waitingFor(tasks: readonly TaskState[], name: string): TaskState[] {
  return tasks.flatMap((task) => [task, ...(task.items ?? [])]).filter((task) => task.status === 'WAITING' && task.signal?.name === name);
}

/**
 * `POST /runs/{runId}/signals {name, payload}` (operator): delivers `payload` to every task of the
 * run waiting for signal `name`, as its output. The payload is checked here against each waiting
 * task's schema (400 `SIGNAL_PAYLOAD_INVALID`, and the task keeps waiting), recorded in the audit
 * log, signed, and checked again by the worker. No task waiting for `name` (yet, or any more) is
 * `409 SIGNAL_NOT_AWAITED`: a signal is not buffered (see docs/usage.md).
 */
export const signalRun: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as { name: string; payload: unknown };
  const notAwaited = (runId: string, why: string) => new MaestroError('SIGNAL_NOT_AWAITED', `no task of run ${runId} waits for signal "${body.name}"${why}; send it once one does`);
  const execution = await liveRun(context, (runId) => notAwaited(runId, ' (the run is queued)'));
  const { runId, namespace } = execution;
  const waiting = waitingFor((await runState(context.deps.client, execution)).tasks, body.name);
  if (waiting.length === 0) throw notAwaited(runId, '');
  for (const task of waiting) {
    const problem = signalPayloadProblems(body.payload, task.signal?.schema);
    if (problem !== undefined) throw new MaestroError('SIGNAL_PAYLOAD_INVALID', `task "${task.id}": ${problem}`);
  }
  const event = { kind: 'signal', runId, namespace, details: { name: body.name } } as const;
  await audit(context, { ...event, action: 'signal' });
  const request: SignalRequest = { name: body.name, payload: body.payload, sender: principal.subject };
  const signed = signSignal(context.deps.approvalKey, runId, request, { validForMs: context.deps.approvalWaitMs });
  const delivery = await sendBeforeExpiry(context, event, signed.proof, 'signal', () => sendSignal(context.deps.client, runId, signed));
  return { status: 200, body: { runId, name: body.name, taskIds: delivery.taskIds } };
};

/**
 * `POST /runs/{runId}/pause` and `/resume` (operator): idempotent — pausing a paused run or
 * resuming a running one answers 200 with the status and changes nothing. Recorded in the audit
 * log before the run sees it. A queued or finished run is a 409.
 */
function pauseOrResume(pause: boolean): RouteHandler {
  const action = pause ? 'pause' : 'resume';
  return async (context) => {
    const execution = await liveRun(context, (runId) => new MaestroError('CONFLICT', `run ${runId} is queued; it has not started, so there is nothing to ${action}`));
    const reason = reasonOf(context.body);
    await audit(context, { kind: 'pause', runId: execution.runId, namespace: execution.namespace, action, ...(reason === undefined ? {} : { reason }) });
    const status = await pauseOnTemporal(context.deps.client, execution.runId, pause);
    return { status: 200, body: { runId: execution.runId, status } };
  };
}

/** `POST /runs/{runId}/pause {reason?}`. */
export const pauseRun = pauseOrResume(true);

/** `POST /runs/{runId}/resume {reason?}`. */
export const resumeRun = pauseOrResume(false);
