/**
 * The one Maestro workflow: interprets any compiled DAG (the IR) deterministically.
 *
 * The Temporal shell around the {@link Scheduler} (./scheduler.ts), which decides what runs, what
 * is skipped and how failures count. The shell runs what it asks: `runTask` activities (the activity
 * never retries a task failure itself, only infrastructure loss; retries with backoff and
 * deterministic jitter are the scheduler's), durable timers for `wait.sleep` and backoffs, approval
 * gates waiting for the `approve` update, signal waits for the `signal` update, the `pause` and
 * `resume` updates, the run timeout, search attributes, the receipt and continue-as-new. Workflow
 * code: no I/O, no Node imports, time and randomness only through Temporal's deterministic APIs.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ProgressSinks, ReceiptSinks } from '../src/activities/index.js';
import {
  CEL_COST_LIMIT,
  ExpressionError,
  MAESTRO_DIGEST,
  MAESTRO_NAMESPACE,
  MAESTRO_STATUS,
  MAESTRO_VERSION,
  MAESTRO_WORKFLOW,
  SIGNAL_NAME_MAX_LENGTH,
  approveUpdate,
  isRecord,
  confirmSignal,
  grantedSignal,
  isSupportedIrVersion,
  releaseSignal,
  parseDuration,
  pauseUpdate,
  resumeUpdate,
  signalPayloadProblem,
  signalUpdate,
  stateQuery,
  type ApprovalRecord,
  type ApprovalRequest,
  type InterpreterInput,
  type SignalRequest,
  type SignalWait,
  type ParentRun,
  type RunState,
  type RunTaskInput,
  type RunTrace,
  type TaskPolicyContext,
  type TaskErrorInfo,
  type TaskNode,
  type TaskState,
  type TaskFailureDetails,
  type SubWorkflowRef,
  type RemoteAttemptInput,
  type RemoteFailure,
  type RemoteFinishInput,
  type RemoteLogLine,
  type RemoteTaskRequest,
  type RemoteTaskResult,
  type RunTaskResult,
  remoteActivityType,
} from '../src/ir/index.js';
import { atActivationEnd } from './activation-end.js';
import { Scheduler, isTerminal, type AttemptFailure, type Command, type Unit } from './scheduler.js';

/** The per-key lock of concurrency keys: bundled with the interpreter, registered by the same worker. */
export { concurrencyLock } from './concurrency-lock.js';

/** The workflow a schedule's fires start: bundled with the interpreter, registered by the same worker. */
export { scheduledRun } from './scheduled-run.js';

/** Runs recorded before receipts existed end without the receipt activity; `patched` keeps them replaying. */
const RECEIPT_PATCH = 'maestro-receipt-v1';
/** Approvals recorded before the API signed them were counted without the `verifyApproval` activity. */
const APPROVAL_PROOF_PATCH = 'maestro-approval-proof-v1';
/** Gates recorded before their evaluated inputs were checked waited (or passed) whatever they said. */
const APPROVAL_GATE_PATCH = 'maestro-approval-gate-check-v1';
/** Runs recorded before expressions had a cost limit evaluate theirs without one, as they did then. */
const CEL_COST_PATCH = 'maestro-cel-cost-v1';
/**
 * Runs recorded before the scheduler split ran each unit in a cancellation scope of its own (a stop
 * cancelled them unit by unit, in start order) and scheduled once per wake-up of a main loop. Newer
 * runs share one scope for all units (cancelled in the order their timers and activities were
 * scheduled) and schedule right after each event.
 */
const SHARED_SCOPE_PATCH = 'maestro-shared-unit-scope-v1';

/** An approval gate as it waits: its inputs after evaluation. */
interface WaitingGate {
  /** Roles allowed to decide. */
  approvers: string[];
  /** Whether the run's starter may approve. */
  allowSelfApproval: boolean;
}

/** A `wait.signal` task (or item) waiting: what it waits for, and the payload once one is delivered. */
interface PendingSignal {
  state: TaskState;
  wait: SignalWait;
  /** Set by the `signal` update once the worker has checked the proof and the payload. */
  delivered?: { payload: unknown };
}

