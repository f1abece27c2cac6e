/**
 * The one Maestro workflow: interprets any compiled DAG (the IR) deterministically.
 *
 * Ready tasks run in parallel up to `maxParallel`; `when` skips; `forEach` fans out at run time;
 * retries with backoff and deterministic jitter are driven here (the activity never retries a task
 * failure itself, only infrastructure loss); `wait.sleep` is a durable timer; approval gates wait
 * for the `approve` update. Workflow code: no I/O, no Node imports, time and randomness only
 * through Temporal's deterministic APIs.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../src/activities/index.js';
import {
  CEL_COST_LIMIT,
  ExpressionError,
  IR_VERSION,
  MAESTRO_STATUS,
  approveUpdate,
  evaluate,
  parseDuration,
  resolveTemplates,
  stateQuery,
  type ApprovalRecord,
  type ApprovalRequest,
  type ExpressionBindings,
  type InterpreterInput,
  type RunState,
  type RunStatus,
  type Principal,
  type RunTaskInput,
  type RunTaskResult,
  type TaskPolicyContext,
  type TaskErrorInfo,
  type TaskNode,
  type TaskState,
  type TaskFailureDetails,
} from '../src/ir/index.js';

/** Why the interpreter stopped scheduling new work. */
interface ForEachItem {
  value: unknown;
  index: number;
}

interface QueuedUnit {
  state: TaskState;
  start: () => void;
}

interface Failure {
  code: string;
  message: string;
  retryable: boolean;
}

type StopReason =
  | { code: 'RUN_CANCELLED'; message: string }
  | { code: 'RUN_TIMEOUT'; message: string }
  | { code: 'FAIL_FAST'; message: string }
  | { code: 'CIRCUIT_OPEN'; message: string };

/** Runs recorded before receipts existed end without the receipt activity; `patched` keeps them replaying. */
const RECEIPT_PATCH = 'maestro-receipt-v1';
/** Approvals recorded before the API signed them were counted without the `verifyApproval` activity. */
const APPROVAL_PROOF_PATCH = 'maestro-approval-proof-v1';
/** Gates recorded before their evaluated inputs were checked waited (or passed) whatever they said. */
const APPROVAL_GATE_PATCH = 'maestro-approval-gate-check-v1';

/** An approval gate as it waits: its inputs after evaluation. */
interface WaitingGate {
  /** Roles allowed to decide. */
  approvers: string[];
  /** Whether the run's starter may approve. */
  allowSelfApproval: boolean;
}

