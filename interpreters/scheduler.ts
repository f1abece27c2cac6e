/**
 * The interpreter's scheduler: every decision of a run, without Temporal.
 *
 * Which tasks are ready, skipped or settled, how forEach items fan out and complete, how failures
 * count (failFast, circuit breaker, continueOnError), `when`, `maxParallel`, retries and their
 * backoff — all decided here, over one explicit {@link Scheduler} whose fields are named and
 * documented (the way Argo's `dagContext` reads). The Temporal shell (`dag-interpreter.ts`) feeds it
 * events (an attempt succeeded, failed or was cancelled, a retry timer fired, the run timed out or
 * was cancelled, an approval arrived, the run was paused or resumed) and executes the
 * {@link Command}s it returns, in order.
 *
 * Deterministic: no I/O, no clock (every event carries its time), randomness only through the
 * `random` it is given (the workflow's seeded `Math.random`). The commands come out in the order the
 * interpreter has always issued them, so recorded histories replay.
 */
import {
  ExpressionError,
  allTaskNodes,
  evaluate,
  resolveTemplates,
  type EvaluateOptions,
  type ExpressionBindings,
  type RunState,
  type RunStatus,
  type TaskErrorInfo,
  type TaskNode,
  type TaskState,
  type TaskStatus,
  type WorkflowIR,
} from '../src/ir/index.js';

/** Statuses a task never leaves. */
const TERMINAL: ReadonlySet<TaskStatus> = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED']);

/** Whether a task (or forEach item) has settled for good. */
export const isTerminal = (status: TaskStatus): boolean => TERMINAL.has(status);

/** One forEach item: the list element and its position. */
export interface ForEachItem {
  value: unknown;
  index: number;
}

/** What runs: a task, or one item of a forEach task, with its retries. */
export interface Unit {
  node: TaskNode;
  /** The task's state, or the item's (`state.items[index]`). */
  state: TaskState;
  /** Set for a forEach item. */
  item?: ForEachItem;
  /** Whether it takes one of the run's `maxParallel` slots (activities and sub-workflows do; timers, approvals and signal waits do not). */
  holdsSlot: boolean;
}

/** A failed attempt as the shell describes it. */
export interface AttemptFailure {
  code: string;
  message: string;
  retryable: boolean;
}

/** Why the scheduler stopped starting new work (`FINALLY_TIMEOUT`: compensations and finally tasks only). */
export interface StopReason {
  code: 'RUN_CANCELLED' | 'RUN_TIMEOUT' | 'FAIL_FAST' | 'CIRCUIT_OPEN' | 'FINALLY_TIMEOUT';
  message: string;
}

/**
 * Where a run is (irVersion 3): its tasks; then, once they have all ended, the compensations of
 * the succeeded tasks, one at a time in reverse order of completion, when the run failed, was
 * cancelled or timed out; then the `finally` tasks. A run without compensations or `finally`
 * tasks stays in `tasks`.
 */
export type Phase = 'tasks' | 'compensate' | 'finally';

/** Stops after which handlers (`runIf` tasks) still run: they are the failures handlers are for. */
const SOFT_STOPS: ReadonlySet<StopReason['code']> = new Set(['FAIL_FAST', 'CIRCUIT_OPEN']);

/** Whether a handler with `runIf: failure` reacts to a need ending so: it failed, or a failing run cancelled it. */
const needFailed = (need: TaskState): boolean =>
  need.status === 'FAILED' || (need.status === 'CANCELLED' && need.error !== undefined && SOFT_STOPS.has(need.error.code as StopReason['code']));