/** Liveness of an activity; a lost worker is noticed after this long and the attempt re-dispatched. */
const HEARTBEAT_TIMEOUT_MS = 10_000;
/** Grace over a task's own timeout (enforced inside the activity) before Temporal's backstop fires. */
const TIMEOUT_GRACE_MS = 5_000;
/** Without a task timeout, an attempt may run this long while it heartbeats. */
const DEFAULT_ATTEMPT_MS = 24 * 3_600_000;
const DEFAULT_LOCAL_ATTEMPT_MS = 60_000;
/** Infrastructure retries (worker lost, backstop timeout); task failures are never retried by Temporal. */
const INFRA_RETRY = { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
/** A remote (e.g. Python) task's worker heartbeats every 5 s: three missed beats and it counts as lost. */
const REMOTE_HEARTBEAT_TIMEOUT_MS = 30_000;

type RunTask = Activities['runTask'];

/**
 * Runs a compiled workflow. Returns the final {@link RunState} when the run succeeds; a failed run
 * ends the workflow with an `ApplicationFailure` of type `RUN_FAILED` carrying the state, and a
 * cancelled run ends cancelled, so the Temporal Web UI shows the same outcome as Maestro.
 *
 * The decisions are the {@link Scheduler}'s; this shell turns Temporal's events into its events and
 * executes the commands it returns. A unit's attempt is one activity (or timer, or approval wait)
 * promise with one reaction: no async function or cancellation scope per unit, so a scheduling pass
 * creates few promises (each one costs a stack capture in the workflow sandbox).
 */
export async function dagInterpreter(input: InterpreterInput): Promise<RunState> {
  const { ir, params } = input;
  if (!isSupportedIrVersion(ir.irVersion)) {
    throw ApplicationFailure.nonRetryable(`unsupported irVersion ${String(ir.irVersion)}`, 'IR_UNSUPPORTED');
  }
  const namespace = input.namespace ?? 'default';
  const { principal, traceId, cache: cacheMode } = input;
  /** The run's trace, for the worker's spans (attempts, the run's, the receipt's): plain data, no span work here. */
  const runTrace: RunTrace | undefined =
    traceId === undefined
      ? undefined
      : { traceId, ...(input.traceParent === undefined ? {} : { parent: input.traceParent }), ...(input.parent === undefined ? {} : { parentRunId: input.parent.runId }) };
  /** What every attempt's policy context shares: built once per run, not per attempt. */
  const runPolicy: Pick<TaskPolicyContext, 'principal' | 'workflow' | 'context'> | undefined =
    principal === undefined ? undefined : { principal, workflow: { name: ir.name, version: ir.version, digest: input.digest }, context: ir.policy };
  /**
   * Whether the run records history format 2 (see `InterpreterInput.historyFormat`): every patch
   * below applies without its marker. A run an older worker began (it recorded the cost-limit
   * marker first) keeps deciding by its markers.
   */
  const format2 = (input.historyFormat ?? 1) >= 2 && !(workflowInfo().unsafe.isReplaying && patched(CEL_COST_PATCH));
  const applies = (patch: string): boolean => format2 || patched(patch);
  /** History format 3: a sub-workflow's run writes its receipt through the sink too (see {@link writeReceipt}). */
  const format3 = format2 && (input.historyFormat ?? 1) >= 3;
  const expressionLimits = { costLimit: applies(CEL_COST_PATCH) ? CEL_COST_LIMIT : Number.POSITIVE_INFINITY };
  // Secret-typed params' values, for every attempt to redact from its logs and errors. Only the
  // activities' inputs change (replay does not compare them), so old histories replay as before.
  const secretValues = ir.parameters
    .filter((p) => p.secret && params[p.name] !== undefined && params[p.name] !== null)
    .map((p) => (typeof params[p.name] === 'string' ? (params[p.name] as string) : JSON.stringify(params[p.name])))
    .filter((value) => value !== '');
  const now = (): string => new Date().toISOString();
  const scheduler = new Scheduler(ir, {
    runId: workflowInfo().workflowId,
    digest: input.digest,
    params,
    startedAt: input.startedAt ?? now(),
    ...(input.carried === undefined ? {} : { carried: input.carried }),
    ...(input.compensable === undefined ? {} : { compensable: input.compensable }),
    expressionLimits,
    random: Math.random,
  });
  const { run, states, nodes } = scheduler;
  /**
   * The run's concurrency key (irVersion 3 with `spec.concurrency`), acquired by the run-start path.
   * A workflow without one pays nothing here: no handler, no message, no event.
   */
  const concurrency = ir.concurrency === undefined ? undefined : input.concurrency;
  let granted = concurrency?.granted ?? true;
  if (concurrency) {
    run.concurrency = { key: concurrency.key, lockId: concurrency.lockId };
    setHandler(grantedSignal, () => void (granted = true));
  }
  /** Approval gates waiting for decisions, by task id (set when the gate starts waiting). */
  const gates = new Map<string, WaitingGate>();
  const approval = { nodes, states, gates, ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }) };
  /**
   * Where units run: one scope for all (cancelled at once on a stop), or, for runs recorded before
   * it, a scope per unit (by unit, in start order). Also says how passes are driven (see `report`).
   */
  const unitsScope = applies(SHARED_SCOPE_PATCH) ? new CancellationScope() : undefined;
  /** The workflow's own scope: cancelled when the run is. */
  const workflowScope = CancellationScope.current();
  const unitScopes = new Map<Unit, CancellationScope>();
  /**
   * Where handlers (`runIf` tasks, irVersion 2) run: apart from the other units, so that a failFast
   * or circuit-breaker stop does not cancel them, nor keep them from starting. Made on first use.
   */
  let handlersScope: CancellationScope | undefined;
  /**
   * Where compensations and finally tasks (irVersion 3) run, and their grace timer: shielded from
   * the run's cancellation (they are what runs after it), cancelled only when the grace period ends.
   * Made on first use.
   */
  let cleanup: { shield: CancellationScope; scope: CancellationScope } | undefined;
  const cleanupScopes = (): { shield: CancellationScope; scope: CancellationScope } => {
    if (!cleanup) {
      const shield = new CancellationScope({ cancellable: false, parent: workflowScope });
      cleanup = { shield, scope: new CancellationScope({ cancellable: true, parent: shield }) };
    }
    return cleanup;
  };
  /** `runTask` by attempt timeout and kind: a proxy is made once, not per attempt. */
  const runTasks = new Map<string, RunTask>();
  /** Signal waits pending, by task (or item) id. */
  const signalWaits = new Map<string, PendingSignal>();

  setHandler(stateQuery, () => run);
  /**
   * Publications of the run's state so far, and whether one is due at the end of this activation.
   * The worker's progress sink writes the state where the API reads it without waiting on this
   * workflow task (a query waits for it, local activities included). A sink is not history: old
   * histories replay unchanged, and a replay publishes nothing.
   */
  const progress = { seq: 0, due: false, sink: proxySinks<ProgressSinks>().maestroProgress };
  const publish = (): void => {
    progress.due = false;
    progress.seq += 1;
    progress.sink.publish({ namespace, seq: progress.seq, state: run });
  };
  /**
   * Publishes the run's state once the current activation's events have all been applied, so that
   * the state published is the activation's last: when it concludes (no promise).
   */
  function publishProgress(): void {
    if (progress.due) return;
    progress.due = true;
    atActivationEnd(publish);
  }
  setHandler(
    approveUpdate,
    async (request) => {
      if (applies(APPROVAL_PROOF_PATCH)) {
        // The validator cannot check a signature (no crypto in the sandbox): a local activity does,
        // before anything is recorded. The gate may have moved on meanwhile: check it again.
        // A finally gate may be decided after the run was cancelled: check it where cancellation does not reach.
        if (scheduler.phase === 'tasks') await verifyApprovalProof(run.runId, request);
        else await cleanupScopes().shield.run(() => verifyApprovalProof(run.runId, request));
        validateApproval(request, approval);
      }
      const state = states.get(request.taskId) as TaskState;
      (state.approvals ??= []).push({
        approver: request.approver,
        decision: request.decision,
        ...(request.comment === undefined ? {} : { comment: request.comment }),
        at: now(),
      });
      scheduler.approvalRecorded();
      // An approval short of the gate's minimum changes no task's status, so no command follows: publish it here.
      publishProgress();
      return state;
    },
    { validator: (request) => validateApproval(request, approval) },
  );
  // Signals, pause and resume exist only for runs that receive them: a run never sent one (every
  // recorded history) issues no command it did not issue before.
  setHandler(
    signalUpdate,
    async (request) => {
      const taking = waitsFor(request, signalWaits);
      // The validator cannot check a signature nor run a JSON Schema (no crypto, no user schema in
      // the sandbox): a local activity does both, and its answer is recorded for replay.
      await verifySignalProof(run.runId, request, taking);
      // A wait may have timed out (or been cancelled) meanwhile: only those still waiting take it.
      const delivered = taking.filter((pending) => signalWaits.get(pending.state.id) === pending);
      if (delivered.length === 0) throw ApplicationFailure.nonRetryable(`no task waits for signal "${request.name}" any more`, 'SIGNAL_NOT_AWAITED');
      for (const pending of delivered) pending.delivered = { payload: request.payload };
      return { taskIds: delivered.map((pending) => pending.state.id) };
    },
    { validator: (request) => void waitsFor(request, signalWaits) },
  );
  setHandler(
    pauseUpdate,
    () => {
      execute(scheduler.pause());
      return run.status;
    },
    { validator: () => refuseIfEnding(scheduler) },
  );
  setHandler(
    resumeUpdate,
    () => {
      const resumed = (): void => {
        execute(scheduler.resume(now()));
        if (unitsScope && !workflowScope.consideredCancelled) execute(scheduler.pass(now(), !tooLong()));
      };
      // Attempts start in the units' scope, as after any event; runs recorded before it pass in their main loop.
      if (unitsScope) void unitsScope.run(async () => resumed());
      else resumed();
      return run.status;
    },
    { validator: () => refuseIfEnding(scheduler) },
  );

  /** Executes the scheduler's commands in order; a unit's first attempt starts in its scope. */
  function execute(commands: Command[]): void {
    publishProgress();
    for (const command of commands) {
      switch (command.kind) {
        case 'publishStatus':
          upsertSearchAttributes([{ key: MAESTRO_STATUS, value: command.status }]);
          break;
        case 'startAttempt':
          if (scheduler.phase !== 'tasks') startCleanupAttempt(command.unit, command.input);
          else if (command.unit.node.runIf !== undefined) startHandlerAttempt(command.unit, command.input);
          else if (unitsScope || unitScopes.has(command.unit)) startAttempt(command.unit, command.input);
          else startInOwnScope(command.unit, command.input);
          break;
        case 'sleepBeforeRetry': {
          const { unit, attempt, code, ms } = command;
          log.info('task attempt failed; retrying', { taskId: unit.state.id, attempt, code });
          sleep(ms).then(
            () => report(unit, scheduler.retryTimerFired(unit, now())),
            (error: unknown) => attemptFailed(unit, error),
          );
          break;
        }
        case 'cancelUnits':
          if (unitsScope) unitsScope.cancel();
          for (const scope of unitScopes.values()) scope.cancel();
          break;
        case 'cancelHandlers':
          handlersScope?.cancel();
          break;
        case 'startCleanupTimer': {
          const { shield } = cleanupScopes();
          void shield.run(async () => {
            await sleep(command.ms);
            execute(scheduler.cleanupTimedOut());
            execute(scheduler.pass(now()));
          });
          break;
        }
        case 'cancelCleanup':
          cleanup?.scope.cancel();
          break;
        case 'finishRun':
          // Comes last: the caller writes the receipt and ends the workflow as `run.status` says.
          break;
      }
    }
  }

  /** Starts the first attempt of a unit of a run recorded before the shared scope, in a scope of its own. */
  function startInOwnScope(unit: Unit, taskInput: Record<string, unknown>): void {
    const scope = new CancellationScope();
    unitScopes.set(unit, scope);
    void scope.run(async () => startAttempt(unit, taskInput));
  }

  /** Starts an attempt of a handler in the handlers' scope, whichever scope the event came from. */
  function startHandlerAttempt(unit: Unit, taskInput: Record<string, unknown>): void {
    handlersScope ??= new CancellationScope({ cancellable: true, parent: workflowScope });
    void handlersScope.run(async () => startAttempt(unit, taskInput));
  }

  /** Starts an attempt of a compensation or finally task in their scope, shielded from the run's cancellation. */
  function startCleanupAttempt(unit: Unit, taskInput: Record<string, unknown>): void {
    void cleanupScopes().scope.run(async () => startAttempt(unit, taskInput));
  }

  /** Starts one attempt: a timer, an approval wait or `runTask`; its outcome goes back to the scheduler. */
  function startAttempt(unit: Unit, taskInput: Record<string, unknown>): void {
    const { node, state } = unit;
    let outcome: Promise<{ outputs?: unknown; cached?: boolean }>;
    switch (node.execution) {
      case 'timer': {
        const ms = typeof taskInput.ms === 'number' ? taskInput.ms : parseDuration(String(taskInput.duration ?? '0ms')) ?? 0;
        outcome = sleep(ms).then(() => ({ outputs: { slept: ms } }));
        break;
      }
      case 'approval':
        outcome = awaitApproval(state, taskInput).then((outputs) => ({ outputs }));
        break;
      case 'signal':
        outcome = awaitSignal(state, taskInput).then((outputs) => ({ outputs }));
        break;
      case 'local-activity':
      case 'activity':
        outcome = runTaskFor(node)(attemptInput(node, state, taskInput));
        break;
      case 'workflow':
        outcome = runSubWorkflow(unit, taskInput);
        break;
      case 'remote':
        outcome = runRemoteTask(node, attemptInput(node, state, taskInput));
        break;
    }
    outcome.then(
      (result) => report(unit, scheduler.attemptSucceeded(unit, result.outputs, result.cached === true, now())),
      (error: unknown) => attemptFailed(unit, error),
    );
  }

  /**
   * Reports a failed or cancelled attempt (or backoff); anything unexpected is a bug and fails the
   * workflow task. A child run cancelled while this run goes on (someone cancelled the child) is a
   * failure of its task, not a cancellation by this run.
   */
  function attemptFailed(unit: Unit, error: unknown): void {
    const cancelledHere = isCancellation(error) && !(error instanceof ChildWorkflowFailure && scheduler.stop === undefined && !workflowScope.consideredCancelled);
    report(unit, cancelledHere ? scheduler.attemptCancelled(unit, now()) : scheduler.attemptFailed(unit, describeFailure(error), now()));
  }

  /**
   * One attempt of a sub-workflow task: the start is decided by the `authorizeSubWorkflow` local
   * activity (namespace, depth, params as `POST /runs` checks them, the policy's run-start
   * decision), then the embedded IR runs as a child workflow of this same interpreter, in the
   * unit's cancellation scope (a stop or cancel of this run cancels it, and waits for it to end).
   * Its outputs are the child's `spec.outputs`; its failure carries the child's error code.
   */
  async function runSubWorkflow({ node, state }: Unit, given: Record<string, unknown>): Promise<{ outputs: unknown }> {
    const ref = node.workflow as SubWorkflowRef;
    const child = ir.workflows?.[ref.digest];
    if (!child) throw ApplicationFailure.nonRetryable(`workflow/${ref.name}@${ref.version} (${ref.digest}) is not embedded in this run's IR`, 'SUBWORKFLOW_FORBIDDEN');
    const childRunId = `run-${uuid4()}`;
    const parent: ParentRun = { runId: run.runId, taskId: state.id, depth: (input.parent?.depth ?? 0) + 1 };
    const { authorizeSubWorkflow } = proxyLocalActivities<Activities>({ startToCloseTimeout: '60s', retry: INFRA_RETRY });
    const { params: childParams } = await authorizeSubWorkflow({
      runId: childRunId,
      parent,
      namespace,
      workflow: ref,
      ir: child,
      params: given,
      ...(principal === undefined ? {} : { principal }),
      ...(traceId === undefined ? {} : { traceId }),
    });
    const subWorkflow = { runId: childRunId, workflowRef: `${ref.name}@${ref.version}` };
    state.subWorkflow = subWorkflow;
    publishProgress();
    const childInput: InterpreterInput = {
      ir: child,
      digest: ref.digest,
      params: childParams,
      namespace,
      parent,
      ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }),
      ...(principal === undefined ? {} : { principal }),
      ...(traceId === undefined ? {} : { traceId }),
      ...(input.traceParent === undefined ? {} : { traceParent: input.traceParent }),
      ...(cacheMode === undefined ? {} : { cache: cacheMode }),
      ...(format3 ? { historyFormat: 3 as const } : format2 ? { historyFormat: 2 as const } : {}),
    };
    try {
      const ended = await executeChild(dagInterpreter, {
        workflowId: childRunId,
        args: [childInput],
        // A parent ended by Temporal (terminated, timed out) asks its children to cancel: they still write their receipts.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        ...(node.timeoutMs === undefined ? {} : { workflowExecutionTimeout: node.timeoutMs }),
        typedSearchAttributes: [
          { key: MAESTRO_WORKFLOW, value: child.name },
          { key: MAESTRO_VERSION, value: child.version },
          { key: MAESTRO_DIGEST, value: ref.digest },
          { key: MAESTRO_NAMESPACE, value: namespace },
          { key: MAESTRO_STATUS, value: 'RUNNING' },
        ],
      });
      if (ended.receiptDigest !== undefined) state.subWorkflow = { ...subWorkflow, receiptDigest: ended.receiptDigest };
      return { outputs: ended.outputs ?? {} };
    } catch (error) {
      const receiptDigest = childRunState(error)?.receiptDigest;
      if (receiptDigest !== undefined) state.subWorkflow = { ...subWorkflow, receiptDigest };
      throw error;
    }
  }

  /** Executes what the scheduler made of a unit's event; a settled unit's own scope is dropped. */
  function report(unit: Unit, commands: Command[]): void {
    if (isTerminal(unit.state.status)) unitScopes.delete(unit);
    execute(commands);
    // New runs schedule right after each event, in the units' scope (the event's own context):
    // no wake-up of a main loop and no scope entered per pass. Once the workflow is cancelled,
    // nothing is scheduled any more: the cancel path settles what is left, as it always has.
    // Compensations and finally tasks go on after a cancellation: they are what runs after it.
    if (unitsScope && (!workflowScope.consideredCancelled || scheduler.phase !== 'tasks')) execute(scheduler.pass(now(), !tooLong()));
  }

  /**
   * One attempt of a `remote` task (registered by an external worker, e.g. Python): the
   * `prepareRemoteTask` local activity decides, checks and looks up the cache; the activity
   * `maestro.task:<name>@<version>` runs on the registered task queue, without Temporal retries
   * (the scheduler counts attempts) but dispatched again when its worker was lost (no heartbeat);
   * `finishRemoteTask` checks and records what it returned, or raises its failure typed by its code.
   */
  async function runRemoteTask(node: TaskNode, attempt: RunTaskInput): Promise<RunTaskResult> {
    const { remote } = node;
    if (remote === undefined) throw ApplicationFailure.nonRetryable(`task ${node.id} runs remotely but its IR names no registration`, 'TASK_NOT_FOUND');
    const input: RemoteAttemptInput = { ...attempt, remote };
    const { prepareRemoteTask, finishRemoteTask } = proxyLocalActivities<Activities>({ startToCloseTimeout: '60s', retry: INFRA_RETRY });
    const prepared = await prepareRemoteTask(input);
    if (prepared.cached) return { outputs: prepared.outputs, cached: true };
    const execute = proxyActivities<Record<string, (request: RemoteTaskRequest) => Promise<RemoteTaskResult>>>({
      taskQueue: remote.taskQueue,
      startToCloseTimeout: node.timeoutMs ?? remote.timeoutMs,
      heartbeatTimeout: REMOTE_HEARTBEAT_TIMEOUT_MS,
      retry: { maximumAttempts: 1 },
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    })[remoteActivityType(node.uses)];
    if (execute === undefined) throw ApplicationFailure.nonRetryable(`no activity for ${node.uses}`, 'INTERNAL');
    let outcome: Pick<RemoteFinishInput, 'result' | 'failure'> | undefined;
    for (let dispatch = 1; outcome === undefined; dispatch += 1) {
      try {
        outcome = { result: await execute(prepared.request) };
      } catch (error) {
        if (isCancellation(error)) throw error;
        const lost = error instanceof ActivityFailure && isWorkerLoss(error.cause);
        if (lost && dispatch < INFRA_RETRY.maximumAttempts) await sleep(Math.min(30_000, 1_000 * 2 ** (dispatch - 1)));
        else outcome = { failure: remoteFailure(error) };
      }
    }
    return finishRemoteTask({ attempt: input, startedMs: prepared.startedMs, ...outcome });
  }

  /** The `runTask` proxy for a node's kind and timeout. */
  function runTaskFor(node: TaskNode): RunTask {
    const local = node.execution === 'local-activity';
    const key = `${local ? 'local' : 'remote'}:${String(node.timeoutMs)}`;
    let runTask = runTasks.get(key);
    if (!runTask) {
      runTask = local
        ? proxyLocalActivities<Activities>({
            startToCloseTimeout: (node.timeoutMs ?? DEFAULT_LOCAL_ATTEMPT_MS) + TIMEOUT_GRACE_MS,
            retry: INFRA_RETRY,
          }).runTask
        : proxyActivities<Activities>({
            startToCloseTimeout: (node.timeoutMs ?? DEFAULT_ATTEMPT_MS) + TIMEOUT_GRACE_MS,
            heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
            retry: INFRA_RETRY,
            cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          }).runTask;
      runTasks.set(key, runTask);
    }
    return runTask;
  }

  /**
   * The `runTask` input of an attempt. Built by assignment, not object spread: the workflow bundle
   * is compiled to ES2017, where every spread is a helper call copying key by key, and this runs
   * once per attempt.
   */
  function attemptInput(node: TaskNode, state: TaskState, taskInput: Record<string, unknown>): RunTaskInput {
    const attempt: RunTaskInput = { runId: run.runId, taskId: state.id, uses: node.uses, input: taskInput, attempt: state.attempts, namespace, runsOn: node.runsOn };
    if (node.timeoutMs !== undefined) attempt.timeoutMs = node.timeoutMs;
    if (runPolicy !== undefined) attempt.policy = policyContext(node, runPolicy, state);
    if (node.cache !== undefined) attempt.cache = node.cache;
    if (cacheMode !== undefined) attempt.cacheMode = cacheMode;
    if (secretValues.length > 0) attempt.redact = secretValues;
    if (runTrace !== undefined) attempt.trace = runTrace;
    return attempt;
  }

  function policyContext(node: TaskNode, shared: Pick<TaskPolicyContext, 'principal' | 'workflow' | 'context'>, state: TaskState): TaskPolicyContext {
    const policy: TaskPolicyContext = { principal: shared.principal, workflow: shared.workflow, context: shared.context };
    if (node.policy !== undefined) policy.overrides = node.policy;
    if (node.labels !== undefined) policy.labels = node.labels;
    if (traceId !== undefined) policy.traceId = traceId;
    // The run-start decision is offered to the task's first attempt only (a forEach item's id is
    // not the task's: the decision was made on the task's input, not the item's).
    const startDecisionId = state.attempts === 1 && state.id === node.id ? input.taskDecisions?.[node.id] : undefined;
    if (startDecisionId !== undefined) policy.startDecisionId = startDecisionId;
    return policy;
  }

  async function awaitApproval(state: TaskState, gateInput: Record<string, unknown>): Promise<unknown> {
    const problem = approvalGateProblem(gateInput);
    if (problem !== undefined && applies(APPROVAL_GATE_PATCH)) throw ApplicationFailure.nonRetryable(problem, 'APPROVAL_GATE_INVALID');
    gates.set(state.id, { approvers: Array.isArray(gateInput.approvers) ? gateInput.approvers.map(String) : [], allowSelfApproval: gateInput.allowSelfApproval === true });
    const minApprovals = typeof gateInput.minApprovals === 'number' ? gateInput.minApprovals : 1;
    const timeoutMs = typeof gateInput.timeout === 'string' ? parseDuration(gateInput.timeout) : undefined;
    const approvals = (): ApprovalRecord[] => state.approvals ?? [];
    const decided = (): boolean =>
      approvals().some((a) => a.decision === 'reject') || approvals().filter((a) => a.decision === 'approve').length >= minApprovals;
    const inTime = timeoutMs === undefined ? (await condition(decided), true) : await condition(decided, timeoutMs);
    if (!inTime) throw ApplicationFailure.nonRetryable(`no decision within ${String(gateInput.timeout)}`, 'APPROVAL_TIMEOUT');
    const rejection = approvals().find((a) => a.decision === 'reject');
    if (rejection) {
      const reason = rejection.comment ? `: ${rejection.comment}` : '';
      throw ApplicationFailure.nonRetryable(`rejected by ${rejection.approver}${reason}`, 'APPROVAL_REJECTED');
    }
    return { approved: true, approvals: approvals().map(({ approver, comment, at }) => ({ approver, at, ...(comment ? { comment } : {}) })) };
  }

  /**
   * Waits until the `signal` update delivers a payload for the task's `name` (checked by the worker
   * against `schema`), which becomes its output; fails with `TIMEOUT` when `timeout` passes first.
   */
  async function awaitSignal(state: TaskState, waitInput: Record<string, unknown>): Promise<unknown> {
    const { name, schema, timeout } = waitInput;
    const timeoutMs = typeof timeout === 'string' ? parseDuration(timeout) : undefined;
    if (typeof name !== 'string' || name === '' || name.length > SIGNAL_NAME_MAX_LENGTH) {
      throw ApplicationFailure.nonRetryable(`name must be a non-empty string of at most ${SIGNAL_NAME_MAX_LENGTH} characters; it evaluated to ${JSON.stringify(name) ?? 'nothing'}`, 'TASK_INPUT_INVALID');
    }
    if (timeoutMs === undefined) throw ApplicationFailure.nonRetryable(`timeout must be a duration; it evaluated to ${JSON.stringify(timeout) ?? 'nothing'}`, 'TASK_INPUT_INVALID');
    const pending: PendingSignal = { state, wait: { name, ...(isRecord(schema) ? { schema } : {}) } };
    state.signal = pending.wait;
    signalWaits.set(state.id, pending);
    try {
      const inTime = await condition(() => pending.delivered !== undefined, timeoutMs);
      if (!inTime) throw ApplicationFailure.nonRetryable(`no signal "${name}" within ${timeout as string}`, 'TIMEOUT');
      return (pending.delivered as { payload: unknown }).payload;
    } finally {
      signalWaits.delete(state.id);
    }
  }

  /**
   * Writes the run's signed provenance receipt (a local activity: its large input stays out of
   * history). A receipt that cannot be written is logged, never a reason to change the outcome.
   * In history format 2 the worker's receipt sink writes it instead, once this activation ends and
   * before its commands (the run's end among them) go to Temporal: no local activity round trip and
   * nothing in history. Returns the local activity's promise, or nothing when there is nothing to
   * wait for.
   */
  function writeReceipt(): Promise<void> | undefined {
    // In format 2 a sub-workflow's run writes through the local activity, whose result (the
    // digest) its parent records; in format 3 through the sink too, and whoever shows the parent
    // (its receipt, `GET /runs`) reads the child's digest from the receipt store: the child's
    // receipt is stored before its end reaches Temporal, so before its parent can see the end.
    if (format2 && (input.parent === undefined || format3)) {
      proxySinks<ReceiptSinks>().maestroReceipts.write({ runId: run.runId, ir, digest: input.digest, params, state: run, namespace, ...(runTrace === undefined ? {} : { trace: runTrace }) });
      return undefined;
    }
    return applies(RECEIPT_PATCH) ? writeReceiptByActivity() : undefined;
  }

  /** The receipt through the `writeReceipt` local activity (see {@link writeReceipt}). */
  async function writeReceiptByActivity(): Promise<void> {
    const { writeReceipt: write } = proxyLocalActivities<Activities>({ startToCloseTimeout: '60s', retry: INFRA_RETRY });
    try {
      const written = await write({ runId: run.runId, ir, digest: input.digest, params, state: run, namespace, ...(runTrace === undefined ? {} : { trace: runTrace }) });
      // A sub-workflow's run hands its receipt's digest to its parent, which records it.
      if (input.parent !== undefined) run.receiptDigest = written.digest;
    } catch (error) {
      if (isCancellation(error)) throw error;
      log.error('the run receipt could not be written', { runId: run.runId, error: String(error) });
    }
  }

  const historyLimit = input.historyEventLimit ?? 10_000;
  const tooLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLimit;

  /** Continues as new, carrying the task states (and the key it holds), once the update handlers are done. */
  async function continueAsNewWhenIdle(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof dagInterpreter>({
      ...input,
      carried: run.tasks,
      startedAt: run.startedAt,
      ...(scheduler.compensable.length > 0 ? { compensable: scheduler.compensable } : {}),
      ...(input.concurrency === undefined ? {} : { concurrency: { ...input.concurrency, granted: true } }),
    });
  }

  /**
   * Waits QUEUED until the lock grants the key (or the run is stopped: cancelled, timed out). The
   * `confirm` tells the lock the run exists: a grant sent before it started is sent again.
   */
  async function awaitKey(lockId: string, limit: number): Promise<void> {
    execute(scheduler.waitForKey());
    try {
      await getExternalWorkflowHandle(lockId).signal(confirmSignal, { runId: run.runId, limit });
    } catch (error) {
      if (isCancellation(error)) throw error;
      throw ApplicationFailure.nonRetryable(`the lock of concurrency key "${run.concurrency?.key ?? ''}" cannot be reached: ${String(error)}`, 'CONCURRENCY_UNAVAILABLE');
    }
    await condition(() => granted || scheduler.halted);
  }

  /** Gives the key back (or leaves its queue) whatever the ending; a lock that is gone has nothing to free. */
  async function releaseKey({ lockId }: { lockId: string }): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      try {
        await getExternalWorkflowHandle(lockId).signal(releaseSignal, { runId: run.runId });
      } catch (error) {
        log.warn('the concurrency key could not be released; its lock frees it when it sees the run ended', { lockId, error: String(error) });
      }
    });
  }

  /**
   * The run's last records, whatever its ending: the receipt, then the concurrency key given back.
   * Returns nothing when there is nothing to wait for — a run whose receipt goes through the sink
   * and which holds no key — so that its end creates no promise (each one costs a stack capture
   * in the workflow sandbox).
   */
  function recordEnd(): Promise<void> | undefined {
    const receipt = writeReceipt();
    if (receipt === undefined && concurrency === undefined) return undefined;
    return (async () => {
      await receipt;
      if (concurrency) await releaseKey(concurrency);
    })();
  }

  if (ir.timeoutMs !== undefined) {
    const deadline = Date.parse(run.startedAt) + ir.timeoutMs;
    const remaining = Math.max(0, deadline - Date.now());
    void CancellationScope.nonCancellable(async () => {
      await sleep(remaining);
      execute(scheduler.halt({ code: 'RUN_TIMEOUT', message: `run exceeded its timeout of ${ir.timeoutMs} ms` }));
      // A paused run may have nothing running whose end would settle what waits: settle it now.
      if (scheduler.paused) execute(scheduler.pass(now()));
    });
  }

  try {
    let queued = false;
    if (!granted && concurrency && ir.concurrency) {
      queued = true;
      await awaitKey(concurrency.lockId, ir.concurrency.limit);
    }
    // The start set the first status (`startRun`): in format 2 it is not published again, unless
    // the run has been QUEUED since or continued as new.
    const begun = scheduler.begin();
    if (!format2 || queued || input.carried !== undefined) execute(begun);
    if (unitsScope) {
      // The first pass starts the roots in the units' scope; every later pass follows an event.
      void unitsScope.run(async () => execute(scheduler.pass(now(), !tooLong())));
      // Not while paused (attempts held back by the pause are not carried over a continue-as-new),
      // nor once compensations or finally tasks have begun.
      await condition(() => scheduler.done || (tooLong() && scheduler.idle && !scheduler.paused && scheduler.phase === 'tasks'));
      if (!scheduler.done) await continueAsNewWhenIdle();
    } else {
      // Runs recorded before: one pass per wake-up, after every event of the activation.
      for (;;) {
        execute(scheduler.pass(now(), !tooLong()));
        if (scheduler.done) break;
        if (tooLong() && scheduler.idle) await continueAsNewWhenIdle();
        const seen = scheduler.changes;
        await condition(() => scheduler.changes !== seen);
      }
    }
  } catch (error) {
    if (!(error instanceof CancelledFailure)) throw error;
    await CancellationScope.nonCancellable(async () => {
      execute(scheduler.halt({ code: 'RUN_CANCELLED', message: 'the run was cancelled' }));
      if (scheduler.hasCleanup) {
        // Compensations and finally tasks run after the cancelled tasks have settled, within
        // their grace period; a cancel that arrives while they run changes nothing but the end.
        if (scheduler.phase === 'tasks') {
          await condition(() => scheduler.idle);
          execute(scheduler.cancelled(now()));
        }
        await condition(() => scheduler.done);
      } else {
        await condition(() => scheduler.idle);
      }
      execute(scheduler.finishCancelled(now()));
      await recordEnd();
    });
    throw error;
  }

  execute(scheduler.finish(now()));
  const recording = recordEnd();
  if (recording) await recording;
  if (run.status === 'FAILED') {
    const error = run.error as TaskErrorInfo;
    throw ApplicationFailure.create({ message: error.message, type: 'RUN_FAILED', nonRetryable: true, details: [run] });
  }
  return run;
}