/** Runs recorded before expressions had a cost limit evaluate theirs without one, as they did then. */
const CEL_COST_PATCH = 'maestro-cel-cost-v1';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED']);
/** Liveness of an activity; a lost worker is noticed after this long and the attempt re-dispatched. */
const HEARTBEAT_TIMEOUT_MS = 10_000;
/** Grace over a task's own timeout (enforced inside the activity) before Temporal's backstop fires. */
const TIMEOUT_GRACE_MS = 5_000;
/** Without a task timeout, an attempt may run this long while it heartbeats. */
const DEFAULT_ATTEMPT_MS = 24 * 3_600_000;
const DEFAULT_LOCAL_ATTEMPT_MS = 60_000;
/** Infrastructure retries (worker lost, backstop timeout); task failures are never retried by Temporal. */
const INFRA_RETRY = { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/**
 * Runs a compiled workflow. Returns the final {@link RunState} when the run succeeds; a failed run
 * ends the workflow with an `ApplicationFailure` of type `RUN_FAILED` carrying the state, and a
 * cancelled run ends cancelled, so the Temporal Web UI shows the same outcome as Maestro.
 */
export async function dagInterpreter(input: InterpreterInput): Promise<RunState> {
  const { ir, params } = input;
  if (ir.irVersion !== IR_VERSION) {
    throw ApplicationFailure.nonRetryable(`unsupported irVersion ${String(ir.irVersion)}`, 'IR_UNSUPPORTED');
  }
  const namespace = input.namespace ?? 'default';
  // Read once here: helpers below name their task input `input` too.
  const { principal, traceId, cache: cacheMode } = input;
  const integerParams = new Set(ir.parameters.filter((p) => p.type === 'integer').map((p) => p.name));
  const expressionLimits = { costLimit: patched(CEL_COST_PATCH) ? CEL_COST_LIMIT : Number.POSITIVE_INFINITY };
  // Secret-typed params' values, for every attempt to redact from its logs and errors. Only the
  // activities' inputs change (replay does not compare them), so old histories replay as before.
  const secretValues = ir.parameters
    .filter((p) => p.secret && params[p.name] !== undefined && params[p.name] !== null)
    .map((p) => (typeof params[p.name] === 'string' ? (params[p.name] as string) : JSON.stringify(params[p.name])))
    .filter((value) => value !== '');
  const nodes = new Map(ir.tasks.map((task) => [task.id, task]));
  const carried = new Map((input.carried ?? []).map((task) => [task.id, task]));
  const run: RunState = {
    runId: workflowInfo().workflowId,
    workflow: ir.name,
    version: ir.version,
    digest: input.digest,
    status: 'RUNNING',
    startedAt: input.startedAt ?? new Date().toISOString(),
    tasks: ir.tasks.map((task) => carried.get(task.id) ?? { id: task.id, status: 'PENDING', attempts: 0 }),
  };
  const states = new Map(run.tasks.map((task) => [task.id, task]));
  let stop: StopReason | undefined;
  let failures = 0;
  const counted = new Set<string>();
  let inFlight = 0;
  let changes = 0;
  let publishedStatus: RunStatus | undefined;
  const unitScopes = new Set<CancellationScope>();
  /** Units launched (queued or running); their state stays PENDING until a slot frees. */
  const launched = new Set<TaskState>();
  const queue: QueuedUnit[] = [];
  const forEachLists = new Map<string, unknown[]>();
  /** Approval gates waiting for decisions, by task id (set when the gate starts waiting). */
  const gates = new Map<string, WaitingGate>();
  const approval = { nodes, states, gates, ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }) };

  setHandler(stateQuery, () => run);
  setHandler(
    approveUpdate,
    async (request) => {
      if (patched(APPROVAL_PROOF_PATCH)) {
        // The validator cannot check a signature (no crypto in the sandbox): a local activity does,
        // before anything is recorded. The gate may have moved on meanwhile: check it again.
        await verifyApprovalProof(run.runId, request);
        validateApproval(request, approval);
      }
      const state = states.get(request.taskId) as TaskState;
      (state.approvals ??= []).push({
        approver: request.approver,
        decision: request.decision,
        ...(request.comment === undefined ? {} : { comment: request.comment }),
        at: new Date().toISOString(),
      });
      changes += 1;
      return state;
    },
    { validator: (request) => validateApproval(request, approval) },
  );

  const changed = (): void => {
    changes += 1;
    publishStatus();
  };

  function publishStatus(): void {
    const status: RunStatus = run.tasks.some((task) => task.status === 'WAITING') ? 'WAITING' : 'RUNNING';
    if (status !== publishedStatus) setStatus(status);
  }

  function setStatus(status: RunStatus): void {
    run.status = status;
    publishedStatus = status;
    upsertSearchAttributes([{ key: MAESTRO_STATUS, value: status }]);
  }

  function bindings(item?: ForEachItem): ExpressionBindings {
    const tasks: ExpressionBindings['tasks'] = {};
    for (const task of run.tasks) {
      if (TERMINAL.has(task.status)) tasks[task.id] = { status: task.status, outputs: task.outputs ?? null };
    }
    return item ? { params, tasks, item: item.value, index: item.index } : { params, tasks };
  }

  function finish(state: TaskState, status: TaskState['status'], error?: TaskErrorInfo): void {
    state.status = status;
    state.endedAt = new Date().toISOString();
    if (error) state.error = error;
    changed();
  }

  function stopAll(reason: StopReason): void {
    if (stop) return;
    stop = reason;
    for (const scope of unitScopes) scope.cancel();
  }

  /** Runs one unit (a task, or one forEach item) with retries; settles its state. */
  async function runUnit(node: TaskNode, state: TaskState, item?: ForEachItem): Promise<void> {
    state.status = node.execution === 'approval' ? 'WAITING' : 'RUNNING';
    state.startedAt = new Date().toISOString();
    changed();
    try {
      for (let attempt = state.attempts + 1; ; attempt += 1) {
        state.attempts = attempt;
        const failure = await attemptUnit(node, state, attempt, item);
        if (!failure) return finish(state, 'SUCCEEDED');
        if (!failure.retryable || attempt >= node.retry.maxAttempts || stop) {
          return finish(state, 'FAILED', { code: failure.code, message: failure.message });
        }
        log.info('task attempt failed; retrying', { taskId: state.id, attempt, code: failure.code });
        changed();
        await sleep(backoffMs(node, attempt));
      }
    } catch (error) {
      if (!isCancellation(error)) throw error;
      const reason = stop ?? { code: 'RUN_CANCELLED', message: 'the run was cancelled' };
      finish(state, 'CANCELLED', { code: reason.code, message: reason.message });
    }
  }

  /** One attempt: resolves the input, executes, stores outputs; returns the failure, if any. */
  async function attemptUnit(node: TaskNode, state: TaskState, attempt: number, item?: ForEachItem): Promise<Failure | undefined> {
    try {
      const input = resolveTemplates(node.with, bindings(item), integerParams, expressionLimits) as Record<string, unknown>;
      state.outputs = await execute(node, state, input, attempt);
      return undefined;
    } catch (error) {
      if (isCancellation(error)) throw error;
      return describeFailure(error);
    }
  }

  async function execute(node: TaskNode, state: TaskState, input: Record<string, unknown>, attempt: number): Promise<unknown> {
    switch (node.execution) {
      case 'timer': {
        const ms = typeof input.ms === 'number' ? input.ms : parseDuration(String(input.duration ?? '0ms')) ?? 0;
        await sleep(ms);
        return { slept: ms };
      }
      case 'approval':
        return awaitApproval(state, input);
      case 'local-activity': {
        const timeoutMs = node.timeoutMs ?? DEFAULT_LOCAL_ATTEMPT_MS;
        const { runTask } = proxyLocalActivities<Activities>({
          startToCloseTimeout: timeoutMs + TIMEOUT_GRACE_MS,
          retry: INFRA_RETRY,
        });
        return settle(state, await runTask(taskInput(node, state, input, attempt)));
      }
      case 'activity': {
        const { runTask } = proxyActivities<Activities>({
          startToCloseTimeout: (node.timeoutMs ?? DEFAULT_ATTEMPT_MS) + TIMEOUT_GRACE_MS,
          heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
          retry: INFRA_RETRY,
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        });
        return settle(state, await runTask(taskInput(node, state, input, attempt)));
      }
    }
  }

  /** The outputs of a `runTask` result; marks the state when they came from the cache. */
  function settle(state: TaskState, result: RunTaskResult): unknown {
    if (result.cached) state.cached = true;
    return result.outputs;
  }

  function taskInput(node: TaskNode, state: TaskState, input: Record<string, unknown>, attempt: number): RunTaskInput {
    return {
      runId: run.runId,
      taskId: state.id,
      uses: node.uses,
      input,
      attempt,
      namespace,
      runsOn: node.runsOn,
      ...(node.timeoutMs === undefined ? {} : { timeoutMs: node.timeoutMs }),
      ...(principal === undefined ? {} : { policy: policyContext(node, principal) }),
      ...(node.cache === undefined ? {} : { cache: node.cache }),
      ...(cacheMode === undefined ? {} : { cacheMode }),
      ...(secretValues.length === 0 ? {} : { redact: secretValues }),
    };
  }

  function policyContext(node: TaskNode, acting: Principal): TaskPolicyContext {
    return {
      principal: acting,
      workflow: { name: ir.name, version: ir.version, digest: input.digest },
      context: ir.policy,
      ...(node.policy === undefined ? {} : { overrides: node.policy }),
      ...(node.labels === undefined ? {} : { labels: node.labels }),
      ...(traceId === undefined ? {} : { traceId }),
    };
  }

  async function awaitApproval(state: TaskState, input: Record<string, unknown>): Promise<unknown> {
    const problem = approvalGateProblem(input);
    if (problem !== undefined && patched(APPROVAL_GATE_PATCH)) throw ApplicationFailure.nonRetryable(problem, 'APPROVAL_GATE_INVALID');
    gates.set(state.id, { approvers: Array.isArray(input.approvers) ? input.approvers.map(String) : [], allowSelfApproval: input.allowSelfApproval === true });
    const minApprovals = typeof input.minApprovals === 'number' ? input.minApprovals : 1;
    const timeoutMs = typeof input.timeout === 'string' ? parseDuration(input.timeout) : undefined;
    const approvals = (): ApprovalRecord[] => state.approvals ?? [];
    const decided = (): boolean =>
      approvals().some((a) => a.decision === 'reject') || approvals().filter((a) => a.decision === 'approve').length >= minApprovals;
    const inTime = timeoutMs === undefined ? (await condition(decided), true) : await condition(decided, timeoutMs);
    if (!inTime) throw ApplicationFailure.nonRetryable(`no decision within ${String(input.timeout)}`, 'APPROVAL_TIMEOUT');
    const rejection = approvals().find((a) => a.decision === 'reject');
    if (rejection) {
      const reason = rejection.comment ? `: ${rejection.comment}` : '';
      throw ApplicationFailure.nonRetryable(`rejected by ${rejection.approver}${reason}`, 'APPROVAL_REJECTED');
    }
    return { approved: true, approvals: approvals().map(({ approver, comment, at }) => ({ approver, at, ...(comment ? { comment } : {}) })) };
  }

  /**
   * Starts a unit in its own cancellation scope, so failFast and timeouts can cancel it alone.
   * Activity units wait in `queue` for one of the `maxParallel` slots; timers and approvals hold none.
   */
  function launch(node: TaskNode, state: TaskState, item?: ForEachItem): void {
    launched.add(state);
    const holdsSlot = node.execution === 'activity' || node.execution === 'local-activity';
    const start = (): void => {
      if (holdsSlot) inFlight += 1;
      const scope = new CancellationScope();
      unitScopes.add(scope);
      void scope
        .run(() => runUnit(node, state, item))
        .finally(() => {
          unitScopes.delete(scope);
          if (holdsSlot) inFlight -= 1;
          changed();
        });
    };
    if (holdsSlot) queue.push({ state, start });
    else start();
  }

  /** Settles or starts tasks in topological order, so skips cascade in one pass; fills free slots. */
  function schedule(): void {
    if (stop) for (const queued of queue.splice(0)) finish(queued.state, 'SKIPPED', { code: stop.code, message: stop.message });
    for (const node of ir.tasks) {
      const state = states.get(node.id) as TaskState;
      if (state.items && !TERMINAL.has(state.status)) settleForEach(node, state);
      if (state.status !== 'PENDING' || launched.has(state)) continue;
      if (stop) {
        finish(state, 'SKIPPED', { code: stop.code, message: stop.message });
        continue;
      }
      const needs = node.needs.map((id) => states.get(id) as TaskState);
      if (!needs.every((need) => TERMINAL.has(need.status))) continue;
      const blocker = needs.find((need) => need.status !== 'SUCCEEDED' && !(need.status === 'FAILED' && nodes.get(need.id)?.continueOnError));
      if (blocker) {
        finish(state, 'SKIPPED', { code: 'UPSTREAM_NOT_SUCCEEDED', message: `needs "${blocker.id}", which is ${blocker.status}` });
        continue;
      }
      try {
        if (node.when !== undefined && evaluate(node.when, bindings(), integerParams, expressionLimits) !== true) {
          finish(state, 'SKIPPED', { code: 'WHEN_FALSE', message: `when \${${node.when}} is not true` });
        } else if (node.forEach) {
          state.status = 'RUNNING';
          state.startedAt = new Date().toISOString();
          state.items = forEachValues(node).map((_, index) => ({ id: `${node.id}[${index}]`, status: 'PENDING', attempts: 0 }));
          settleForEach(node, state);
        } else {
          launch(node, state);
        }
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        state.attempts = 1;
        finish(state, 'FAILED', { code: error.code, message: error.message });
      }
    }
    while (!stop && inFlight < ir.maxParallel && queue.length > 0) (queue.shift() as QueuedUnit).start();
  }

  /** The list a forEach task iterates, evaluated once (again after continue-as-new: same inputs, same list). */
  function forEachValues(node: TaskNode): unknown[] {
    let values = forEachLists.get(node.id);
    if (!values) {
      const items = (node.forEach as { items: string }).items;
      const value = evaluate(items, bindings(), integerParams, expressionLimits);
      if (!Array.isArray(value)) throw new ExpressionError(`forEach \${${items}} is ${typeof value}, not a list`, items);
      values = value;
      forEachLists.set(node.id, values);
    }
    return values;
  }

  /** Launches a forEach task's next items (within its maxParallel) and settles it once all are done. */
  function settleForEach(node: TaskNode, state: TaskState): void {
    const items = state.items as TaskState[];
    if (stop) {
      for (const item of items) {
        if (item.status === 'PENDING' && !launched.has(item)) finish(item, 'SKIPPED', { code: stop.code, message: stop.message });
      }
    } else {
      const values = forEachValues(node);
      const cap = node.forEach?.maxParallel ?? Number.POSITIVE_INFINITY;
      let room = cap - items.filter((item) => launched.has(item) && !TERMINAL.has(item.status)).length;
      items.forEach((item, index) => {
        if (room <= 0 || item.status !== 'PENDING' || launched.has(item)) return;
        room -= 1;
        launch(node, item, { value: values[index], index });
      });
    }
    if (!items.every((item) => TERMINAL.has(item.status))) return;
    state.attempts = Math.max(0, ...items.map((item) => item.attempts));
    state.outputs = items.map((item) => item.outputs ?? null);
    const failed = items.find((item) => item.status === 'FAILED');
    const cancelled = items.find((item) => item.status === 'CANCELLED' || item.status === 'SKIPPED');
    if (failed) {
      finish(state, 'FAILED', { code: failed.error?.code ?? 'TASK_FAILED', message: `${failed.id}: ${failed.error?.message ?? 'failed'}` });
    } else if (cancelled) {
      finish(state, 'CANCELLED', cancelled.error);
    } else {
      finish(state, 'SUCCEEDED');
    }
  }

  /** Counts each newly failed task once, for failFast and the circuit breaker. */
  function recordFailures(): void {
    for (const task of run.tasks) {
      if (counted.has(task.id) || !TERMINAL.has(task.status)) continue;
      counted.add(task.id);
      const node = nodes.get(task.id) as TaskNode;
      if (task.status !== 'FAILED' || node.continueOnError) continue;
      failures += 1;
      if (ir.circuitBreaker && failures >= ir.circuitBreaker.maxFailures) {
        stopAll({ code: 'CIRCUIT_OPEN', message: `circuit breaker open after ${failures} task failure(s)` });
      } else if (ir.failurePolicy === 'failFast') {
        stopAll({ code: 'FAIL_FAST', message: `stopped after task "${task.id}" failed (failurePolicy: failFast)` });
      }
    }
  }

  /**
   * Writes the run's signed provenance receipt (a local activity: its large input stays out of
   * history). A receipt that cannot be written is logged, never a reason to change the outcome.
   */
  async function writeReceipt(): Promise<void> {
    if (!patched(RECEIPT_PATCH)) return;
    const { writeReceipt: write } = proxyLocalActivities<Activities>({ startToCloseTimeout: '60s', retry: INFRA_RETRY });
    try {
      await write({ runId: run.runId, ir, digest: input.digest, params, state: run, namespace });
    } catch (error) {
      if (isCancellation(error)) throw error;
      log.error('the run receipt could not be written', { runId: run.runId, error: String(error) });
    }
  }

  const done = (): boolean => run.tasks.every((task) => TERMINAL.has(task.status)) && inFlight === 0 && unitScopes.size === 0;
  const historyLimit = input.historyEventLimit ?? 10_000;
  const tooLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLimit;

  if (ir.timeoutMs !== undefined) {
    const deadline = Date.parse(run.startedAt) + ir.timeoutMs;
    const remaining = Math.max(0, deadline - Date.now());
    void CancellationScope.nonCancellable(async () => {
      await sleep(remaining);
      stopAll({ code: 'RUN_TIMEOUT', message: `run exceeded its timeout of ${ir.timeoutMs} ms` });
      changed();
    });
  }

  publishStatus();
  try {
    for (;;) {
      recordFailures();
      if (!tooLong()) schedule();
      recordFailures();
      if (done()) break;
      if (tooLong() && inFlight === 0 && unitScopes.size === 0) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof dagInterpreter>({ ...input, carried: run.tasks, startedAt: run.startedAt });
      }
      const seen = changes;
      await condition(() => changes !== seen);
    }
  } catch (error) {
    if (!(error instanceof CancelledFailure)) throw error;
    await CancellationScope.nonCancellable(async () => {
      stopAll({ code: 'RUN_CANCELLED', message: 'the run was cancelled' });
      await condition(() => unitScopes.size === 0);
      for (const task of run.tasks.flatMap((t) => [...(t.items ?? []), t])) {
        if (!TERMINAL.has(task.status)) finish(task, 'CANCELLED', { code: 'RUN_CANCELLED', message: 'the run was cancelled' });
      }
      run.endedAt = new Date().toISOString();
      setStatus('CANCELLED');
      await writeReceipt();
    });
    throw error;
  }

  run.endedAt = new Date().toISOString();
  const failed = run.tasks.find((task) => task.status === 'FAILED' && !nodes.get(task.id)?.continueOnError);
  const stoppedBy = stop?.code === 'RUN_TIMEOUT' || stop?.code === 'CIRCUIT_OPEN' ? stop : undefined;
  if (failed || stoppedBy) {
    run.error = stoppedBy
      ? { code: stoppedBy.code, message: stoppedBy.message }
      : { code: failed?.error?.code ?? 'TASK_FAILED', message: `task "${failed?.id}" failed: ${failed?.error?.message ?? ''}` };
    setStatus('FAILED');
    await writeReceipt();
    throw ApplicationFailure.create({ message: run.error.message, type: 'RUN_FAILED', nonRetryable: true, details: [run] });
  }
  setStatus('SUCCEEDED');
  await writeReceipt();
  return run;
}

