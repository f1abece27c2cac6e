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

/** Why the scheduler stopped starting new work. */
export interface StopReason {
  code: 'RUN_CANCELLED' | 'RUN_TIMEOUT' | 'FAIL_FAST' | 'CIRCUIT_OPEN';
  message: string;
}

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

  constructor(ir: WorkflowIR, options: SchedulerOptions) {
    this.ir = ir;
    this.nodes = new Map(ir.tasks.map((task) => [task.id, task]));
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
      tasks: ir.tasks.map((task) => carried.get(task.id) ?? { id: task.id, status: 'PENDING', attempts: 0 }),
    };
    this.states = new Map(this.run.tasks.map((task) => [task.id, task]));
    this.hasHandlers = ir.tasks.some((task) => task.runIf !== undefined);
    this.taskErrors = ir.irVersion >= 2;
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
    this.recordFailures(commands);
    if (mayStart) this.schedule(at, commands);
    this.recordFailures(commands);
    return commands;
  }

  /** An attempt returned outputs. */
  attemptSucceeded(unit: Unit, outputs: unknown, cached: boolean, at: string): Command[] {
    const commands: Command[] = [];
    if (cached) unit.state.cached = true;
    unit.state.outputs = outputs;
    this.settle(unit, 'SUCCEEDED', at, commands);
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
    const reason = this.stop ?? { code: 'RUN_CANCELLED', message: 'the run was cancelled' };
    this.settle(unit, 'CANCELLED', at, commands, { code: reason.code, message: reason.message });
    return commands;
  }

  /** The backoff before a retry ended: the next attempt starts, or waits for {@link resume} while the run is paused. */
  retryTimerFired(unit: Unit, at: string): Command[] {
    const commands: Command[] = [];
    this.changes += 1;
    if (this.paused) {
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
    const failed = this.run.tasks.find((task) => task.status === 'FAILED' && !this.nodes.get(task.id)?.continueOnError);
    const stop = this.stop;
    const stoppedBy = stop?.code === 'RUN_TIMEOUT' || stop?.code === 'CIRCUIT_OPEN' ? stop : undefined;
    if (failed || stoppedBy) {
      this.run.error = stoppedBy
        ? { code: stoppedBy.code, message: stoppedBy.message }
        : { code: failed?.error?.code ?? 'TASK_FAILED', message: `task "${failed?.id}" failed: ${failed?.error?.message ?? ''}` };
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

  /** The CEL bindings: parameters, settled tasks, and the forEach item if any. */
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
    return item ? { params: this.params, tasks, item: item.value, index: item.index } : { params: this.params, tasks };
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
    if (!failure.retryable || attempt >= unit.node.retry.maxAttempts || this.stop) {
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

  /** Whether a node still starts after the run's stop: a handler, after a failFast or circuit-breaker stop. */
  private survivesStop(node: TaskNode): boolean {
    return node.runIf !== undefined && this.stop !== undefined && SOFT_STOPS.has(this.stop.code);
  }

  /** Whether units may start from the queue: nothing stopped the run, or only handlers are queued (see {@link survivesStop}). */
  private get mayStartQueued(): boolean {
    return !this.stop || (this.hasHandlers && SOFT_STOPS.has(this.stop.code));
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
        if (this.survivesStop(queued.node)) this.queue.push(queued);
        else this.finishState(queued.state, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      }
      // Attempts held back by a pause will not start: the stop cancels them as it would their backoff.
      for (const held of this.held.splice(0)) {
        if (this.survivesStop(held.node)) this.held.push(held);
        else this.finishState(held.state, 'CANCELLED', at, commands, { code: stop.code, message: stop.message });
      }
    }
    for (const node of this.ir.tasks) {
      const state = this.states.get(node.id) as TaskState;
      if (state.items && !isTerminal(state.status)) this.settleForEach(node, state, at, commands);
      if (state.status !== 'PENDING' || this.launched.has(state)) continue;
      if (stop && !this.survivesStop(node)) {
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
      if (this.paused) continue;
      try {
        if (node.when !== undefined && evaluate(node.when, this.bindings(), this.integerParams, this.expressionLimits) !== true) {
          this.finishState(state, 'SKIPPED', at, commands, { code: 'WHEN_FALSE', message: `when \${${node.when}} is not true` });
        } else if (node.forEach) {
          state.status = 'RUNNING';
          state.startedAt = at;
          state.items = this.forEachValues(node).map((_, index) => ({ id: `${node.id}[${index}]`, status: 'PENDING', attempts: 0 }));
          this.settleForEach(node, state, at, commands);
        } else {
          this.launch(node, state, at, commands);
        }
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        state.attempts = 1;
        this.finishState(state, 'FAILED', at, commands, { code: error.code, message: error.message });
      }
    }
    while (!this.paused && this.mayStartQueued && this.inFlight < this.ir.maxParallel && this.queue.length > 0) this.start(this.queue.shift() as Unit, at, commands);
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
  private settleForEach(node: TaskNode, state: TaskState, at: string, commands: Command[]): void {
    const items = state.items as TaskState[];
    const stop = this.stop;
    if (stop && !this.survivesStop(node)) {
      for (const item of items) {
        if (item.status === 'PENDING' && !this.launched.has(item)) this.finishState(item, 'SKIPPED', at, commands, { code: stop.code, message: stop.message });
      }
    } else if (!this.paused) {
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
    for (const task of this.run.tasks) {
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
