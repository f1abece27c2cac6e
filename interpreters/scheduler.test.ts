/**
 * The scheduler without Temporal: examples of each rule, and properties over random DAGs driven by
 * random outcomes (success, failure after retries, cancellation, a timeout) in a random order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IR_VERSION, type RunIf, type TaskExecution, type TaskNode, type TaskState, type WorkflowIR } from '../src/ir/index.js';
import { Scheduler, isTerminal, type Command, type StopReason, type Unit } from './scheduler.js';

const AT = '2026-01-01T00:00:00.000Z';

function node(id: string, overrides: Partial<TaskNode> = {}): TaskNode {
  return {
    id,
    uses: 'tasks/transform.map@0.1.0',
    usesSpec: 'tasks/transform.map@0.1.0',
    execution: 'local-activity',
    needs: [],
    with: {},
    retry: { maxAttempts: 1, initialIntervalMs: 1_000, backoffCoefficient: 2, maxIntervalMs: 60_000, jitter: 0 },
    continueOnError: false,
    runsOn: 'local',
    ...overrides,
  };
}

function workflow(tasks: TaskNode[], overrides: Partial<WorkflowIR> = {}): WorkflowIR {
  return {
    irVersion: IR_VERSION,
    name: 'test',
    version: '1.0.0',
    parameters: [],
    policy: { purpose: 'testing', authority: 'tests', license: 'internal' },
    maxParallel: 32,
    failurePolicy: 'failFast',
    tasks,
    ...overrides,
  };
}

function scheduler(ir: WorkflowIR, params: Record<string, unknown> = {}): Scheduler {
  return new Scheduler(ir, { runId: 'run-1', digest: 'sha256:0', params, startedAt: AT, random: () => 0.5 });
}

const starts = (commands: Command[]): Extract<Command, { kind: 'startAttempt' }>[] =>
  commands.filter((command): command is Extract<Command, { kind: 'startAttempt' }> => command.kind === 'startAttempt');
const started = (commands: Command[]): string[] => starts(commands).map((command) => command.unit.state.id);
const status = (s: Scheduler, id: string): TaskState => s.states.get(id) as TaskState;

describe('Scheduler, by example', () => {
  it('starts roots first, then each task once its needs succeeded, and finishes SUCCEEDED', () => {
    const s = scheduler(workflow([node('a'), node('b', { needs: ['a'] }), node('c', { needs: ['a'] }), node('d', { needs: ['b', 'c'] })]));
    expect(s.begin()).toEqual([{ kind: 'publishStatus', status: 'RUNNING' }]);
    const first = s.pass(AT);
    expect(started(first)).toEqual(['a']);
    s.attemptSucceeded(starts(first)[0]!.unit, { rows: [1] }, false, AT);
    const second = s.pass(AT);
    expect(started(second)).toEqual(['b', 'c']);
    for (const start of starts(second)) s.attemptSucceeded(start.unit, null, false, AT);
    expect(started(s.pass(AT))).toEqual(['d']);
    expect(s.done).toBe(false);
    s.attemptSucceeded([...s.running][0] as Unit, 'out', true, AT);
    expect(s.pass(AT)).toEqual([]);
    expect(s.done).toBe(true);
    expect(status(s, 'd')).toMatchObject({ status: 'SUCCEEDED', outputs: 'out', cached: true, attempts: 1 });
    expect(s.finish(AT)).toEqual([
      { kind: 'publishStatus', status: 'SUCCEEDED' },
      { kind: 'finishRun', status: 'SUCCEEDED' },
    ]);
  });

  it('resolves a task input from the outputs of its needs', () => {
    const s = scheduler(workflow([node('a'), node('b', { needs: ['a'], with: { rows: '${tasks.a.outputs.rows}', n: '${params.n}' } })]), { n: 'x' });
    s.begin();
    s.attemptSucceeded(starts(s.pass(AT))[0]!.unit, { rows: [1, 2] }, false, AT);
    expect(starts(s.pass(AT))[0]?.input).toEqual({ rows: [1, 2], n: 'x' });
  });

  it('fails fast: the first failure cancels what runs and skips what has not started', () => {
    const s = scheduler(workflow([node('a'), node('b'), node('c', { needs: ['a'] })]));
    s.begin();
    const [a, b] = starts(s.pass(AT)).map((start) => start.unit) as [Unit, Unit];
    s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: false }, AT);
    expect(s.pass(AT)).toEqual([{ kind: 'cancelUnits' }]);
    expect(status(s, 'c')).toMatchObject({ status: 'SKIPPED', error: { code: 'FAIL_FAST' } });
    s.attemptCancelled(b, AT);
    expect(status(s, 'b')).toMatchObject({ status: 'CANCELLED', error: { code: 'FAIL_FAST' } });
    expect(s.done).toBe(true);
    s.finish(AT);
    expect(s.run).toMatchObject({ status: 'FAILED', error: { code: 'BOOM', message: 'task "a" failed: no' } });
  });

  it('under failurePolicy continue, skips only the dependants of a failed task', () => {
    const s = scheduler(workflow([node('a'), node('b'), node('c', { needs: ['a'] }), node('d', { needs: ['b'] })], { failurePolicy: 'continue' }));
    s.begin();
    const [a, b] = starts(s.pass(AT)).map((start) => start.unit) as [Unit, Unit];
    s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: false }, AT);
    s.attemptSucceeded(b, null, false, AT);
    expect(started(s.pass(AT))).toEqual(['d']);
    expect(status(s, 'c')).toMatchObject({ status: 'SKIPPED', error: { code: 'UPSTREAM_NOT_SUCCEEDED', message: 'needs "a", which is FAILED' } });
  });

  it('runs the dependants of a continueOnError task that failed, and the run succeeds', () => {
    const s = scheduler(workflow([node('a', { continueOnError: true }), node('b', { needs: ['a'] })]));
    s.begin();
    s.attemptFailed(starts(s.pass(AT))[0]!.unit, { code: 'BOOM', message: 'no', retryable: false }, AT);
    const next = s.pass(AT);
    expect(started(next)).toEqual(['b']);
    s.attemptSucceeded(starts(next)[0]!.unit, null, false, AT);
    s.pass(AT);
    expect(s.finish(AT).at(-1)).toEqual({ kind: 'finishRun', status: 'SUCCEEDED' });
  });

  it('opens the circuit breaker after maxFailures failures, and the run fails with CIRCUIT_OPEN', () => {
    const s = scheduler(workflow([node('a'), node('b'), node('c'), node('d', { needs: ['c'] })], { failurePolicy: 'continue', circuitBreaker: { maxFailures: 2 } }));
    s.begin();
    const [a, b, c] = starts(s.pass(AT)).map((start) => start.unit) as [Unit, Unit, Unit];
    s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: false }, AT);
    expect(s.pass(AT)).toEqual([]);
    s.attemptFailed(b, { code: 'BOOM', message: 'no', retryable: false }, AT);
    expect(s.pass(AT)).toEqual([{ kind: 'cancelUnits' }]);
    s.attemptSucceeded(c, null, false, AT);
    s.pass(AT);
    expect(status(s, 'd')).toMatchObject({ status: 'SKIPPED', error: { code: 'CIRCUIT_OPEN' } });
    s.finish(AT);
    expect(s.run.error).toEqual({ code: 'CIRCUIT_OPEN', message: 'circuit breaker open after 2 task failure(s)' });
  });

  it('retries a retryable failure after an exponential backoff, then fails once attempts are spent', () => {
    const retry = { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 3, maxIntervalMs: 250, jitter: 0.5 };
    const s = scheduler(workflow([node('a', { retry })]));
    s.begin();
    const unit = starts(s.pass(AT))[0]!.unit;
    expect(s.attemptFailed(unit, { code: 'FLAKY', message: 'once', retryable: true }, AT)).toEqual([
      { kind: 'sleepBeforeRetry', unit, attempt: 1, code: 'FLAKY', ms: 100 },
    ]);
    expect(s.retryTimerFired(unit, AT)).toEqual([{ kind: 'startAttempt', unit, attempt: 2, input: {} }]);
    // 100 × 3 = 300, capped at 250; random() = 0.5 means no jitter.
    expect(s.attemptFailed(unit, { code: 'FLAKY', message: 'twice', retryable: true }, AT)).toMatchObject([{ kind: 'sleepBeforeRetry', ms: 250 }]);
    s.retryTimerFired(unit, AT);
    s.attemptFailed(unit, { code: 'FLAKY', message: 'thrice', retryable: true }, AT);
    expect(status(s, 'a')).toMatchObject({ status: 'FAILED', attempts: 3, error: { code: 'FLAKY', message: 'thrice' } });
  });

  it('skips a task whose when is false, and its dependants', () => {
    const s = scheduler(workflow([node('a', { when: 'params.go' }), node('b', { needs: ['a'] })]), { go: false });
    s.begin();
    expect(s.pass(AT)).toEqual([]);
    expect(status(s, 'a')).toMatchObject({ status: 'SKIPPED', error: { code: 'WHEN_FALSE' } });
    expect(status(s, 'b')).toMatchObject({ status: 'SKIPPED', error: { code: 'UPSTREAM_NOT_SUCCEEDED' } });
    expect(s.done).toBe(true);
  });

  it('fails a task whose input does not evaluate, without starting it', () => {
    const s = scheduler(workflow([node('a', { with: { x: '${params.missing.deeper}' } })], { failurePolicy: 'continue' }));
    s.begin();
    expect(started(s.pass(AT))).toEqual([]);
    expect(status(s, 'a')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'EXPRESSION_FAILED' } });
  });

  it('fans a forEach out within its maxParallel and collects the outputs in item order', () => {
    const s = scheduler(workflow([node('each', { forEach: { items: 'params.items', maxParallel: 2 }, with: { v: '${item}', i: '${index}' } })]), { items: ['x', 'y', 'z'] });
    s.begin();
    const first = starts(s.pass(AT));
    expect(first.map((start) => start.input)).toEqual([
      { v: 'x', i: 0 },
      { v: 'y', i: 1 },
    ]);
    s.attemptSucceeded(first[1]!.unit, 'Y', false, AT);
    const second = starts(s.pass(AT));
    expect(second.map((start) => start.unit.state.id)).toEqual(['each[2]']);
    s.attemptSucceeded(second[0]!.unit, 'Z', false, AT);
    s.attemptSucceeded(first[0]!.unit, 'X', false, AT);
    s.pass(AT);
    expect(status(s, 'each')).toMatchObject({ status: 'SUCCEEDED', outputs: ['X', 'Y', 'Z'], attempts: 1 });
  });

  it('holds at most maxParallel activities at once; timers and approvals take no slot', () => {
    const s = scheduler(workflow([node('a'), node('b'), node('t', { execution: 'timer' }), node('c')], { maxParallel: 2 }));
    s.begin();
    const first = s.pass(AT);
    expect(started(first)).toEqual(['t', 'a', 'b']);
    s.attemptSucceeded(starts(first)[1]!.unit, null, false, AT);
    expect(started(s.pass(AT))).toEqual(['c']);
  });

  it('publishes WAITING while a signal wait waits, which takes no slot', () => {
    const s = scheduler(workflow([node('wait', { execution: 'signal' }), node('a')], { maxParallel: 1 }));
    s.begin();
    const pass = s.pass(AT);
    expect(pass[0]).toEqual({ kind: 'publishStatus', status: 'WAITING' });
    expect(started(pass)).toEqual(['wait', 'a']);
    expect(status(s, 'wait').status).toBe('WAITING');
  });

  it('publishes WAITING while an approval gate waits, and RUNNING once it is decided', () => {
    const s = scheduler(workflow([node('gate', { execution: 'approval' })]));
    s.begin();
    const pass = s.pass(AT);
    expect(pass[0]).toEqual({ kind: 'publishStatus', status: 'WAITING' });
    expect(s.attemptSucceeded(starts(pass)[0]!.unit, { approved: true }, false, AT)).toEqual([{ kind: 'publishStatus', status: 'RUNNING' }]);
  });

  it('while paused starts nothing new, lets what runs finish, and starts what became ready on resume', () => {
    const s = scheduler(workflow([node('a'), node('b', { needs: ['a'] }), node('c', { needs: ['a'] })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    expect(s.pause()).toEqual([{ kind: 'publishStatus', status: 'PAUSED' }]);
    expect(s.pause()).toEqual([]);
    expect(s.attemptSucceeded(a, 1, false, AT)).toEqual([]);
    expect(started(s.pass(AT))).toEqual([]);
    expect(s.run.status).toBe('PAUSED');
    expect([status(s, 'b').status, status(s, 'c').status]).toEqual(['PENDING', 'PENDING']);
    expect(s.done).toBe(false);
    expect(s.resume(AT)).toEqual([{ kind: 'publishStatus', status: 'RUNNING' }]);
    expect(s.resume(AT)).toEqual([]);
    expect(started(s.pass(AT))).toEqual(['b', 'c']);
  });

  it('holds back a retry whose backoff ends while paused, and starts it on resume', () => {
    const s = scheduler(workflow([node('a', { retry: { maxAttempts: 2, initialIntervalMs: 10, backoffCoefficient: 2, maxIntervalMs: 100, jitter: 0 } })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    expect(s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: true }, AT).map((c) => c.kind)).toEqual(['sleepBeforeRetry']);
    s.pause();
    expect(started(s.retryTimerFired(a, AT))).toEqual([]);
    expect(s.idle).toBe(true);
    expect(s.done).toBe(false);
    const resumed = s.resume(AT);
    expect(starts(resumed).map((c) => [c.unit.state.id, c.attempt])).toEqual([['a', 2]]);
  });

  it('does not start forEach items while paused', () => {
    const s = scheduler(workflow([node('a', { forEach: { items: '[1, 2, 3]', maxParallel: 1 } })]));
    s.begin();
    const first = starts(s.pass(AT));
    expect(first.map((c) => c.unit.state.id)).toEqual(['a[0]']);
    s.pause();
    s.attemptSucceeded(first[0]!.unit, 1, false, AT);
    expect(started(s.pass(AT))).toEqual([]);
    s.resume(AT);
    expect(started(s.pass(AT))).toEqual(['a[1]']);
  });

  /** a → b; a failed and its retry's backoff ended while the run was paused: the attempt is held. */
  function pausedInBackoff(): Scheduler {
    const s = scheduler(workflow([node('a', { retry: { maxAttempts: 2, initialIntervalMs: 10, backoffCoefficient: 2, maxIntervalMs: 100, jitter: 0 } }), node('b', { needs: ['a'] })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: true }, AT);
    s.pause();
    expect(s.retryTimerFired(a, AT)).toEqual([]);
    return s;
  }

  it('cancelling a paused run ends what waits CANCELLED, held retries included', () => {
    const s = pausedInBackoff();
    s.halt({ code: 'RUN_CANCELLED', message: 'the run was cancelled' });
    expect(s.idle).toBe(true);
    s.finishCancelled(AT);
    expect([status(s, 'a').status, status(s, 'b').status, s.run.status]).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
  });

  it('a timeout while paused cancels held retries and skips the rest', () => {
    const s = pausedInBackoff();
    s.halt({ code: 'RUN_TIMEOUT', message: 'late' });
    s.pass(AT);
    expect(s.done).toBe(true);
    expect(status(s, 'a')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
    expect(status(s, 'b')).toMatchObject({ status: 'SKIPPED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('on a timeout, cancels what runs, skips the rest, and fails the run with RUN_TIMEOUT', () => {
    const s = scheduler(workflow([node('a'), node('b', { needs: ['a'] })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    expect(s.halt({ code: 'RUN_TIMEOUT', message: 'late' })).toEqual([{ kind: 'cancelUnits' }]);
    expect(s.halt({ code: 'RUN_CANCELLED', message: 'second' })).toEqual([]);
    s.attemptCancelled(a, AT);
    s.pass(AT);
    expect(s.done).toBe(true);
    s.finish(AT);
    expect(s.run.error).toEqual({ code: 'RUN_TIMEOUT', message: 'late' });
    expect(status(s, 'b')).toMatchObject({ status: 'SKIPPED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('on cancellation, ends whatever has not settled CANCELLED', () => {
    const s = scheduler(workflow([node('a'), node('b', { needs: ['a'] })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    s.halt({ code: 'RUN_CANCELLED', message: 'the run was cancelled' });
    s.attemptCancelled(a, AT);
    expect(s.finishCancelled(AT)).toEqual([
      { kind: 'publishStatus', status: 'CANCELLED' },
      { kind: 'finishRun', status: 'CANCELLED' },
    ]);
    expect(s.run.tasks.map((task) => [task.id, task.status, task.error?.code])).toEqual([
      ['a', 'CANCELLED', 'RUN_CANCELLED'],
      ['b', 'CANCELLED', 'RUN_CANCELLED'],
    ]);
  });

  it('resumes from carried task states after a continue-as-new', () => {
    const ir = workflow([node('a'), node('b', { needs: ['a'] })]);
    const carried: TaskState[] = [{ id: 'a', status: 'SUCCEEDED', attempts: 1, outputs: 1 }, { id: 'b', status: 'PENDING', attempts: 0 }];
    const s = new Scheduler(ir, { runId: 'r', digest: 'd', params: {}, startedAt: AT, carried, random: () => 0.5 });
    expect(started(s.pass(AT))).toEqual(['b']);
  });
});

interface TaskSpec {
  needs: number[];
  execution: TaskExecution;
  maxAttempts: number;
  continueOnError: boolean;
  forEach: number | undefined;
  when: 'none' | 'true' | 'false' | 'first-succeeded';
  runIf: RunIf | undefined;
}

const taskSpec = fc.record({
  needs: fc.uniqueArray(fc.nat(11), { maxLength: 3 }),
  execution: fc.constantFrom<TaskExecution>('local-activity', 'local-activity', 'activity', 'timer', 'approval', 'signal'),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  continueOnError: fc.boolean(),
  forEach: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  when: fc.constantFrom<TaskSpec['when']>('none', 'none', 'true', 'false', 'first-succeeded'),
  runIf: fc.constantFrom<RunIf | undefined>(undefined, undefined, undefined, 'failure', 'always'),
});

const scenario = fc.record({
  tasks: fc.array(taskSpec, { minLength: 1, maxLength: 12 }),
  maxParallel: fc.integer({ min: 1, max: 4 }),
  forEachParallel: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  failurePolicy: fc.constantFrom<WorkflowIR['failurePolicy']>('failFast', 'continue'),
  maxFailures: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  /** Chance that an attempt fails, and that a failure is retryable. */
  failRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
  /** Step at which the run times out or is cancelled, if any. */
  interrupt: fc.option(fc.record({ at: fc.nat(30), kind: fc.constantFrom('timeout', 'cancel') }), { nil: undefined }),
  /** An operator pauses the run at step `at` and resumes it `steps` later (or once nothing is left to wait for). */
  pause: fc.option(fc.record({ at: fc.nat(20), steps: fc.nat(12) }), { nil: undefined }),
  /** The order of events, the outcomes and the jitter: uniform draws in [0, 1). */
  draws: fc.infiniteStream(fc.integer({ min: 0, max: 0xffff }).map((n) => n / 0x10000)),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** Needs point only backwards, so the order of `tasks` is topological, as the compiler's is. */
function buildIr(sc: Scenario): WorkflowIR {
  const tasks = sc.tasks.map((spec, index) => {
    const needs = [...new Set(spec.needs.filter((need) => need < index))].map((need) => `t${need}`);
    const when = { none: undefined, true: 'true', false: 'false', 'first-succeeded': `tasks.t0.status == "SUCCEEDED"` }[spec.when];
    return node(`t${index}`, {
      execution: spec.execution,
      needs: index > 0 && spec.when === 'first-succeeded' && !needs.includes('t0') ? [...needs, 't0'] : needs,
      retry: { maxAttempts: spec.maxAttempts, initialIntervalMs: 10, backoffCoefficient: 2, maxIntervalMs: 100, jitter: 0.2 },
      continueOnError: spec.continueOnError,
      ...(index > 0 && when !== undefined ? { when } : {}),
      ...(spec.runIf !== undefined && needs.length > 0 ? { runIf: spec.runIf } : {}),
      ...(spec.forEach === undefined ? {} : { forEach: { items: `params.list${spec.forEach}`, ...(sc.forEachParallel === undefined ? {} : { maxParallel: sc.forEachParallel }) } }),
    });
  });
  return workflow(tasks, {
    maxParallel: sc.maxParallel,
    failurePolicy: sc.failurePolicy,
    ...(sc.maxFailures === undefined ? {} : { circuitBreaker: { maxFailures: sc.maxFailures } }),
  });
}

const PARAMS = Object.fromEntries([0, 1, 2, 3, 4].map((n) => [`list${n}`, Array.from({ length: n }, (_, i) => i)]));

/** What a simulated Temporal has outstanding: an attempt or a backoff, maybe asked to cancel. */
interface Pending {
  unit: Unit;
  kind: 'attempt' | 'backoff';
  cancelRequested: boolean;
}

interface Trace {
  s: Scheduler;
  ir: WorkflowIR;
  /** The task and item ids whose first attempt started, in order. */
  startedUnits: string[];
  /** Whether the run was paused at some point. */
  wasPaused: boolean;
  outcome: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
}

/** A failed invariant; plain, because `expect` costs too much in the simulator's inner loop. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Whether the run timed out or was cancelled, which stops handlers too. */
const hardStop = (s: Scheduler): boolean => s.stop?.code === 'RUN_TIMEOUT' || s.stop?.code === 'RUN_CANCELLED';

/** Drives one scenario to its end, checking the step invariants on the way. */
function simulate(sc: Scenario): Trace {
  const ir = buildIr(sc);
  const random = (): number => sc.draws.next().value as number;
  const s = new Scheduler(ir, { runId: 'r', digest: 'd', params: PARAMS, startedAt: AT, random });
  const pending: Pending[] = [];
  const startedUnits: string[] = [];
  const settled = new Map<string, string>();
  let outcome: Trace['outcome'] | undefined;
  let cancelling = false;
  let resumeAt: number | undefined;
  let wasPaused = false;

  const allStates = (): TaskState[] => s.run.tasks.flatMap((task) => [task, ...(task.items ?? [])]);
  const nodeOf = (unit: Unit): TaskNode => unit.node;

  /** `stopBefore`: the stop in force before the event that made `commands`. */
  function apply(commands: Command[], before: { stop?: StopReason } = { stop: s.stop }): void {
    for (const command of commands) {
      switch (command.kind) {
        case 'startAttempt': {
          const { unit } = command;
          // Nothing starts while paused: no task, retry attempt or forEach item.
          check(!s.paused, `${unit.state.id} (attempt ${command.attempt}) started while the run was paused`);
          if (command.attempt === 1) {
            // A task never starts before all its needs settled.
            for (const need of nodeOf(unit).needs) check(isTerminal(s.states.get(need)?.status ?? 'PENDING'), `${unit.state.id} started before its need ${need} settled`);
            // Only a handler starts after a stop, and only after a failFast or circuit-breaker one.
            const soft = before.stop?.code === 'FAIL_FAST' || before.stop?.code === 'CIRCUIT_OPEN';
            check(before.stop === undefined || (nodeOf(unit).runIf !== undefined && soft), `${unit.state.id} started after a stop`);
            startedUnits.push(unit.state.id);
          }
          pending.push({ unit, kind: 'attempt', cancelRequested: false });
          break;
        }
        case 'sleepBeforeRetry':
          pending.push({ unit: command.unit, kind: 'backoff', cancelRequested: false });
          break;
        case 'cancelUnits':
          for (const op of pending) if (op.unit.node.runIf === undefined) op.cancelRequested = true;
          break;
        case 'cancelHandlers':
          for (const op of pending) if (op.unit.node.runIf !== undefined) op.cancelRequested = true;
          break;
        case 'finishRun':
          outcome = command.status;
          break;
        case 'publishStatus':
          break;
      }
    }
    checkStep();
  }

  function checkStep(): void {
    // Never more than maxParallel activities, nor more than a forEach's maxParallel items, at once.
    const activities = [...s.running].filter((unit) => unit.holdsSlot);
    check(activities.length <= ir.maxParallel, `${activities.length} activities run at once`);
    for (const task of ir.tasks) {
      const cap = task.forEach?.maxParallel;
      if (cap !== undefined) check([...s.running].filter((unit) => unit.node === task).length <= cap, `${task.id} runs more than ${cap} items`);
    }
    // A terminal status never changes.
    for (const state of allStates()) {
      const before = settled.get(state.id);
      if (before !== undefined) check(state.status === before, `${state.id} went from ${before} to ${state.status}`);
      else if (isTerminal(state.status)) settled.set(state.id, state.status);
    }
  }

  /** The operator resumes: the held attempts start, then a pass (as the shell's `resume` handler does). */
  function resume(): void {
    resumeAt = undefined;
    apply(s.resume(AT));
    if (cancelling) return;
    // The stop in force before the pass, as below: a failure counted by this very pass stops only what comes after it.
    const before = { stop: s.stop };
    apply(s.pass(AT), before);
  }

  apply(s.begin());
  for (let step = 0; outcome === undefined; step += 1) {
    check(step < 1_000, 'the run does not end');
    if (sc.pause && step === sc.pause.at && !s.done && !hardStop(s)) {
      apply(s.pause());
      wasPaused = true;
      check(s.run.status === 'PAUSED', `a paused run shows ${s.run.status}`);
      resumeAt = step + sc.pause.steps;
    }
    if (resumeAt !== undefined && step >= resumeAt && !hardStop(s)) resume();
    if (!cancelling) {
      const before = { stop: s.stop };
      apply(s.pass(AT), before);
    }
    if (!cancelling && s.done) {
      check(pending.length === 0, 'done while attempts are outstanding');
      apply(s.finish(AT));
      break;
    }
    // A timeout or cancel may come after a failFast or circuit-breaker stop, while handlers run.
    if (sc.interrupt && step === sc.interrupt.at && !hardStop(s)) {
      if (sc.interrupt.kind === 'timeout') {
        apply(s.halt({ code: 'RUN_TIMEOUT', message: 'late' }));
        // As the shell does: a paused run may have nothing running whose end would settle the rest.
        if (s.paused) apply(s.pass(AT));
      } else {
        cancelling = true;
        // The workflow's cancellation reaches every unit, whatever the scheduler says.
        for (const op of pending) op.cancelRequested = true;
        apply(s.halt({ code: 'RUN_CANCELLED', message: 'the run was cancelled' }));
      }
    }
    if (pending.length === 0) {
      // The run ends iff nothing runs and nothing is ready: nothing outstanding means it is over.
      check(s.idle, 'nothing outstanding, yet units run');
      if (cancelling) apply(s.finishCancelled(AT));
      else if (s.paused && !s.done) resume();
      else check(s.done, 'nothing runs, yet tasks are left');
      continue;
    }
    const [op] = pending.splice(Math.floor(random() * pending.length), 1) as [Pending];
    if (op.cancelRequested) apply(s.attemptCancelled(op.unit, AT));
    else if (op.kind === 'backoff') apply(s.retryTimerFired(op.unit, AT));
    else if (random() < sc.failRate) apply(s.attemptFailed(op.unit, { code: 'BOOM', message: 'failed', retryable: random() < 0.5 }, AT));
    else apply(s.attemptSucceeded(op.unit, op.unit.state.id, false, AT));
  }
  return { s, ir, startedUnits, wasPaused, outcome: outcome as Trace['outcome'] };
}

describe('Scheduler, run conditions (runIf)', () => {
  /** deploy → verify → rollback (runIf: failure) → summary (runIf: always), as a runbook writes it. */
  const runbook = (overrides: Partial<WorkflowIR> = {}): WorkflowIR =>
    workflow(
      [
        node('deploy'),
        node('verify', { needs: ['deploy'] }),
        node('rollback', { needs: ['verify'], runIf: 'failure', with: { why: '${tasks.verify.error.code}', was: '${tasks.verify.status}' } }),
        node('summary', { needs: ['verify', 'rollback'], runIf: 'always', with: { rollback: '${tasks.rollback.status}' } }),
      ],
      overrides,
    );

  /** Runs `s` to its end: `verify` fails (or not), everything else succeeds; returns the inputs each task got. */
  function drive(s: Scheduler, verifyFails: boolean): Map<string, Record<string, unknown>> {
    const inputs = new Map<string, Record<string, unknown>>();
    let commands = [...s.begin(), ...s.pass(AT)];
    while (!s.done) {
      const start = starts(commands)[0];
      if (!start) throw new Error(`stuck: ${JSON.stringify(s.run.tasks.map((t) => [t.id, t.status]))}`);
      inputs.set(start.unit.state.id, start.input);
      commands = [
        ...(verifyFails && start.unit.state.id === 'verify'
          ? s.attemptFailed(start.unit, { code: 'HEALTH_CHECK_FAILED', message: '503', retryable: false }, AT)
          : s.attemptSucceeded(start.unit, { ok: true }, false, AT)),
        ...s.pass(AT),
      ];
    }
    s.finish(AT);
    return inputs;
  }

  for (const failurePolicy of ['failFast', 'continue'] as const) {
    it(`runs the failure and always handlers when verify fails, and the run still fails (${failurePolicy})`, () => {
      const s = scheduler(runbook({ failurePolicy }));
      const inputs = drive(s, true);
      expect(s.run.tasks.map((t) => [t.id, t.status])).toEqual([
        ['deploy', 'SUCCEEDED'],
        ['verify', 'FAILED'],
        ['rollback', 'SUCCEEDED'],
        ['summary', 'SUCCEEDED'],
      ]);
      expect(inputs.get('rollback')).toEqual({ why: 'HEALTH_CHECK_FAILED', was: 'FAILED' });
      expect(inputs.get('summary')).toEqual({ rollback: 'SUCCEEDED' });
      expect(s.run).toMatchObject({ status: 'FAILED', error: { code: 'HEALTH_CHECK_FAILED', message: 'task "verify" failed: 503' } });
    });
  }

  it('skips the failure handler when verify passes; the always handler runs and the run succeeds', () => {
    const s = scheduler(runbook());
    const inputs = drive(s, false);
    expect(status(s, 'rollback')).toMatchObject({ status: 'SKIPPED', error: { code: 'RUN_IF_NOT_MET' } });
    expect(inputs.get('summary')).toEqual({ rollback: 'SKIPPED' });
    expect(s.run.status).toBe('SUCCEEDED');
  });

  it('counts a need cancelled by failFast as failed, and does not cancel a handler on the stop', () => {
    const s = scheduler(
      workflow([node('a'), node('b', { execution: 'activity' }), node('on-b', { needs: ['b'], runIf: 'failure' }), node('after-a', { needs: ['a'] })]),
    );
    s.begin();
    const [a, b] = starts(s.pass(AT)).map((start) => start.unit) as [Unit, Unit];
    s.attemptFailed(a, { code: 'BOOM', message: 'no', retryable: false }, AT);
    expect(s.pass(AT)).toEqual([{ kind: 'cancelUnits' }]);
    expect(status(s, 'after-a')).toMatchObject({ status: 'SKIPPED', error: { code: 'FAIL_FAST' } });
    s.attemptCancelled(b, AT);
    const next = s.pass(AT);
    expect(started(next)).toEqual(['on-b']);
    // A later stop of the same kind leaves the handler alone; a timeout cancels it.
    expect(s.halt({ code: 'CIRCUIT_OPEN', message: 'open' })).toEqual([]);
    expect(s.halt({ code: 'RUN_TIMEOUT', message: 'late' })).toEqual([{ kind: 'cancelHandlers' }]);
    s.attemptCancelled(starts(next)[0]!.unit, AT);
    expect(status(s, 'on-b')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('shows tasks.<id>.error to expressions of a version-2 IR, not of a version-1 one (every run recorded before it)', () => {
    const tasks = [node('a', { continueOnError: true }), node('b', { needs: ['a'], with: { size: '${size(tasks.a)}', a: '${tasks.a}' } })];
    for (const taskErrors of [true, false]) {
      const ir = workflow(tasks, { irVersion: taskErrors ? IR_VERSION : 1 });
      const s = new Scheduler(ir, { runId: 'r', digest: 'd', params: {}, startedAt: AT, random: () => 0.5 });
      s.begin();
      s.attemptFailed(starts(s.pass(AT))[0]!.unit, { code: 'BOOM', message: 'no', retryable: false }, AT);
      const error = taskErrors ? { error: { code: 'BOOM', message: 'no' } } : {};
      expect(starts(s.pass(AT))[0]?.input).toEqual({ size: taskErrors ? 3 : 2, a: { status: 'FAILED', outputs: null, ...error } });
    }
  });

  it('runs no handler once the run timed out or was cancelled', () => {
    const s = scheduler(workflow([node('a', { execution: 'activity' }), node('on-a', { needs: ['a'], runIf: 'always' })]));
    s.begin();
    const a = starts(s.pass(AT))[0]!.unit;
    expect(s.halt({ code: 'RUN_TIMEOUT', message: 'late' })).toEqual([{ kind: 'cancelUnits' }, { kind: 'cancelHandlers' }]);
    s.attemptCancelled(a, AT);
    expect(started(s.pass(AT))).toEqual([]);
    expect(status(s, 'on-a')).toMatchObject({ status: 'SKIPPED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('applies when after runIf, and a failure handler over succeeded needs is skipped without evaluating it', () => {
    const s = scheduler(
      workflow(
        [
          node('a', { continueOnError: true }),
          node('on-a', { needs: ['a'], runIf: 'failure', when: 'tasks.a.error.code == "OTHER"' }),
          node('always', { needs: ['a'], runIf: 'always', when: 'tasks.a.error.code == "BOOM"' }),
          node('then', { needs: ['a'] }),
        ],
        { failurePolicy: 'continue' },
      ),
    );
    s.begin();
    s.attemptFailed(starts(s.pass(AT))[0]!.unit, { code: 'BOOM', message: 'no', retryable: false }, AT);
    expect(started(s.pass(AT))).toEqual(['always', 'then']);
    expect(status(s, 'on-a')).toMatchObject({ status: 'SKIPPED', error: { code: 'WHEN_FALSE' } });
  });
});

describe('Scheduler, sub-workflows and outputs (irVersion 3)', () => {
  const child = (id: string, overrides: Partial<TaskNode> = {}): TaskNode =>
    node(id, { uses: 'workflow/child@1.0.0', usesSpec: 'workflow/child@^1', execution: 'workflow', workflow: { namespace: 'default', name: 'child', version: '1.0.0', digest: 'sha256:1' }, ...overrides });

  it('runs a sub-workflow task in a slot of maxParallel, with its evaluated with as the input', () => {
    const s = scheduler(workflow([child('one', { with: { n: '${params.n}' } }), child('two'), node('three')], { maxParallel: 2 }), { n: 3 });
    s.begin();
    const first = starts(s.pass(AT));
    expect(first.map((start) => [start.unit.state.id, start.unit.holdsSlot, start.input])).toEqual([
      ['one', true, { n: 3 }],
      ['two', true, {}],
    ]);
    s.attemptSucceeded(first[0]!.unit, { doubled: 6 }, false, AT);
    expect(started(s.pass(AT))).toEqual(['three']);
  });

  it('evaluates spec.outputs over the tasks when the run succeeds', () => {
    const s = scheduler(workflow([node('a')], { outputs: { first: 'tasks.a.outputs.rows[0]', n: 'params.n + 1' }, parameters: [{ name: 'n', type: 'integer', required: true, secret: false }] }), { n: 1 });
    s.begin();
    s.attemptSucceeded(starts(s.pass(AT))[0]!.unit, { rows: [7] }, false, AT);
    s.pass(AT);
    expect(s.finish(AT)).toEqual([
      { kind: 'publishStatus', status: 'SUCCEEDED' },
      { kind: 'finishRun', status: 'SUCCEEDED' },
    ]);
    expect(s.run.outputs).toEqual({ first: 7, n: 2 });
  });

  it('fails the run with the expression\'s code when an output does not evaluate, and evaluates none after a failure', () => {
    const bad = scheduler(workflow([node('a')], { outputs: { missing: 'tasks.a.outputs.nothing' } }));
    bad.begin();
    bad.attemptSucceeded(starts(bad.pass(AT))[0]!.unit, {}, false, AT);
    bad.pass(AT);
    expect(bad.finish(AT).at(-1)).toEqual({ kind: 'finishRun', status: 'FAILED' });
    expect(bad.run).toMatchObject({ status: 'FAILED', error: { code: 'EXPRESSION_FAILED', message: expect.stringContaining('spec.outputs') } });
    expect(bad.run.outputs).toBeUndefined();

    const failed = scheduler(workflow([node('a')], { outputs: { x: '1' } }));
    failed.begin();
    failed.attemptFailed(starts(failed.pass(AT))[0]!.unit, { code: 'TASK_FAILED', message: 'no', retryable: false }, AT);
    failed.pass(AT);
    failed.finish(AT);
    expect(failed.run.outputs).toBeUndefined();
  });
});

describe('Scheduler, finally and compensations (irVersion 3)', () => {
  const undo = (id: string, overrides: Partial<TaskNode> = {}): TaskNode => node(`${id}.compensate`, { with: { rows: `\${tasks.${id}.outputs.rows}` }, ...overrides });
  /** A chain s1 → … → sN, each with a compensation. */
  const saga = (n: number, overrides: Partial<WorkflowIR> = {}): WorkflowIR =>
    workflow(
      Array.from({ length: n }, (_, i) => node(`s${i + 1}`, { needs: i === 0 ? [] : [`s${i}`], compensate: undo(`s${i + 1}`) })),
      { finallyTimeoutMs: 60_000, ...overrides },
    );
  const fail = { code: 'BOOM', message: 'no', retryable: false };
  const only = (commands: Command[]): Unit => {
    const [start] = starts(commands);
    if (!start || starts(commands).length !== 1) throw new Error(`expected one start, got ${started(commands).join(', ')}`);
    return start.unit;
  };

  it('lists the compensations and finally tasks after the tasks, PENDING', () => {
    const s = scheduler(saga(2, { finally: [node('report')] }));
    expect(s.run.tasks.map((task) => [task.id, task.status])).toEqual([
      ['s1', 'PENDING'],
      ['s2', 'PENDING'],
      ['s1.compensate', 'PENDING'],
      ['s2.compensate', 'PENDING'],
      ['report', 'PENDING'],
    ]);
  });

  it('runs the compensations of the succeeded steps in reverse order, one at a time, when step 4 of 4 fails', () => {
    const s = scheduler(saga(4));
    s.begin();
    let commands = s.pass(AT);
    for (let i = 1; i <= 3; i += 1) {
      s.attemptSucceeded(only(commands), { rows: [i] }, false, AT);
      commands = s.pass(AT);
    }
    s.attemptFailed(only(commands), fail, AT);
    commands = s.pass(AT);
    expect(commands.filter((c) => c.kind === 'startCleanupTimer')).toEqual([{ kind: 'startCleanupTimer', ms: 60_000 }]);
    const order: string[] = [];
    for (let unit = starts(commands)[0]?.unit; unit; unit = starts(commands)[0]?.unit) {
      expect(starts(commands)).toHaveLength(1);
      order.push(unit.state.id);
      expect(starts(commands)[0]?.input).toEqual({ rows: [Number(unit.state.id[1])] });
      // A failed compensation is reported, and the next one still runs (best effort).
      if (unit.state.id === 's2.compensate') s.attemptFailed(unit, fail, AT);
      else s.attemptSucceeded(unit, null, false, AT);
      commands = s.pass(AT);
    }
    expect(order).toEqual(['s3.compensate', 's2.compensate', 's1.compensate']);
    expect(status(s, 's4.compensate')).toMatchObject({ status: 'SKIPPED', error: { code: 'NOT_COMPENSATED' } });
    expect(status(s, 's2.compensate')).toMatchObject({ status: 'FAILED' });
    expect(s.done).toBe(true);
    s.finish(AT);
    expect(s.run).toMatchObject({ status: 'FAILED', error: { code: 'BOOM', message: 'task "s4" failed: no' } });
  });

  it('skips every compensation when the run succeeds, and runs finally with run.status SUCCEEDED', () => {
    const s = scheduler(saga(1, { finally: [node('report', { with: { status: '${run.status}', failed: '${run.failedTasks}' } })] }));
    s.begin();
    s.attemptSucceeded(only(s.pass(AT)), { rows: [1] }, false, AT);
    const commands = s.pass(AT);
    expect(status(s, 's1.compensate')).toMatchObject({ status: 'SKIPPED', error: { code: 'NOT_COMPENSATED', message: 'the run succeeded: nothing to undo' } });
    expect(starts(commands).map((c) => [c.unit.state.id, c.input])).toEqual([['report', { status: 'SUCCEEDED', failed: [] }]]);
    s.attemptFailed(starts(commands)[0]!.unit, fail, AT);
    s.pass(AT);
    s.finish(AT);
    // A finally task's failure is reported, and the run still succeeds without finallyFailsRun.
    expect(s.run.status).toBe('SUCCEEDED');
    expect(status(s, 'report')).toMatchObject({ status: 'FAILED' });
  });

  it('with finallyFailsRun, a failed finally task fails a run that had succeeded', () => {
    const s = scheduler(workflow([node('a')], { finally: [node('report')], finallyTimeoutMs: 1_000, finallyFailsRun: true }));
    s.begin();
    s.attemptSucceeded(only(s.pass(AT)), null, false, AT);
    s.attemptFailed(only(s.pass(AT)), fail, AT);
    s.pass(AT);
    s.finish(AT);
    expect(s.run).toMatchObject({ status: 'FAILED', error: { code: 'BOOM', message: 'finally task "report" failed: no' } });
  });

  it('runs finally tasks as a DAG of their own after the compensations, reading run.failedTasks', () => {
    const s = scheduler(
      saga(1, {
        failurePolicy: 'continue',
        tasks: [node('s1', { compensate: undo('s1') }), node('bad')],
        finally: [node('first', { with: { failed: '${run.failedTasks}', status: '${run.status}' } }), node('second', { needs: ['first'] })],
      }),
    );
    s.begin();
    const [s1, bad] = starts(s.pass(AT)).map((c) => c.unit) as [Unit, Unit];
    s.attemptSucceeded(s1, { rows: [1] }, false, AT);
    s.attemptFailed(bad, fail, AT);
    let commands = s.pass(AT);
    expect(started(commands)).toEqual(['s1.compensate']);
    s.attemptSucceeded(starts(commands)[0]!.unit, null, false, AT);
    commands = s.pass(AT);
    expect(starts(commands).map((c) => [c.unit.state.id, c.input])).toEqual([['first', { failed: ['bad'], status: 'FAILED' }]]);
    s.attemptSucceeded(starts(commands)[0]!.unit, null, false, AT);
    expect(started(s.pass(AT))).toEqual(['second']);
  });

  it('after a cancel, the cancelled tasks settle, then compensations and finally run, and the run ends CANCELLED', () => {
    const s = scheduler(workflow([node('a', { compensate: undo('a') }), node('b', { needs: ['a'] }), node('c', { needs: ['b'] })], { finally: [node('report', { with: { status: '${run.status}' } })], finallyTimeoutMs: 1_000 }));
    s.begin();
    s.attemptSucceeded(only(s.pass(AT)), { rows: [1] }, false, AT);
    const b = only(s.pass(AT));
    expect(s.halt({ code: 'RUN_CANCELLED', message: 'the run was cancelled' })).toEqual([{ kind: 'cancelUnits' }]);
    s.attemptCancelled(b, AT);
    expect(s.idle).toBe(true);
    let commands = s.cancelled(AT);
    expect(status(s, 'c')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    expect(started(commands)).toEqual(['a.compensate']);
    // A second cancel while they run changes nothing.
    expect(s.halt({ code: 'RUN_CANCELLED', message: 'again' })).toEqual([]);
    s.attemptSucceeded(starts(commands)[0]!.unit, null, false, AT);
    commands = s.pass(AT);
    expect(starts(commands).map((c) => [c.unit.state.id, c.input])).toEqual([['report', { status: 'CANCELLED' }]]);
    s.attemptSucceeded(starts(commands)[0]!.unit, null, false, AT);
    s.pass(AT);
    expect(s.done).toBe(true);
    expect(s.finishCancelled(AT).at(-1)).toEqual({ kind: 'finishRun', status: 'CANCELLED' });
  });

  it('after the run timeout, compensates and runs finally; the run fails with RUN_TIMEOUT, and a timeout during finally is ignored', () => {
    const s = scheduler(workflow([node('a', { compensate: undo('a') }), node('b', { needs: ['a'], execution: 'timer' })], { finally: [node('report')], finallyTimeoutMs: 1_000 }));
    s.begin();
    s.attemptSucceeded(only(s.pass(AT)), { rows: [1] }, false, AT);
    const b = only(s.pass(AT));
    expect(s.halt({ code: 'RUN_TIMEOUT', message: 'late' })).toEqual([{ kind: 'cancelUnits' }]);
    s.attemptCancelled(b, AT);
    let commands = s.pass(AT);
    expect(status(s, 'b')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
    s.attemptSucceeded(only(commands), null, false, AT);
    commands = s.pass(AT);
    expect(started(commands)).toEqual(['report']);
    expect(s.halt({ code: 'RUN_TIMEOUT', message: 'later' })).toEqual([]);
    s.attemptSucceeded(starts(commands)[0]!.unit, null, false, AT);
    s.pass(AT);
    s.finish(AT);
    expect(s.run).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('cancels what runs and skips the rest when the grace period ends', () => {
    const s = scheduler(saga(3, { finally: [node('report')] }));
    s.begin();
    let commands = s.pass(AT);
    s.attemptSucceeded(only(commands), { rows: [1] }, false, AT);
    s.attemptSucceeded(only(s.pass(AT)), { rows: [2] }, false, AT);
    s.attemptFailed(only(s.pass(AT)), fail, AT);
    commands = s.pass(AT);
    const running = only(commands);
    expect(running.state.id).toBe('s2.compensate');
    expect(s.cleanupTimedOut()).toEqual([{ kind: 'cancelCleanup' }]);
    s.attemptCancelled(running, AT);
    expect(starts(s.pass(AT))).toEqual([]);
    expect(['s2.compensate', 's1.compensate', 'report'].map((id) => [status(s, id).status, status(s, id).error?.code])).toEqual([
      ['CANCELLED', 'FINALLY_TIMEOUT'],
      ['SKIPPED', 'FINALLY_TIMEOUT'],
      ['SKIPPED', 'FINALLY_TIMEOUT'],
    ]);
    expect(s.done).toBe(true);
  });

  it('keeps the completion order across continue-as-new', () => {
    const ir = saga(3);
    const first = scheduler(ir);
    first.begin();
    first.attemptSucceeded(only(first.pass(AT)), { rows: [1] }, false, AT);
    first.attemptSucceeded(only(first.pass(AT)), { rows: [2] }, false, AT);
    const next = new Scheduler(ir, { runId: 'run-1', digest: 'sha256:0', params: {}, startedAt: AT, random: () => 0.5, carried: first.run.tasks, compensable: first.compensable });
    next.begin();
    next.attemptFailed(only(next.pass(AT)), fail, AT);
    const commands = next.pass(AT);
    expect(started(commands)).toEqual(['s2.compensate']);
  });

  it('leaves a workflow without finally or compensations as it was: the task states are the tasks', () => {
    const ir = workflow([node('a')]);
    const s = scheduler(ir);
    expect(s.hasCleanup).toBe(false);
    expect(s.run.tasks.map((task) => task.id)).toEqual(['a']);
  });
});

describe('Scheduler, sagas by property', () => {
  /** A chain of steps, some with compensations, the first failure at a random step (or none), completed in any order. */
  const sagaScenario = fc.record({
    steps: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    failAt: fc.option(fc.nat(8), { nil: undefined }),
    parallel: fc.boolean(),
    draws: fc.infiniteStream(fc.integer({ min: 0, max: 0xffff }).map((n) => n / 0x10000)),
  });

  it('compensates exactly the succeeded steps that have a compensation, in reverse order of completion', () => {
    fc.assert(
      fc.property(sagaScenario, ({ steps, failAt, parallel, draws }) => {
        const tasks = steps.map((compensated, i) =>
          node(`s${i}`, { needs: parallel || i === 0 ? [] : [`s${i - 1}`], ...(compensated ? { compensate: node(`s${i}.compensate`) } : {}) }),
        );
        const s = new Scheduler(workflow(tasks, { failurePolicy: 'continue', finally: [node('report')], finallyTimeoutMs: 1_000 }), { runId: 'r', digest: 'd', params: {}, startedAt: AT, random: () => 0.5 });
        s.begin();
        const pending: Unit[] = [];
        const completed: string[] = [];
        const cleanupStarts: string[] = [];
        const apply = (commands: Command[]): void => {
          for (const start of starts(commands)) {
            if (s.phase !== 'tasks') {
              check(s.running.size === 1, 'two cleanup units at once');
              cleanupStarts.push(start.unit.state.id);
            }
            pending.push(start.unit);
          }
        };
        apply(s.pass(AT));
        for (let step = 0; pending.length > 0; step += 1) {
          check(step < 100, 'the run does not end');
          const [unit] = pending.splice(Math.floor((draws.next().value as number) * pending.length), 1) as [Unit];
          if (unit.node.id === `s${failAt}`) s.attemptFailed(unit, { code: 'BOOM', message: 'no', retryable: false }, AT);
          else {
            s.attemptSucceeded(unit, null, false, AT);
            if (s.phase === 'tasks') completed.push(unit.node.id);
          }
          apply(s.pass(AT));
        }
        expect(s.done).toBe(true);
        const failed = failAt !== undefined && failAt < steps.length;
        const expected = failed ? completed.filter((id) => steps[Number(id.slice(1))]).reverse().map((id) => `${id}.compensate`) : [];
        expect(cleanupStarts).toEqual([...expected, 'report']);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Scheduler, by property over random DAGs and outcomes', () => {
  const RUNS = { numRuns: 150 };

  it('every task and item ends in exactly one terminal status, and each unit starts at most once', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, startedUnits } = simulate(sc);
        for (const task of s.run.tasks) {
          expect(isTerminal(task.status), task.id).toBe(true);
          for (const item of task.items ?? []) expect(isTerminal(item.status), item.id).toBe(true);
        }
        expect(new Set(startedUnits).size).toBe(startedUnits.length);
      }),
      RUNS,
    );
  });

  it('a need that did not succeed (and may not fail) skips its dependants, which never start', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, ir, startedUnits } = simulate(sc);
        for (const task of ir.tasks.filter((t) => t.runIf === undefined)) {
          const blocked = task.needs.some((id) => {
            const need = s.states.get(id) as TaskState;
            return need.status !== 'SUCCEEDED' && !(need.status === 'FAILED' && ir.tasks.find((t) => t.id === id)?.continueOnError);
          });
          if (!blocked) continue;
          expect(['SKIPPED', 'CANCELLED']).toContain(s.states.get(task.id)?.status);
          expect(startedUnits.filter((id) => id === task.id || id.startsWith(`${task.id}[`))).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('a task whose when is false is skipped and never starts', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, ir, startedUnits } = simulate(sc);
        for (const task of ir.tasks.filter((t) => t.when === 'false')) {
          expect(['SKIPPED', 'CANCELLED']).toContain(s.states.get(task.id)?.status);
          expect(startedUnits).not.toContain(task.id);
        }
      }),
      RUNS,
    );
  });

  it('the outcome follows the failure policy: a counted failure or a timeout fails the run', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, ir, outcome } = simulate(sc);
        const counted = s.run.tasks.filter((task) => task.status === 'FAILED' && !ir.tasks.find((t) => t.id === task.id)?.continueOnError);
        if (outcome === 'CANCELLED') {
          expect(sc.interrupt?.kind).toBe('cancel');
          return;
        }
        const stopped = s.stop?.code === 'RUN_TIMEOUT' || s.stop?.code === 'CIRCUIT_OPEN';
        expect(outcome).toBe(counted.length > 0 || stopped ? 'FAILED' : 'SUCCEEDED');
        if (ir.circuitBreaker && counted.length >= ir.circuitBreaker.maxFailures && s.stop?.code !== 'RUN_TIMEOUT') {
          expect(['CIRCUIT_OPEN', 'FAIL_FAST']).toContain(s.stop?.code);
        }
        if (ir.failurePolicy === 'failFast' && counted.length > 0) expect(s.stop).toBeDefined();
      }),
      RUNS,
    );
  });

  it('a failure handler starts iff a need failed (or failFast cancelled it); an always handler iff its needs ended', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, ir, startedUnits } = simulate(sc);
        if (hardStop(s)) return;
        for (const task of ir.tasks.filter((t) => t.runIf !== undefined && (t.when === undefined || t.when === 'true'))) {
          const needs = task.needs.map((id) => s.states.get(id) as TaskState);
          check(needs.every((need) => isTerminal(need.status)), `${task.id}'s needs did not all end`);
          const failed = needs.some((need) => need.status === 'FAILED' || (need.status === 'CANCELLED' && ['FAIL_FAST', 'CIRCUIT_OPEN'].includes(need.error?.code ?? '')));
          const ran = startedUnits.includes(task.id) || (s.states.get(task.id)?.items !== undefined);
          expect(ran, `${task.id} (runIf ${task.runIf})`).toBe(task.runIf === 'always' || failed);
        }
      }),
      RUNS,
    );
  });

  it('nothing starts while paused, and a paused run still ends once resumed', () => {
    // The "started while paused" check runs at every step of the simulator; this asserts pauses happened.
    let paused = 0;
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, wasPaused } = simulate(sc);
        if (wasPaused) paused += 1;
        // A run whose last task ends while it is paused (or that is cancelled then) ends all the same.
        expect(['SUCCEEDED', 'FAILED', 'CANCELLED']).toContain(s.run.status);
      }),
      RUNS,
    );
    expect(paused).toBeGreaterThan(10);
  });

  it('a forEach task collects one output per item, in item order, when every item succeeded', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { s, ir } = simulate(sc);
        for (const task of ir.tasks.filter((t) => t.forEach)) {
          const state = s.states.get(task.id) as TaskState;
          if (state.status !== 'SUCCEEDED') continue;
          expect(state.outputs).toEqual((state.items ?? []).map((item) => item.id));
        }
      }),
      RUNS,
    );
  });
});