/**
 * Runs the `verifyApproval` local activity: the decision must carry the API's signature. A refusal
 * fails the update with the activity's error code (`FORBIDDEN`), and nothing is recorded.
 */
async function verifyApprovalProof(runId: string, request: ApprovalRequest): Promise<void> {
  const { verifyApproval } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: INFRA_RETRY });
  await refusalAsUpdateFailure(verifyApproval({ runId, request }));
}

/**
 * Runs the `verifySignal` local activity: the signal must carry the API's signature, and its
 * payload must match the schema of every wait that is to take it. A refusal fails the update with
 * the activity's error code (`FORBIDDEN`, `SIGNAL_PAYLOAD_INVALID`); no task takes the payload.
 */
async function verifySignalProof(runId: string, request: SignalRequest, taking: readonly PendingSignal[]): Promise<void> {
  const { verifySignal } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: INFRA_RETRY });
  await refusalAsUpdateFailure(
    verifySignal({ runId, request, waits: taking.map(({ state, wait }) => ({ taskId: state.id, ...(wait.schema === undefined ? {} : { schema: wait.schema }) })) }),
  );
}

/**
 * Waits for a verifying local activity; its refusal (an `ApplicationFailure`) fails the update
 * with the same code (`FORBIDDEN` when it has none). Anything else, a cancellation among them,
 * is rethrown as it is.
 */