/**
 * Runs the `verifyApproval` local activity: the decision must carry the API's signature. A refusal
 * fails the update with the activity's error code (`FORBIDDEN`), and nothing is recorded.
 */
async function verifyApprovalProof(runId: string, request: ApprovalRequest): Promise<void> {
  const { verifyApproval } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: INFRA_RETRY });
  try {
    await verifyApproval({ runId, request });
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) throw ApplicationFailure.nonRetryable(cause.message, cause.type ?? 'FORBIDDEN');
    throw error;
  }
}

/**
 * What is wrong with an approval gate's inputs after evaluation, if anything: a gate must name at
 * least one approver role and need at least one approval, or it would wait for no one or pass at once.
 */
function approvalGateProblem(input: Record<string, unknown>): string | undefined {
  const { approvers, minApprovals = 1, allowSelfApproval = false } = input;
  if (!Array.isArray(approvers) || approvers.length === 0 || !approvers.every((role) => typeof role === 'string' && role !== '')) {
    return `approvers must be a non-empty list of role names; it evaluated to ${JSON.stringify(approvers) ?? 'nothing'}`;
  }
  if (typeof minApprovals !== 'number' || !Number.isInteger(minApprovals) || minApprovals < 1) {
    return `minApprovals must be an integer of at least 1; it evaluated to ${JSON.stringify(minApprovals)}`;
  }
  if (typeof allowSelfApproval !== 'boolean') return `allowSelfApproval must be true or false; it evaluated to ${JSON.stringify(allowSelfApproval)}`;
  return undefined;
}