/** What the shell must do, in the order given. */
export type Command =
  /** Publish the run's status (the `MaestroStatus` search attribute); `run.status` is already set. */
  | { kind: 'publishStatus'; status: RunStatus }
  /** Start attempt `attempt` of `unit` with its resolved input (a timer, an approval wait or `runTask`). */
  | { kind: 'startAttempt'; unit: Unit; attempt: number; input: Record<string, unknown> }
  /** Sleep `ms` (durable timer), then report {@link Scheduler.retryTimerFired}. */
  | { kind: 'sleepBeforeRetry'; unit: Unit; attempt: number; code: string; ms: number }
  /** Cancel every running unit but the handlers; each reports {@link Scheduler.attemptCancelled}. */
  | { kind: 'cancelUnits' }
  /** Cancel every running handler (a `runIf` task), which a failFast or circuit-breaker stop lets run. */
  | { kind: 'cancelHandlers' }
  /** Compensations and finally tasks begin: after `ms` (durable timer, not cancelled by the run's cancellation), report {@link Scheduler.cleanupTimedOut}. */
  | { kind: 'startCleanupTimer'; ms: number }
  /** Cancel every running compensation and finally task (their grace period is over). */
  | { kind: 'cancelCleanup' }
  /** The run is over: write its receipt, then end the workflow as `status` says. */
  | { kind: 'finishRun'; status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' };

/** What a {@link Scheduler} needs besides the IR. */
export interface SchedulerOptions {
  runId: string;
  digest: string;
  /** The run's parameters, after defaults. */
  params: Record<string, unknown>;
  /** When the run started (ISO), kept across continue-as-new. */
  startedAt: string;
  /** Task states carried over a continue-as-new. @default none */
  carried?: TaskState[];
  /** Carried over a continue-as-new: {@link Scheduler.compensable}. @default none */
  compensable?: string[];
  /** Limits for every expression evaluated. @default no options (the CEL cost limit) */
  expressionLimits?: EvaluateOptions;
  /** Uniform in [0, 1): the retry jitter's source; the workflow's seeded `Math.random`. */
  random: () => number;
}

/**
 * The state of one run's scheduling, and the transitions over it. Each event method mutates the
 * state and returns the commands to execute; none does I/O.
 */
export class Scheduler {
  /** The compiled workflow. */
  readonly ir: WorkflowIR;
  /** Task nodes by id. */
  readonly nodes: ReadonlyMap<string, TaskNode>;
  /** The run as users see it (the `state` query, the result); its task states are the ones below. */
  readonly run: RunState;
  /** Task states by id (the objects in `run.tasks`). */
  readonly states: ReadonlyMap<string, TaskState>;
  /** The run's parameters. */
  private readonly params: Record<string, unknown>;
  /** Names of integer-typed parameters (CEL sees them as ints). */
  private readonly integerParams: ReadonlySet<string>;
  /** Limits for every expression evaluated. */
  private readonly expressionLimits: EvaluateOptions;
  /** The jitter's randomness. */
  private readonly random: () => number;
  /** Why nothing new starts any more; set once, by the first stop. */
  stop: StopReason | undefined;
  /**
   * Whether an operator paused the run: nothing new starts (task, retry attempt, forEach item)
   * until {@link resume}; what runs goes on. Only a `pause` update sets it, so runs never paused
   * (every recorded history) schedule exactly as before.
   */
  paused = false;
  /**
   * Whether the pause holds back new starts: only while the tasks run. Compensations and finally
   * tasks, once begun, are not held: they are bounded by their own grace period, which runs on, and
   * a cancelled paused run must still end.
   */
  private get holding(): boolean {
    return this.paused && this.phase === 'tasks';
  }
  /** Units whose backoff ended while the run was paused: their next attempt starts on {@link resume}. They hold no slot meanwhile. */
  private readonly held: Unit[] = [];
  /** Task failures counted for failFast and the circuit breaker (continueOnError tasks excepted). */
  private failures = 0;
  /** Tasks already looked at by {@link recordFailures} once terminal, so each counts once. */
  private readonly counted = new Set<string>();
  /** Units started and not yet settled: the run is done only when this is empty. */
  readonly running = new Set<Unit>();
  /** Slot-holding units running: at most `ir.maxParallel`. */
  private inFlight = 0;
  /** Task and item states launched (queued or running); they stay PENDING until a slot frees. */
  private readonly launched = new Set<TaskState>();
  /** Slot-holding units waiting for a slot, in launch order. */
  private readonly queue: Unit[] = [];
  /** Each forEach task's list, evaluated once (again after continue-as-new: same inputs, same list). */
  private readonly forEachLists = new Map<string, unknown[]>();
  /** The status last published; a change is published once. */
  private publishedStatus: RunStatus | undefined;
  /** Bumped by every event: for runs recorded before the shared scope, the shell waits for it to move before the next pass. */
  changes = 0;
  /** The settled tasks as CEL sees them; rebuilt after a task settles, not for every attempt. */
  private settledTasks: ExpressionBindings['tasks'] | undefined;
  /** Whether a task has a `runIf` (only in irVersion 2): without one, nothing below about handlers applies. */
  private readonly hasHandlers: boolean;
  /**
   * Whether expressions see `tasks.<id>.error`: in IRs of version 2 only, which the compiler writes
   * for a workflow that uses it or `runIf` ({@link irVersionFor}). A version-1 IR — every run
   * recorded before it existed — sees only `status` and `outputs`, so `size(tasks.a)` or
   * `${tasks.a}` evaluate as they did; deciding by the run's input needs no patch marker.
   */
  private readonly taskErrors: boolean;
  /** Whether the IR has compensations or `finally` tasks (irVersion 3): without, the run stays in phase `tasks`. */
  readonly hasCleanup: boolean;
  /** What the run is doing (see {@link Phase}). */
  phase: Phase = 'tasks';
  /** The states of `ir.tasks` (the first of `run.tasks`): those failures count for and the outcome is read from. */
  private readonly taskStates: readonly TaskState[];
  /** Ids of the succeeded tasks that have a compensation, in completion order; carried over continue-as-new. */
  readonly compensable: string[];
  /** Compensations still to run, next first (phase `compensate`). */
  private compensations: TaskNode[] = [];
  /** Why the tasks failed the run, decided when they have all ended (`run.tasksEnded` says how they ended). */
  private outcome: { error?: TaskErrorInfo } | undefined;
  /** Why compensations and finally tasks stopped (their grace period ended); set once. */
  private cleanupStop: StopReason | undefined;

  constructor(ir: WorkflowIR, options: SchedulerOptions) {
    this.ir = ir;
    const nodes = allTaskNodes(ir);
    this.nodes = new Map(nodes.map((task) => [task.id, task]));
    this.params = options.params;
    this.integerParams = new Set(ir.parameters.filter((p) => p.type === 'integer').map((p) => p.name));
    this.expressionLimits = options.expressionLimits ?? {};
    this.random = options.random;
    const carried = new Map((options.carried ?? []).map((task) => [task.id, task]));
    this.run = {
      runId: options.runId,
      workflow: ir.name,
      version: ir.version,
      digest: options.digest,
      status: 'RUNNING',
      startedAt: options.startedAt,
      tasks: nodes.map((task) => carried.get(task.id) ?? { id: task.id, status: 'PENDING', attempts: 0 }),
    };
    this.states = new Map(this.run.tasks.map((task) => [task.id, task]));
    this.hasHandlers = ir.tasks.some((task) => task.runIf !== undefined);
    this.taskErrors = ir.irVersion >= 2;
    this.hasCleanup = nodes !== ir.tasks;
    this.taskStates = this.hasCleanup ? this.run.tasks.slice(0, ir.tasks.length) : this.run.tasks;
    this.compensable = [...(options.compensable ?? [])];
  }

  /** Whether every task has settled and nothing runs: the run can finish. */
  get done(): boolean {
    return this.running.size === 0 && this.inFlight === 0 && this.run.tasks.every((task) => isTerminal(task.status));
  }

  /** Whether nothing runs (a continue-as-new may happen now). */
  get idle(): boolean {
    return this.running.size === 0 && this.inFlight === 0;
  }

  /** Whether the run was stopped (failFast, circuit breaker, timeout, cancel). */
  get halted(): boolean {
    return this.stop !== undefined;
  }

  /** The run waits for its concurrency key (irVersion 3): QUEUED until {@link begin}. */
  waitForKey(): Command[] {
    const commands: Command[] = [];
    this.setStatus('QUEUED', commands);
    return commands;
  }

  /** The run begins (or, after {@link waitForKey}, gets its concurrency key): its first status. */
  begin(): Command[] {
    const commands: Command[] = [];
    this.publish(commands);
    return commands;
  }

  /**
   * One scheduling pass: counts new failures, then (unless `mayStart` is false, when the history
   * is about to continue as new) settles or starts tasks in topological order, so skips cascade in
   * one pass, and fills free slots.
   */
  pass(at: string, mayStart = true): Command[] {
    const commands: Command[] = [];
    if (this.phase === 'tasks') {
      this.recordFailures(commands);
      if (mayStart) this.schedule(at, commands);
      this.recordFailures(commands);
      // Decided in the pass after the last task ended, even when the history is long: the
      // compensations and finally tasks never continue as new (they are few, and bounded in time).
      if (this.hasCleanup && this.idle && this.taskStates.every((task) => isTerminal(task.status))) this.beginCleanup(at, commands);
    }
    if (this.phase !== 'tasks') this.scheduleCleanup(at, commands);
    return commands;
  }

  /**
   * The run was cancelled and nothing runs any more (irVersion 3 with compensations or finally
   * tasks): the tasks that never started are CANCELLED, then compensations and finally tasks begin.
   */
  cancelled(at: string): Command[] {
    const commands: Command[] = [];
    const error = { code: 'RUN_CANCELLED', message: 'the run was cancelled' };
    for (const task of this.taskStates.flatMap((t) => [...(t.items ?? []), t])) {
      if (!isTerminal(task.status)) this.finishState(task, 'CANCELLED', at, commands, error);
    }
    commands.push(...this.pass(at));
    return commands;
  }

  /** The grace period of compensations and finally tasks is over: those running are cancelled, the others skipped. */
  cleanupTimedOut(): Command[] {
    if (this.phase === 'tasks' || this.cleanupStop) return [];
    this.changes += 1;
    this.cleanupStop = { code: 'FINALLY_TIMEOUT', message: `compensations and finally tasks ran out of their ${this.ir.finallyTimeoutMs ?? 0} ms (spec.finallyTimeout)` };
    return [{ kind: 'cancelCleanup' }];
  }

  /** An attempt returned outputs. */
  attemptSucceeded(unit: Unit, outputs: unknown, cached: boolean, at: string): Command[] {
    const commands: Command[] = [];
    if (cached) unit.state.cached = true;
    unit.state.outputs = outputs;
    this.settle(unit, 'SUCCEEDED', at, commands);
    if (unit.node.compensate && this.phase === 'tasks') this.compensable.push(unit.node.id);
    return commands;
  }

  /** An attempt failed: retried after a backoff while attempts and the run allow, else the unit fails. */
  attemptFailed(unit: Unit, failure: AttemptFailure, at: string): Command[] {
    const commands: Command[] = [];
    this.failAttempt(unit, failure, at, commands);
    return commands;
  }

  /** A unit's attempt or backoff was cancelled (the run stopped, or was cancelled). */
  attemptCancelled(unit: Unit, at: string): Command[] {
    const commands: Command[] = [];
    const reason = this.activeStop ?? { code: 'RUN_CANCELLED', message: 'the run was cancelled' };
    this.settle(unit, 'CANCELLED', at, commands, { code: reason.code, message: reason.message });
    return commands;
  }

  /** The backoff before a retry ended: the next attempt starts, or waits for {@link resume} while the run is paused. */
  retryTimerFired(unit: Unit, at: string): Command[] {
    const commands: Command[] = [];
    this.changes += 1;
    if (this.holding) {
      this.hold(unit);
      return commands;
    }
    this.attempt(unit, unit.state.attempts + 1, at, commands);
    return commands;
  }

  /**
   * An operator paused the run: from now on nothing new starts; in-flight attempts, timers and
   * waits go on. Pausing a paused run changes nothing.
   */
  pause(): Command[] {
    const commands: Command[] = [];
    if (this.paused) return commands;
    this.paused = true;
    this.changes += 1;
    this.publish(commands);
    return commands;
  }

  /**
   * An operator resumed the run: the attempts held back since the pause start, and the shell's next
   * {@link pass} starts what became ready. Resuming a run that is not paused changes nothing.
   */
  resume(at: string): Command[] {
    const commands: Command[] = [];
    if (!this.paused) return commands;
    this.paused = false;
    this.changes += 1;
    this.publish(commands);
    for (const unit of this.held.splice(0)) {
      this.running.add(unit);
      if (unit.holdsSlot) this.inFlight += 1;
      this.attempt(unit, unit.state.attempts + 1, at, commands);
    }
    return commands;
  }

  /**
   * Stops starting new work and cancels what runs (failFast, circuit breaker, timeout, cancel); the
   * first reason wins. Handlers (`runIf` tasks) go on after a failFast or circuit-breaker stop; a
   * timeout or cancel, even after such a stop, cancels them too.
   */
  halt(reason: StopReason): Command[] {
    // Compensations and finally tasks answer only to their own grace period (see cleanupTimedOut).
    if (this.phase !== 'tasks') return [];
    this.changes += 1;
    const hard = !SOFT_STOPS.has(reason.code);
    if (this.stop) {
      if (!hard || !this.hasHandlers || !SOFT_STOPS.has(this.stop.code)) return [];
      this.stop = reason;
      return [{ kind: 'cancelHandlers' }];
    }
    this.stop = reason;
    return hard && this.hasHandlers ? [{ kind: 'cancelUnits' }, { kind: 'cancelHandlers' }] : [{ kind: 'cancelUnits' }];
  }

  /** An approval decision was recorded on a waiting gate (already validated by the shell). */
  approvalRecorded(): void {
    this.changes += 1;
  }

  /** Ends a run that every task has settled: its outcome and final status. */
  finish(at: string): Command[] {
    const commands: Command[] = [];
    this.run.endedAt = at;
    const error = this.outcome ? this.outcome.error ?? this.finallyFailure() : this.tasksFailure();
    if (error) {
      this.run.error = error;
      this.setStatus('FAILED', commands);
      commands.push({ kind: 'finishRun', status: 'FAILED' });
    } else {
      const problem = this.evaluateOutputs();
      if (problem) this.run.error = problem;
      this.setStatus(problem ? 'FAILED' : 'SUCCEEDED', commands);
      commands.push({ kind: 'finishRun', status: problem ? 'FAILED' : 'SUCCEEDED' });
    }
    return commands;
  }

  /**
   * Evaluates `spec.outputs` (irVersion 3) of a run whose tasks all ended well into `run.outputs`;
   * an expression that does not evaluate fails the run with its code.
   */
  private evaluateOutputs(): TaskErrorInfo | undefined {
    const outputs = this.ir.outputs;
    if (outputs === undefined) return undefined;
    const values: Record<string, unknown> = {};
    try {
      const bindings = this.bindings();
      for (const [name, expression] of Object.entries(outputs)) values[name] = evaluate(expression, bindings, this.integerParams, this.expressionLimits);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      return { code: error.code, message: `spec.outputs: ${error.message}` };
    }
    this.run.outputs = values;
    return undefined;
  }

  /** Why the tasks failed the run, if they did: a task failed without continueOnError, the run timed out or the circuit opened. */
  private tasksFailure(): TaskErrorInfo | undefined {
    const failed = this.taskStates.find((task) => task.status === 'FAILED' && !this.nodes.get(task.id)?.continueOnError);
    const stop = this.stop;
    if (stop?.code === 'RUN_TIMEOUT' || stop?.code === 'CIRCUIT_OPEN') return { code: stop.code, message: stop.message };
    return failed && { code: failed.error?.code ?? 'TASK_FAILED', message: `task "${failed.id}" failed: ${failed.error?.message ?? ''}` };
  }

  /** With `finallyFailsRun`, the failure of a finally task (without continueOnError) fails a run that had succeeded. */
  private finallyFailure(): TaskErrorInfo | undefined {
    if (!this.ir.finallyFailsRun) return undefined;
    const failed = this.ir.finally?.map((node) => this.states.get(node.id) as TaskState).find((task) => task.status === 'FAILED' && !this.nodes.get(task.id)?.continueOnError);
    return failed && { code: failed.error?.code ?? 'TASK_FAILED', message: `finally task "${failed.id}" failed: ${failed.error?.message ?? ''}` };
  }

  /**
   * The tasks have all ended: decides the outcome, which compensations run (those of the tasks that
   * succeeded, latest first, unless the run succeeded), and starts the grace timer.
   */
  private beginCleanup(at: string, commands: Command[]): void {
    this.changes += 1;
    const error = this.tasksFailure();
    const status = this.stop?.code === 'RUN_CANCELLED' ? 'CANCELLED' : error ? 'FAILED' : 'SUCCEEDED';
    this.outcome = error && status === 'FAILED' ? { error } : {};
    this.run.tasksEnded = { status, failedTasks: this.taskStates.filter((task) => task.status === 'FAILED').map((task) => task.id) };
    const undo = status === 'SUCCEEDED' ? [] : [...this.compensable].reverse();
    this.compensations = undo.map((id) => this.nodes.get(id)?.compensate as TaskNode);
    for (const node of this.ir.tasks) {
      if (!node.compensate || undo.includes(node.id)) continue;
      const task = this.states.get(node.id) as TaskState;
      const message = status === 'SUCCEEDED' ? 'the run succeeded: nothing to undo' : `task "${node.id}" is ${task.status}: only tasks that succeeded are undone`;
      this.finishState(this.states.get(node.compensate.id) as TaskState, 'SKIPPED', at, commands, { code: 'NOT_COMPENSATED', message });
    }
    this.phase = 'compensate';
    if (this.compensations.length > 0 || (this.ir.finally?.length ?? 0) > 0) commands.push({ kind: 'startCleanupTimer', ms: this.ir.finallyTimeoutMs ?? 0 });
  }

  /**
   * Compensations one at a time, each whatever the last one's outcome (best effort, as in
   * Temporal's saga samples); then the finally tasks, as a DAG of their own.
   */
  private scheduleCleanup(at: string, commands: Command[]): void {
    const stop = this.cleanupStop;
    // The next compensation starts once the last one has settled (one whose input does not
    // evaluate fails at once, and the one after it starts).
    while (this.phase === 'compensate' && this.queue.length === 0 && this.running.size === 0) {
      const node = this.compensations.shift();
      if (!node) {
        this.phase = 'finally';
        break;
      }
      const state = this.states.get(node.id) as TaskState;
      if (stop) {
        this.finishState(state, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      } else {
        this.launch(node, state, at, commands);
        this.fillSlots(at, commands);
      }
    }
    if (this.phase === 'finally') {
      if (stop) {
        for (const queued of this.queue.splice(0)) this.finishState(queued.state, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      }
      this.scheduleNodes(this.ir.finally ?? [], stop, at, commands);
    }
    this.fillSlots(at, commands);
  }

  /** The stop that applies to what runs now: the run's, or, for compensations and finally tasks, their grace period's. */
  private get activeStop(): StopReason | undefined {
    return this.phase === 'tasks' ? this.stop : this.cleanupStop;
  }

  /** Ends a cancelled run once nothing runs: whatever has not settled is CANCELLED. */
  finishCancelled(at: string): Command[] {
    const commands: Command[] = [];
    const error = { code: 'RUN_CANCELLED', message: 'the run was cancelled' };
    for (const task of this.run.tasks.flatMap((t) => [...(t.items ?? []), t])) {
      if (!isTerminal(task.status)) this.finishState(task, 'CANCELLED', at, commands, error);
    }
    this.run.endedAt = at;
    this.setStatus('CANCELLED', commands);
    commands.push({ kind: 'finishRun', status: 'CANCELLED' });
    return commands;
  }

  /** The CEL bindings: parameters, settled tasks, and the forEach item if any; in finally tasks, `run`. */
  bindings(item?: ForEachItem): ExpressionBindings {
    let tasks = this.settledTasks;
    if (!tasks) {
      tasks = {};
      for (const task of this.run.tasks) {
        if (!isTerminal(task.status)) continue;
        tasks[task.id] = this.taskErrors
          ? { status: task.status, outputs: task.outputs ?? null, error: task.error ?? null }
          : { status: task.status, outputs: task.outputs ?? null };
      }
      this.settledTasks = tasks;
    }
    const bindings: ExpressionBindings = item ? { params: this.params, tasks, item: item.value, index: item.index } : { params: this.params, tasks };
    if (this.phase === 'finally' && this.run.tasksEnded) bindings.run = this.run.tasksEnded;
    return bindings;
  }

  private publish(commands: Command[]): void {
    const status: RunStatus = this.paused ? 'PAUSED' : this.run.tasks.some((task) => task.status === 'WAITING') ? 'WAITING' : 'RUNNING';
    if (status !== this.publishedStatus) this.setStatus(status, commands);
  }

  private setStatus(status: RunStatus, commands: Command[]): void {
    this.run.status = status;
    this.publishedStatus = status;
    commands.push({ kind: 'publishStatus', status });
  }

  /** A state settles for good: the run's status may change with it. */
  private finishState(state: TaskState, status: TaskStatus, at: string, commands: Command[], error?: TaskErrorInfo): void {
    state.status = status;
    state.endedAt = at;
    if (error) state.error = error;
    if (this.states.get(state.id) === state) this.settledTasks = undefined;
    this.changes += 1;
    this.publish(commands);
  }

  /** A started unit settles: its slot frees. */
  private settle(unit: Unit, status: TaskStatus, at: string, commands: Command[], error?: TaskErrorInfo): void {
    this.finishState(unit.state, status, at, commands, error);
    if (this.running.delete(unit) && unit.holdsSlot) this.inFlight -= 1;
  }

  private failAttempt(unit: Unit, failure: AttemptFailure, at: string, commands: Command[]): void {
    const attempt = unit.state.attempts;
    if (!failure.retryable || attempt >= unit.node.retry.maxAttempts || this.activeStop) {
      this.settle(unit, 'FAILED', at, commands, { code: failure.code, message: failure.message });
      return;
    }
    this.changes += 1;
    this.publish(commands);
    commands.push({ kind: 'sleepBeforeRetry', unit, attempt, code: failure.code, ms: this.backoffMs(unit.node, attempt) });
  }

  /** Exponential backoff capped at maxInterval, with ±jitter. */
  private backoffMs(node: TaskNode, attempt: number): number {
    const { initialIntervalMs, backoffCoefficient, maxIntervalMs, jitter } = node.retry;
    const base = Math.min(maxIntervalMs, initialIntervalMs * backoffCoefficient ** (attempt - 1));
    return Math.max(0, Math.round(base * (1 + jitter * (2 * this.random() - 1))));
  }

  /** Starts a unit's first attempt. */
  private start(unit: Unit, at: string, commands: Command[]): void {
    this.running.add(unit);
    if (unit.holdsSlot) this.inFlight += 1;
    unit.state.status = unit.node.execution === 'approval' || unit.node.execution === 'signal' ? 'WAITING' : 'RUNNING';
    unit.state.startedAt = at;
    this.changes += 1;
    this.publish(commands);
    this.attempt(unit, unit.state.attempts + 1, at, commands);
  }

  /** Resolves an attempt's input and asks for it to start; an input that does not evaluate fails the attempt. */
  private attempt(unit: Unit, attempt: number, at: string, commands: Command[]): void {
    unit.state.attempts = attempt;
    let input: Record<string, unknown>;
    try {
      input = resolveTemplates(unit.node.with, this.bindings(unit.item), this.integerParams, this.expressionLimits) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      this.failAttempt(unit, { code: error.code, message: error.message, retryable: false }, at, commands);
      return;
    }
    commands.push({ kind: 'startAttempt', unit, attempt, input });
  }

  /** A unit whose backoff ended while paused waits for {@link resume}, holding no slot: the run is idle without it. */
  private hold(unit: Unit): void {
    if (this.running.delete(unit) && unit.holdsSlot) this.inFlight -= 1;
    this.held.push(unit);
  }

  /** Launches a unit: slot holders wait in the queue, the others start at once. */
  private launch(node: TaskNode, state: TaskState, at: string, commands: Command[], item?: ForEachItem): void {
    this.launched.add(state);
    const holdsSlot = node.execution === 'activity' || node.execution === 'local-activity' || node.execution === 'workflow';
    const unit: Unit = item ? { node, state, item, holdsSlot } : { node, state, holdsSlot };
    if (holdsSlot) this.queue.push(unit);
    else this.start(unit, at, commands);
  }

  /** Whether a node still starts after `stop`: a handler, after a failFast or circuit-breaker stop. */
  private survivesStop(node: TaskNode, stop: StopReason): boolean {
    return node.runIf !== undefined && SOFT_STOPS.has(stop.code);
  }

  /** Whether units may start from the queue: nothing stopped the run, or only handlers are queued (see {@link survivesStop}). */
  private get mayStartQueued(): boolean {
    const stop = this.activeStop;
    return !stop || (this.hasHandlers && SOFT_STOPS.has(stop.code));
  }

  /**
   * Why a task whose needs have all ended does not run by its `runIf`, or `undefined` when it runs:
   * by default a need that neither SUCCEEDED nor FAILED with continueOnError blocks it; `failure`
   * runs when a need failed; `always` runs whatever happened.
   */
  private runIfUnmet(node: TaskNode): TaskErrorInfo | undefined {
    const needs = node.needs.map((id) => this.states.get(id) as TaskState);
    switch (node.runIf) {
      case 'always':
        return undefined;
      case 'failure':
        return needs.some(needFailed) ? undefined : { code: 'RUN_IF_NOT_MET', message: 'runIf: failure, and none of its needs failed' };
      case undefined: {
        const blocker = needs.find((need) => need.status !== 'SUCCEEDED' && !(need.status === 'FAILED' && this.nodes.get(need.id)?.continueOnError));
        return blocker && { code: 'UPSTREAM_NOT_SUCCEEDED', message: `needs "${blocker.id}", which is ${blocker.status}` };
      }
    }
  }

  private schedule(at: string, commands: Command[]): void {
    const stop = this.stop;
    if (stop) {
      for (const queued of this.queue.splice(0)) {
        if (this.survivesStop(queued.node, stop)) this.queue.push(queued);
        else this.finishState(queued.state, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      }
      // Attempts held back by a pause will not start: the stop cancels them as it would their backoff.
      for (const held of this.held.splice(0)) {
        if (this.survivesStop(held.node, stop)) this.held.push(held);
        else this.finishState(held.state, 'CANCELLED', at, commands, { code: stop.code, message: stop.message });
      }
    }
    this.scheduleNodes(this.ir.tasks, stop, at, commands);
    this.fillSlots(at, commands);
  }

  /** Starts queued units while slots are free. */
  private fillSlots(at: string, commands: Command[]): void {
    while (!this.holding && this.mayStartQueued && this.inFlight < this.ir.maxParallel && this.queue.length > 0) this.start(this.queue.shift() as Unit, at, commands);
  }

  /** Settles or launches each of `nodes` (in topological order) whose needs have ended; `stop` skips those it does not let run. */
  private scheduleNodes(nodes: readonly TaskNode[], stop: StopReason | undefined, at: string, commands: Command[]): void {
    for (const node of nodes) {
      const state = this.states.get(node.id) as TaskState;
      if (state.items && !isTerminal(state.status)) this.settleForEach(node, state, stop, at, commands);
      if (state.status !== 'PENDING' || this.launched.has(state)) continue;
      if (stop && !this.survivesStop(node, stop)) {
        this.finishState(state, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
        continue;
      }
      if (!node.needs.every((id) => isTerminal((this.states.get(id) as TaskState).status))) continue;
      const unmet = this.runIfUnmet(node);
      if (unmet) {
        this.finishState(state, 'SKIPPED', at, commands, unmet);
        continue;
      }
      // Paused: nothing starts; the task stays PENDING and is looked at again once resumed.
      if (this.holding) continue;
      try {
        if (node.when !== undefined && evaluate(node.when, this.bindings(), this.integerParams, this.expressionLimits) !== true) {
          this.finishState(state, 'SKIPPED', at, commands, { code: 'WHEN_FALSE', message: `when \${${node.when}} is not true` });
        } else if (node.forEach) {
          state.status = 'RUNNING';
          state.startedAt = at;
          state.items = this.forEachValues(node).map((_, index) => ({ id: `${node.id}[${index}]`, status: 'PENDING', attempts: 0 }));
          this.settleForEach(node, state, stop, at, commands);
        } else {
          this.launch(node, state, at, commands);
        }
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        state.attempts = 1;
        this.finishState(state, 'FAILED', at, commands, { code: error.code, message: error.message });
      }
    }
  }

  /** The list a forEach task iterates, evaluated once. */
  private forEachValues(node: TaskNode): unknown[] {
    let values = this.forEachLists.get(node.id);
    if (!values) {
      const items = (node.forEach as { items: string }).items;
      const value = evaluate(items, this.bindings(), this.integerParams, this.expressionLimits);
      if (!Array.isArray(value)) throw new ExpressionError(`forEach \${${items}} is ${typeof value}, not a list`, items);
      values = value;
      this.forEachLists.set(node.id, values);
    }
    return values;
  }

  /** Launches a forEach task's next items (within its maxParallel) and settles it once all are done. */
  private settleForEach(node: TaskNode, state: TaskState, stop: StopReason | undefined, at: string, commands: Command[]): void {
    const items = state.items as TaskState[];
    if (stop && !this.survivesStop(node, stop)) {
      for (const item of items) {
        if (item.status === 'PENDING' && !this.launched.has(item)) this.finishState(item, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      }
    } else if (!this.holding) {
      const values = this.forEachValues(node);
      const cap = node.forEach?.maxParallel ?? Number.POSITIVE_INFINITY;
      let room = cap - items.filter((item) => this.launched.has(item) && !isTerminal(item.status)).length;
      items.forEach((item, index) => {
        if (room <= 0 || item.status !== 'PENDING' || this.launched.has(item)) return;
        room -= 1;
        this.launch(node, item, at, commands, { value: values[index], index });
      });
    }
    if (!items.every((item) => isTerminal(item.status))) return;
    state.attempts = Math.max(0, ...items.map((item) => item.attempts));
    state.outputs = items.map((item) => item.outputs ?? null);
    const failed = items.find((item) => item.status === 'FAILED');
    const cancelled = items.find((item) => item.status === 'CANCELLED' || item.status === 'SKIPPED');
    if (failed) {
      this.finishState(state, 'FAILED', at, commands, { code: failed.error?.code ?? 'TASK_FAILED', message: `${failed.id}: ${failed.error?.message ?? 'failed'}` });
    } else if (cancelled) {
      this.finishState(state, 'CANCELLED', at, commands, cancelled.error);
    } else {
      this.finishState(state, 'SUCCEEDED', at, commands);
    }
  }

  /** Counts each newly failed task once, for failFast and the circuit breaker. */
  private recordFailures(commands: Command[]): void {
    for (const task of this.taskStates) {
      if (this.counted.has(task.id) || !isTerminal(task.status)) continue;
      this.counted.add(task.id);
      const node = this.nodes.get(task.id) as TaskNode;
      if (task.status !== 'FAILED' || node.continueOnError) continue;
      this.failures += 1;
      if (this.ir.circuitBreaker && this.failures >= this.ir.circuitBreaker.maxFailures) {
        commands.push(...this.halt({ code: 'CIRCUIT_OPEN', message: `circuit breaker open after ${this.failures} task failure(s)` }));
      } else if (this.ir.failurePolicy === 'failFast') {
        commands.push(...this.halt({ code: 'FAIL_FAST', message: `stopped after task "${task.id}" failed (failurePolicy: failFast)` }));
      }
    }
  }
}