async function refusalAsUpdateFailure(verification: Promise<unknown>): Promise<void> {
  try {
    await verification;
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) throw ApplicationFailure.nonRetryable(cause.message, cause.type ?? 'FORBIDDEN');
    throw error;
  }
}

/**
 * The waits a signal is for, checked without I/O (the `signal` validator: throwing rejects the
 * update without touching history): a bounded payload, a proof that has not expired by workflow
 * time, and at least one task waiting for the name.
 */
function waitsFor(request: SignalRequest, waits: ReadonlyMap<string, PendingSignal>): PendingSignal[] {
  const reject = (message: string, code: 'BAD_REQUEST' | 'FORBIDDEN' | 'SIGNAL_NOT_AWAITED'): never => {
    throw ApplicationFailure.nonRetryable(message, code);
  };
  if (typeof request.name !== 'string' || request.name === '' || request.name.length > SIGNAL_NAME_MAX_LENGTH) reject('a signal names what it is for', 'BAD_REQUEST');
  const problem = signalPayloadProblem(request.payload);
  if (problem !== undefined) reject(problem, 'BAD_REQUEST');
  // Signals are younger than approval proofs: every API that sends one signs it, with an expiry.
  const expiresAt = request.proof?.expiresAt;
  if (expiresAt === undefined || typeof request.sender !== 'string') reject('signal refused: it carries no proof that the API authenticated its sender; send it through the Maestro API', 'FORBIDDEN');
  if (!(Date.now() <= Date.parse(expiresAt as string))) reject(`the signal expired at ${expiresAt as string} before the run could take it; send it again`, 'FORBIDDEN');
  const taking = [...waits.values()].filter((pending) => pending.wait.name === request.name && pending.delivered === undefined);
  if (taking.length === 0) reject(`no task of this run waits for signal "${request.name}"`, 'SIGNAL_NOT_AWAITED');
  return taking;
}