/** What {@link validateApproval} checks a decision against. */
interface ApprovalContext {
  nodes: Map<string, TaskNode>;
  states: Map<string, TaskState>;
  gates: Map<string, WaitingGate>;
  /** Who started the run; they may not approve it unless the gate allows it. */
  startedBy?: string;
}

/**
 * Update validator for `approve`: throwing rejects the update without touching history. The
 * failure type is the Maestro error code the API and CLI report.
 */
function validateApproval(request: ApprovalRequest, { nodes, states, gates, startedBy }: ApprovalContext): void {
  const reject = (message: string, code: 'TASK_NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'BAD_REQUEST'): never => {
    throw ApplicationFailure.nonRetryable(message, code);
  };
  if (request.decision !== 'approve' && request.decision !== 'reject') reject('decision must be "approve" or "reject"', 'BAD_REQUEST');
  // Workflow time (deterministic): a decision that reaches the run after its proof expired is one
  // the API stopped waiting for and recorded as refused, so it must not count now. Proofs of older
  // APIs carry no expiry; the verifyApproval activity bounds their age.
  const expiresAt = request.proof?.expiresAt;
  if (expiresAt !== undefined && !(Date.now() <= Date.parse(expiresAt))) {
    reject(`the decision expired at ${expiresAt} before the run could take it (the API recorded it as refused); decide again`, 'FORBIDDEN');
  }
  if (typeof request.approver !== 'string' || !Array.isArray(request.roles)) reject('an approval names its approver and their roles', 'BAD_REQUEST');
  const node = nodes.get(request.taskId);
  if (!node || node.execution !== 'approval') reject(`"${request.taskId}" is not an approval task of this run`, 'TASK_NOT_FOUND');
  const state = states.get(request.taskId) as TaskState;
  if (state.status !== 'WAITING') reject(`task "${request.taskId}" is ${state.status}, not WAITING for approval`, 'CONFLICT');
  const gate = gates.get(request.taskId);
  const approvers = gate?.approvers ?? [];
  if (!request.roles.some((role) => approvers.includes(role))) {
    reject(`${request.approver} holds none of the approver roles ${approvers.join(', ')}`, 'FORBIDDEN');
  }
  if (request.decision === 'approve' && request.approver === startedBy && gate?.allowSelfApproval !== true) {
    reject(`${request.approver} started this run and may not approve it (the gate does not set allowSelfApproval)`, 'FORBIDDEN');
  }
  if ((state.approvals ?? []).some((a) => a.approver === request.approver)) {
    reject(`${request.approver} has already decided on task "${request.taskId}"`, 'CONFLICT');
  }
}

/** Exponential backoff capped at maxInterval, with ±jitter drawn from the workflow's seeded random. */
function backoffMs(node: TaskNode, attempt: number): number {
  const { initialIntervalMs, backoffCoefficient, maxIntervalMs, jitter } = node.retry;
  const base = Math.min(maxIntervalMs, initialIntervalMs * backoffCoefficient ** (attempt - 1));
  return Math.max(0, Math.round(base * (1 + jitter * (2 * Math.random() - 1))));
}

/** Code, message and retryability of a failed attempt; anything unexpected is a bug and fails the workflow task. */
function describeFailure(error: unknown): Failure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as TaskFailureDetails | undefined;
    return { code: cause.type ?? 'TASK_FAILED', message: cause.message, retryable: details?.retryable ?? false };
  }
  if (cause instanceof TimeoutFailure) return { code: 'TASK_TIMEOUT', message: cause.message, retryable: true };
  if (error instanceof ExpressionError) return { code: error.code, message: error.message, retryable: false };
  throw error;
}