/** `pause` and `resume` validator: a run that has ended, or is being cancelled or timed out, is not paused or resumed. */
function refuseIfEnding(scheduler: Scheduler): void {
  const { stop } = scheduler;
  if (scheduler.done || stop?.code === 'RUN_CANCELLED' || stop?.code === 'RUN_TIMEOUT') {
    throw ApplicationFailure.nonRetryable(`the run is ${stop ? 'ending' : 'over'} (${stop?.code ?? scheduler.run.status}); it cannot be paused or resumed`, 'CONFLICT');
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
  nodes: ReadonlyMap<string, TaskNode>;
  states: ReadonlyMap<string, TaskState>;
  gates: ReadonlyMap<string, WaitingGate>;
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

/** The final state a failed child run carries (its `RUN_FAILED` failure's details), if that is how it ended. */
function childRunState(error: unknown): RunState | undefined {
  if (!(error instanceof ChildWorkflowFailure) || !(error.cause instanceof ApplicationFailure) || error.cause.type !== 'RUN_FAILED') return undefined;
  return error.cause.details?.[0] as RunState | undefined;
}

/** Code, message and retryability of a failed attempt; anything unexpected is a bug and fails the workflow task. */
/**
 * A remote task's worker went away mid-attempt: killed (its heartbeats stopped) or shut down (the
 * SDK fails the attempt with `WorkerShutdown`). The attempt did not fail: it is dispatched again.
 */
function isWorkerLoss(cause: Error | undefined): boolean {
  return (cause instanceof TimeoutFailure && cause.timeoutType === 'HEARTBEAT') || (cause instanceof ApplicationFailure && cause.type === 'WorkerShutdown');
}

/**
 * How a remote task's activity failed: its `ApplicationFailure` (type = code, retryable unless
 * non-retryable, `details[0]` the lines and events it logged — see `docs/python-tasks.md`), or a
 * timeout or other loss as `runTask`'s would count.
 */
function remoteFailure(error: unknown): RemoteFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details: unknown = cause.details?.[0];
    const logs = isRecord(details) && Array.isArray(details.logs) ? (details.logs as RemoteLogLine[]) : undefined;
    const events = isRecord(details) && Array.isArray(details.events) ? (details.events as RemoteFailure['events']) : undefined;
    const message = isRecord(details) && typeof details.message === 'string' ? details.message : cause.message;
    return { code: cause.type ?? 'TASK_FAILED', message, retryable: !cause.nonRetryable, ...(logs === undefined ? {} : { logs }), ...(events === undefined ? {} : { events }) };
  }
  if (cause instanceof TimeoutFailure) return { code: 'TASK_TIMEOUT', message: cause.message, retryable: true };
  return { code: 'TASK_FAILED', message: error instanceof Error ? error.message : String(error), retryable: true };
}

function describeFailure(error: unknown): AttemptFailure {
  if (error instanceof ChildWorkflowFailure) {
    const childRun = error.execution?.workflowId ?? 'the sub-workflow';
    const ended = childRunState(error);
    // Retryable: the task's own `retry` decides whether a failed child is run again (a new child run).
    if (ended?.error) return { code: ended.error.code, message: `sub-workflow run ${childRun} failed: ${ended.error.message}`, retryable: true };
    if (error.cause instanceof TimeoutFailure) return { code: 'TASK_TIMEOUT', message: `sub-workflow run ${childRun} timed out`, retryable: true };
    if (isCancellation(error)) return { code: 'RUN_CANCELLED', message: `sub-workflow run ${childRun} was cancelled`, retryable: false };
    const code = error.cause instanceof ApplicationFailure ? error.cause.type ?? 'TASK_FAILED' : 'TASK_FAILED';
    return { code, message: `sub-workflow run ${childRun} failed: ${error.cause?.message ?? error.message}`, retryable: false };
  }
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as TaskFailureDetails | undefined;
    return { code: cause.type ?? 'TASK_FAILED', message: cause.message, retryable: details?.retryable ?? false };
  }
  if (cause instanceof TimeoutFailure) return { code: 'TASK_TIMEOUT', message: cause.message, retryable: true };
  if (error instanceof ExpressionError) return { code: error.code, message: error.message, retryable: false };
  throw error;
}
